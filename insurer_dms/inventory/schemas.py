"""Marshmallow schemas for purchase orders, receipts and devices: validation, output and OpenAPI."""
import re

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload

from .. import fields
from .. import luhn
from ..paging import PageArgs
from .models import DEVICE_STATES

SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,59}$")
# JT/T 808-2019 terminal ID: up to 30 bytes of upper-case letters and digits, defined by the maker.
TERMINAL_ID_RE = re.compile(r"^[A-Z0-9]{1,30}$")




class Stripped(fields.String):
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
    catalogue_entry_id = fields.Id(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1, max=100000))
    unit_price = fields.Money(required=True, metadata={"description": "CNY per device; at most the bid unit price."})


class PurchaseOrderInSchema(ma.Schema):
    number = Stripped(required=True, validate=ma.validate.Length(min=1, max=50))
    supplier = Stripped(required=True, validate=ma.validate.Length(min=1, max=200))
    order_date = fields.Date(required=True)
    note = fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    lines = fields.List(
        fields.Nested(PurchaseOrderLineInSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "Numbered 1, 2, 3... in the order given."},
    )


class PurchaseOrderLineSchema(ma.Schema):
    id = fields.Id()
    line_no = fields.Integer()
    catalogue_entry_id = fields.Id()
    catalogue_entry = fields.Function(lambda line: line.catalogue_entry.label)
    quantity = fields.Integer()
    unit_price = fields.Money()
    received = fields.Integer(metadata={"description": "Devices received against this line so far."})


class PurchaseOrderSchema(ma.Schema):
    id = fields.Id()
    number = fields.String()
    supplier = fields.String()
    order_date = fields.Date()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by_id = fields.Id(allow_none=True)
    quantity = fields.Function(lambda po: sum(line.quantity for line in po.lines))
    received = fields.Function(lambda po: sum(line.received for line in po.lines))


class PurchaseOrderDetailSchema(PurchaseOrderSchema):
    lines = fields.List(fields.Nested(PurchaseOrderLineSchema))


class PurchaseOrderArgs(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "Part of the number or supplier."})
    supplier = fields.String(load_default=None, metadata={"description": "Part of the supplier name."})
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)


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
    line_id = fields.Id(required=True, strict=True, metadata={"description": "The purchase order line's id."})
    received_on = fields.Date(load_default=None, metadata={"description": "Defaults to today (Asia/Shanghai)."})
    devices = fields.List(fields.Nested(DeviceInSchema), required=True, validate=ma.validate.Length(min=1, max=5000))


class DeviceRowSchema(DeviceInSchema):
    """One row of a receipt file."""

    line_no = fields.Integer(required=True, validate=ma.validate.Range(min=1))


class RawDeviceRowSchema(ma.Schema):
    """A receipt file row as text, before DeviceRowSchema checks it."""

    line_no = fields.String()
    serial = fields.String()
    terminal_id = fields.String()
    imei = fields.String()


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
    received = fields.Integer()
    by_line = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "line_no -> devices received now."})
    device_ids = fields.List(fields.Integer())


# ---- devices -----------------------------------------------------------------------------------------


class DeviceEventSchema(ma.Schema):
    id = fields.Id()
    at = fields.DateTime()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String()
    note = fields.String(allow_none=True)


class DeviceSchema(ma.Schema):
    id = fields.Id()
    serial = fields.String()
    terminal_id = fields.String()
    imei = fields.String(allow_none=True)
    status = fields.String()
    catalogue_entry_id = fields.Id()
    catalogue_entry = fields.Function(lambda d: d.catalogue_entry.label)
    po_line_id = fields.Id()
    purchase_order_id = fields.Function(lambda d: d.po_line.purchase_order_id)
    purchase_order_number = fields.Function(lambda d: d.po_line.purchase_order.number)
    line_no = fields.Function(lambda d: d.po_line.line_no)
    received_on = fields.Date()
    created_at = fields.DateTime()


class DeviceDetailSchema(DeviceSchema):
    events = fields.List(fields.Nested(DeviceEventSchema))
    manual_targets = fields.Function(
        lambda d: manual_targets_of(d.status), metadata={"description": "States an operator may move it to by hand."}
    )


def manual_targets_of(status):
    from .service import manual_targets

    return manual_targets(status)


class DeviceArgs(PageArgs):
    status = fields.String(load_default=None, validate=ma.validate.OneOf(DEVICE_STATES))
    catalogue_entry_id = fields.Id(load_default=None)
    purchase_order_id = fields.Id(load_default=None)
    q = fields.String(load_default=None, metadata={"description": "Part of the serial, terminal ID or IMEI."})


class TransitionSchema(ma.Schema):
    to = fields.String(required=True, validate=ma.validate.OneOf(DEVICE_STATES))
    note = fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
