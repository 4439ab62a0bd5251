"""Marshmallow schemas for purchase orders, receipts and devices: validation, output and OpenAPI."""
import re
from decimal import Decimal

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload

from .. import luhn
from ..paging import PageArgs
from .models import DEVICE_STATES

SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,59}$")
# JT/T 808-2019 terminal ID: up to 30 bytes of upper-case letters and digits, defined by the maker.
TERMINAL_ID_RE = re.compile(r"^[A-Z0-9]{1,30}$")
MAX_MONEY = Decimal("9999999999.99")


def _two_places(value):
    if value.as_tuple().exponent < -2:
        raise ma.ValidationError(_l("At most two decimal places (CNY fen)."))


def money_in(**kw):
    """A positive CNY amount as input: Decimal, at most two places."""
    return ma.fields.Decimal(
        as_string=True,
        validate=[ma.validate.Range(min=Decimal("0"), min_inclusive=False, max=MAX_MONEY), _two_places],
        **kw,
    )


def money_out(**kw):
    return ma.fields.Decimal(as_string=True, places=2, **kw)


class Stripped(ma.fields.String):
    """A string with surrounding blanks removed."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _check_serial(value):
    if not SERIAL_RE.match(value):
        raise ma.ValidationError(_l("A serial number is 1-60 letters or digits (also . _ / - inside)."))


def _check_terminal_id(value):
    if not TERMINAL_ID_RE.match(value):
        raise ma.ValidationError(_l("A JT/T 808 terminal ID is 1-30 upper-case letters or digits."))


def _check_imei(value):
    if not re.fullmatch(r"\d{15}", value):
        raise ma.ValidationError(_l("An IMEI is exactly 15 digits."))
    if not luhn.is_valid(value):
        raise ma.ValidationError(_l("The IMEI check digit (Luhn) is wrong."))


class UpperStripped(Stripped):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).upper()


# ---- purchase orders ---------------------------------------------------------------------------------


class PurchaseOrderLineInSchema(ma.Schema):
    catalogue_entry_id = ma.fields.Integer(required=True, strict=True)
    quantity = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=100000))
    unit_price = money_in(required=True, metadata={"description": "CNY per device; at most the bid unit price."})


class PurchaseOrderInSchema(ma.Schema):
    number = Stripped(required=True, validate=ma.validate.Length(min=1, max=50))
    supplier = Stripped(required=True, validate=ma.validate.Length(min=1, max=200))
    order_date = ma.fields.Date(required=True)
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    lines = ma.fields.List(
        ma.fields.Nested(PurchaseOrderLineInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "Numbered 1, 2, 3... in the order given."},
    )


class PurchaseOrderLineSchema(ma.Schema):
    id = ma.fields.Integer()
    line_no = ma.fields.Integer()
    catalogue_entry_id = ma.fields.Integer()
    catalogue_entry = ma.fields.Function(lambda line: line.catalogue_entry.label)
    quantity = ma.fields.Integer()
    unit_price = money_out()
    received = ma.fields.Integer(metadata={"description": "Devices received against this line so far."})


class PurchaseOrderSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    supplier = ma.fields.String()
    order_date = ma.fields.Date()
    note = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    created_by_id = ma.fields.Integer(allow_none=True)
    quantity = ma.fields.Function(lambda po: sum(line.quantity for line in po.lines))
    received = ma.fields.Function(lambda po: sum(line.received for line in po.lines))


class PurchaseOrderDetailSchema(PurchaseOrderSchema):
    lines = ma.fields.List(ma.fields.Nested(PurchaseOrderLineSchema))


class PurchaseOrderArgs(PageArgs):
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the number or supplier."})
    supplier = ma.fields.String(load_default=None, metadata={"description": "Part of the supplier name."})
    date_from = ma.fields.Date(load_default=None)
    date_to = ma.fields.Date(load_default=None)


# ---- receiving ---------------------------------------------------------------------------------------


class DeviceInSchema(ma.Schema):
    @ma.pre_load
    def _blank_imei_is_none(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("imei"), str) and not data["imei"].strip():
            data = {**data, "imei": None}
        return data

    serial = Stripped(required=True, validate=_check_serial)
    terminal_id = UpperStripped(required=True, validate=_check_terminal_id)
    imei = Stripped(load_default=None, allow_none=True, validate=_check_imei)


class ReceiptSchema(ma.Schema):
    line_id = ma.fields.Integer(required=True, strict=True, metadata={"description": "The purchase order line's id."})
    received_on = ma.fields.Date(load_default=None, metadata={"description": "Defaults to today (Asia/Shanghai)."})
    devices = ma.fields.List(ma.fields.Nested(DeviceInSchema), required=True, validate=ma.validate.Length(min=1, max=5000))


class DeviceRowSchema(DeviceInSchema):
    """One row of a receipt file."""

    line_no = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class RawDeviceRowSchema(ma.Schema):
    """A receipt file row as text, before DeviceRowSchema checks it."""

    line_no = ma.fields.String()
    serial = ma.fields.String()
    terminal_id = ma.fields.String()
    imei = ma.fields.String()


# Header names accepted in receipt files (English and Chinese).
DEVICE_ROW_ALIASES = {
    "line_no": ["line", "行号", "订单行号"],
    "serial": ["serial_no", "serial_number", "序列号", "设备序列号"],
    "terminal_id": ["terminal", "终端ID", "终端编号", "终端id"],
    "imei": ["IMEI号"],
}


class ReceiptFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV or XLSX with columns line_no, serial, terminal_id, imei."})


class ReceiptResultSchema(ma.Schema):
    received = ma.fields.Integer()
    by_line = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"description": "line_no -> devices received now."})
    device_ids = ma.fields.List(ma.fields.Integer())


# ---- devices -----------------------------------------------------------------------------------------


class DeviceEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    actor = ma.fields.String()
    note = ma.fields.String(allow_none=True)


class DeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    serial = ma.fields.String()
    terminal_id = ma.fields.String()
    imei = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    catalogue_entry_id = ma.fields.Integer()
    catalogue_entry = ma.fields.Function(lambda d: d.catalogue_entry.label)
    po_line_id = ma.fields.Integer()
    purchase_order_id = ma.fields.Function(lambda d: d.po_line.purchase_order_id)
    purchase_order_number = ma.fields.Function(lambda d: d.po_line.purchase_order.number)
    line_no = ma.fields.Function(lambda d: d.po_line.line_no)
    received_on = ma.fields.Date()
    created_at = ma.fields.DateTime()


class DeviceDetailSchema(DeviceSchema):
    events = ma.fields.List(ma.fields.Nested(DeviceEventSchema))
    manual_targets = ma.fields.Function(
        lambda d: manual_targets_of(d.status), metadata={"description": "States an operator may move it to by hand."}
    )


def manual_targets_of(status):
    from .service import manual_targets

    return manual_targets(status)


class DeviceArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(DEVICE_STATES))
    catalogue_entry_id = ma.fields.Integer(load_default=None)
    purchase_order_id = ma.fields.Integer(load_default=None)
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the serial, terminal ID or IMEI."})


class TransitionSchema(ma.Schema):
    to = ma.fields.String(required=True, validate=ma.validate.OneOf(DEVICE_STATES))
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
