"""Test data factories: catalogue entries and files, purchase orders, devices, upload helpers."""
import csv
import datetime as dt
import io
from decimal import Decimal

from insurer_dms.extensions import db
from insurer_dms.luhn import check_digit

# ---- catalogue ---------------------------------------------------------------------------------------

HEADERS_EN = [
    "tender_batch", "lot", "manufacturer", "model_code", "device_type", "adas", "dsm", "bsd", "video_channels",
    "jtt808", "jtt1078", "gd_active_safety", "bid_unit_price", "valid_from", "valid_to",
]
HEADERS_ZH = [
    "招标批次", "标包", "生产厂家", "设备型号", "设备类型", "ADAS", "DSM", "BSD", "视频通道数",
    "JT/T 808", "JT/T 1078", "广东主动安全", "中标单价(元)", "有效期起", "有效期止",
]


def entry_payload(**overrides):
    """A realistic catalogue entry as POSTed to /api/catalogue."""
    data = {
        "tender_batch": "GD-2021-01",
        "lot": "1",
        "manufacturer": "Streamax",
        "model_code": "C6D-AI",
        "device_type": "all_in_one",
        "adas": True,
        "dsm": True,
        "bsd": False,
        "video_channels": 4,
        "jtt808": True,
        "jtt1078": True,
        "gd_active_safety": True,
        "bid_unit_price": "2380.00",
        "valid_from": "2021-03-01",
        "valid_to": "2022-12-31",
    }
    data.update(overrides)
    return data


def catalogue_rows(count, batch="GD-2021-01"):
    """``count`` valid rows in HEADERS_EN order, each a distinct model."""
    rows = []
    for i in range(count):
        rows.append([
            batch, str(i % 5 + 1), f"Maker {i % 7}", f"M-{i:04d}", "split" if i % 3 else "all_in_one",
            "1", "yes", "N", str(2 + i % 6), "是", "✓", "true", f"{1800 + i}.50", "2021-03-01", "2022-12-31",
        ])
    return rows


def upload_catalogue(client, data, filename, url="/api/catalogue/import"):
    return upload(client, url, data, filename)




def make_entry(**overrides):
    """A catalogue entry stored directly with the model (valid 2021-03-01..2022-12-31, bid 2380.00)."""
    from insurer_dms.catalogue.models import CatalogueEntry

    values = {
        "tender_batch": "GD-2021-01",
        "lot": "1",
        "manufacturer": "Streamax",
        "model_code": f"C6D-AI-{db.session.query(CatalogueEntry).count() + 1}",
        "device_type": "all_in_one",
        "adas": True,
        "dsm": True,
        "bsd": False,
        "video_channels": 4,
        "jtt808": True,
        "jtt1078": True,
        "gd_active_safety": True,
        "bid_unit_price": Decimal("2380.00"),
        "valid_from": dt.date(2021, 3, 1),
        "valid_to": dt.date(2022, 12, 31),
    }
    values.update(overrides)
    entry = CatalogueEntry(**values)
    db.session.add(entry)
    db.session.commit()
    return entry


# ---- inventory ---------------------------------------------------------------------------------------


def imei(n):
    """A valid 15-digit IMEI, distinct for each ``n``."""
    body = f"86{n:012d}"
    return body + check_digit(body)


def bad_imei(n):
    """A 15-digit IMEI whose check digit is wrong."""
    good = imei(n)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def device_item(n, prefix="SN"):
    return {"serial": f"{prefix}{n:06d}", "terminal_id": f"T{n:07d}", "imei": imei(n)}


def po_payload(entry_ids, number="PO-2021-001", order_date="2021-04-01", quantity=10, unit_price="2200.00", **overrides):
    data = {
        "number": number,
        "supplier": "Guangzhou Safe-Drive Trading Co.",
        "order_date": order_date,
        "lines": [{"catalogue_entry_id": i, "quantity": quantity, "unit_price": unit_price} for i in entry_ids],
    }
    data.update(overrides)
    return data


def make_po(entries=None, quantity=10, number="PO-2021-001", order_date=dt.date(2021, 4, 1), unit_price=Decimal("2200.00")):
    """A purchase order created through the service (one line per entry)."""
    from insurer_dms.inventory import service

    entries = entries or [make_entry()]
    po = service.create_purchase_order(
        {
            "number": number,
            "supplier": "Guangzhou Safe-Drive Trading Co.",
            "order_date": order_date,
            "note": None,
            "lines": [{"catalogue_entry_id": e.id, "quantity": quantity, "unit_price": unit_price} for e in entries],
        }
    )
    return po


def make_devices(po, count, line_no=1, start=1, status=None):
    """Receive ``count`` devices on a line through the service; optionally force a starting state (test setup)."""
    from insurer_dms.inventory import service
    from insurer_dms.inventory.models import Device

    line = next(line for line in po.lines if line.line_no == line_no)
    result = service.receive_devices(po, line.id, [device_item(n) for n in range(start, start + count)])
    devices = [db.session.get(Device, i) for i in result["device_ids"]]
    if status:
        for d in devices:
            d.status = status
        db.session.commit()
    return devices


def receipt_csv(rows, headers=("line_no", "serial", "terminal_id", "imei")):
    return csv_bytes(headers, rows)


def receipt_xlsx(rows, headers=("line_no", "serial", "terminal_id", "imei")):
    return xlsx_bytes(headers, rows)


# ---- files -------------------------------------------------------------------------------------------


def csv_bytes(headers, rows):
    """UTF-8 CSV bytes with ``headers`` then ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(headers))
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(headers, rows):
    """XLSX bytes with ``headers`` then ``rows`` (cells keep their Python types)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, url, data, filename):
    """POST ``data`` as the multipart field ``file``."""
    return client.post(url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")
