"""The truck page: everything about one truck on one page, with the same handful of queries however long its story."""
import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import event

from insurer_dms.extensions import db
from insurer_dms.installs import service as installs
from insurer_dms.maintenance import service as maintenance
from tests import install_factories as inst
from tests import ledger_factories as lf

D = Decimal


def swapped_truck():
    """A truck whose first device (bought at 2,200.00) was swapped for a second (2,350.00), with a ticket and costs."""
    inst.company("Alpha Installations", fee="280.00")
    first, second = lf.bought([(1, "2200.00"), (1, "2350.00")])
    truck = inst.insured_truck(county="445103")
    lf.installed(first, truck, "Alpha Installations", iccid=inst.iccid(5101), msisdn=inst.msisdn(5101))
    ticket, _ = maintenance.create_ticket(None, {"truck_id": truck.id, "category": "camera_fault",
                                                 "company_id": inst.company("Alpha Installations").id})
    db.session.commit()
    maintenance.add_cost(ticket.id, "parts", "80.50", "DSM camera")
    swap = inst.scheduled_order("Alpha Installations", truck, kind="swap", reason="device_faulty")
    later = inst.INSTALLED_AT + dt.timedelta(days=3)
    inst.with_photos(swap, taken_at=later)
    installs.close_order(None, swap.id, inst.close_data(second, installed_at=later, iccid=inst.iccid(5102),
                                                        msisdn=inst.msisdn(5102)))
    return truck, first, second


def queries_for(client, url):
    client.get(url)  # a token's last use is written at most once a minute: not part of the page
    seen = []
    record = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(seen)


def test_the_truck_page_tells_the_whole_story(app, ops):
    with app.app_context():
        truck, first, second = swapped_truck()
        truck_id, plate, operator = truck.id, truck.plate, truck.operator.name
        serials = (first.serial, second.serial)
    html = ops.get(f"/trucks/{truck_id}").get_data(as_text=True)
    assert operator in html and "PDAA" in html  # operator and policy
    rows = re.findall(r'<tr data-installation="\d+"( class="current")?>\s*<td><a [^>]*>([^<]+)</a>', html)
    assert rows == [(' class="current"', serials[1]), ("", serials[0])]  # newest first
    assert inst.iccid(5101) in html and inst.iccid(5102) in html  # each device's SIM
    assert html.count("data-order=") == 2 and html.count("data-ticket=") == 1
    # 2,200.00 and 2,350.00 moved onto the truck at installation, two fees of 280.00, parts 80.50
    assert "Total booked on this truck: 5,190.50 CNY" in html
    assert 'id="truck-ledger-link">5 ledger entries</a>' in html
    assert html.count("data-entry=") == 5
    assert 'id="history"' in html and plate in html


def test_a_long_story_takes_no_more_queries_than_a_short_one(app, ops):
    with app.app_context():
        short = inst.installed_order().truck_id
        long, _first, _second = swapped_truck()
        long_id = long.id
    assert queries_for(ops, f"/trucks/{short}") == queries_for(ops, f"/trucks/{long_id}")


def test_only_ops_see_a_truck_page(app, contractor, reviewer):
    with app.app_context():
        truck_id = inst.insured_truck().id
    for client in (contractor, reviewer):
        assert client.get(f"/trucks/{truck_id}").status_code == 403
