"""Ledger test data: devices bought and received on a given day, installs closed through the real close, statements.

Every helper needs an app context (the ``ctx`` fixture) and commits what it creates.
"""
import datetime as dt
import itertools
from decimal import Decimal

from insurer_dms.extensions import db
from tests import install_factories as inst
from tests.factories import device_item

_SEQ = itertools.count(1)


def bought(quantities_prices, received_on=dt.date(2024, 5, 2), number=None):
    """A purchase order with one line per (quantity, unit price), every device received on ``received_on``.

    Returns the received devices, line by line.
    """
    from insurer_dms.inventory import service

    entry = inst.catalogue_entry()
    po = service.create_purchase_order({
        "number": number or f"PO-L-{next(_SEQ):05d}", "supplier": "Guangzhou Safe-Drive Trading Co.",
        "order_date": dt.date(2024, 4, 20), "note": None,
        "lines": [{"catalogue_entry_id": entry.id, "quantity": q, "unit_price": Decimal(p)} for q, p in quantities_prices],
    })
    from insurer_dms.inventory.models import Device

    devices = []
    for line, (quantity, _price) in zip(po.lines, quantities_prices):
        items = [device_item(900_000 + next(_SEQ) * 10) for _ in range(quantity)]
        result = service.receive_devices(po, line.id, items, received_on=received_on)
        devices += [db.session.get(Device, i) for i in result["device_ids"]]
    return devices


def installed(device, truck, company_name, installed_at=inst.INSTALLED_AT, **sim):
    """Close an install order of ``company_name`` on ``truck`` with ``device`` (the real close transaction)."""
    return inst.installed_order(company_name, truck=truck, device=device, installed_at=installed_at, **sim)
