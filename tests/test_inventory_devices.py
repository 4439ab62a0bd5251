"""The device state machine: only legal moves, installed only through work orders, full history visible."""
import pytest

from insurer_dms.activity import history
from insurer_dms.errors import Conflict
from insurer_dms.extensions import db
from insurer_dms.inventory import service
from insurer_dms.inventory.models import Device
from tests.factories import make_devices, make_entry, make_po

MANUAL_MOVES = [
    (frm, to) for frm, targets in service.TRANSITIONS.items() for to in targets if "installed" not in (frm, to)
]
WORK_ORDER_MOVES = [(frm, to) for frm, targets in service.TRANSITIONS.items() for to in targets if "installed" in (frm, to)]
ILLEGAL_MOVES = [
    ("in_stock", "in_repair"),
    ("in_stock", "in_stock"),
    ("reserved", "retired"),
    ("reserved", "in_repair"),
    ("faulty", "in_stock"),
    ("faulty", "installed"),
    ("in_repair", "reserved"),
    ("installed", "reserved"),
    ("retired", "in_stock"),
    ("retired", "faulty"),
]


def device_in(status):
    """A received device, put straight into ``status`` as test setup."""
    po = make_po(quantity=5)
    return make_devices(po, 1, status=status)[0]


def transition(client, device, to, note=None):
    return client.post(f"/api/devices/{device.id}/transition", json={"to": to, "note": note})


def test_the_states_and_moves_are_the_documented_ones():
    assert {frm: set(to) for frm, to in service.TRANSITIONS.items()} == {
        "in_stock": {"reserved", "installed", "faulty", "retired"},
        "reserved": {"in_stock", "installed", "faulty"},
        "installed": {"in_stock", "faulty", "retired"},
        "faulty": {"in_repair", "retired"},
        "in_repair": {"in_stock", "retired", "faulty"},
        "retired": set(),
    }


@pytest.mark.parametrize("frm,to", MANUAL_MOVES)
def test_every_legal_manual_move_is_made_recorded_and_shown(ops, ctx, frm, to):
    device = device_in(frm)
    resp = transition(ops, device, to, note="checked at the depot")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == to
    last = resp.json["events"][-1]
    assert (last["from_status"], last["to_status"], last["actor"], last["note"]) == (frm, to, "ops@example.com", "checked at the depot")
    entries = history("device", device.id)
    assert entries[-1].action == f"state:{frm}->{to}"
    assert (entries[-1].before, entries[-1].after) == ({"status": frm}, {"status": to})


@pytest.mark.parametrize("frm,to", ILLEGAL_MOVES)
def test_illegal_moves_are_refused_naming_from_and_to(ops, ctx, frm, to):
    device = device_in(frm)
    resp = transition(ops, device, to)
    assert resp.status_code == 409
    assert frm in resp.json["message"] and to in resp.json["message"]
    assert "to" in resp.json["errors"]
    db.session.expire_all()
    assert db.session.get(Device, device.id).status == frm
    assert [a.action for a in history("device", device.id)] == ["receive"]


@pytest.mark.parametrize("frm,to", WORK_ORDER_MOVES)
def test_moves_into_or_out_of_installed_are_refused_by_hand(ops, ctx, frm, to):
    device = device_in(frm)
    resp = transition(ops, device, to)
    assert resp.status_code == 409
    assert "installation work order" in resp.json["message"]
    db.session.expire_all()
    assert db.session.get(Device, device.id).status == frm


@pytest.mark.parametrize("frm,to", WORK_ORDER_MOVES)
def test_work_orders_may_move_devices_into_and_out_of_installed(ctx, frm, to):
    device = device_in(frm)
    service.move_device(device, to, note="work order WO-1", via_work_order=True)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Device, device.id).status == to
    assert history("device", device.id)[-1].action == f"state:{frm}->{to}"


def test_move_device_refuses_illegal_moves_even_for_work_orders(ctx):
    device = device_in("retired")
    with pytest.raises(Conflict, match="from retired to installed"):
        service.move_device(device, "installed", via_work_order=True)


def test_manual_targets_never_include_installed():
    assert service.manual_targets("in_stock") == ["reserved", "faulty", "retired"]
    assert service.manual_targets("installed") == []
    assert service.manual_targets("retired") == []


def test_unknown_state_is_a_field_error_and_unknown_device_404(ops, ctx):
    device = device_in("in_stock")
    resp = transition(ops, device, "lost")
    assert resp.status_code == 422 and "to" in resp.json["errors"]
    assert ops.post("/api/devices/999999/transition", json={"to": "faulty"}).status_code == 404
    assert ops.get("/api/devices/999999").status_code == 404


def test_a_devices_whole_history_is_visible(ops, ctx):
    device = device_in(None)
    for to in ("reserved", "in_stock", "faulty", "in_repair", "in_stock", "retired"):
        assert transition(ops, device, to).status_code == 200
    body = ops.get(f"/api/devices/{device.id}").json
    assert [(e["from_status"], e["to_status"]) for e in body["events"]] == [
        (None, "in_stock"), ("in_stock", "reserved"), ("reserved", "in_stock"), ("in_stock", "faulty"),
        ("faulty", "in_repair"), ("in_repair", "in_stock"), ("in_stock", "retired"),
    ]
    assert body["manual_targets"] == []
    assert [a.action for a in history("device", device.id)][1:] == [
        "state:in_stock->reserved", "state:reserved->in_stock", "state:in_stock->faulty",
        "state:faulty->in_repair", "state:in_repair->in_stock", "state:in_stock->retired",
    ]


def test_device_list_filters(ops, ctx):
    a, b = make_entry(), make_entry(manufacturer="Howen")
    po = make_po([a, b], quantity=10)
    other = make_po([a], quantity=10, number="PO-2")
    make_devices(po, 3, line_no=1, start=1)
    make_devices(po, 2, line_no=2, start=4, status="faulty")
    make_devices(other, 1, start=6)

    def serials(query):
        resp = ops.get("/api/devices" + query)
        assert resp.status_code == 200, resp.json
        return sorted(d["serial"] for d in resp.json["items"])

    assert len(serials("")) == 6
    assert serials("?status=faulty") == ["SN000004", "SN000005"]
    assert serials(f"?catalogue_entry_id={b.id}") == ["SN000004", "SN000005"]
    assert serials(f"?purchase_order_id={other.id}") == ["SN000006"]
    assert serials("?q=sn000002") == ["SN000002"]
    assert serials("?q=T0000003") == ["SN000003"]
    assert serials("?q=" + db.session.get(Device, 1).imei) == ["SN000001"]
    assert ops.get("/api/devices?status=lost").status_code == 422
    page = ops.get("/api/devices?page_size=4&page=2").json
    assert (page["total"], page["pages"], len(page["items"])) == (6, 2, 2)
