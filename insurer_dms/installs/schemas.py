"""Marshmallow schemas for work orders and contractor companies: validation, output and OpenAPI."""
from decimal import Decimal
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..fleet.identifiers import CountyCodeField
from ..paging import PageArgs
from ..sims.models import CARRIERS
from ..inventory.schemas import Stripped
from .models import ORDER_KINDS, ORDER_STATES, PHOTO_KINDS, REMOVAL_REASONS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _aware(**kw):
    """A timestamp; one without a zone is taken as Asia/Shanghai local time."""
    return ma.fields.AwareDateTime(default_timezone=LOCAL_TZ, **kw)


class OrderTruckSchema(ma.Schema):
    id = ma.fields.Integer()
    plate = ma.fields.String()
    plate_colour = ma.fields.Integer()
    vin = ma.fields.String()
    county_code = ma.fields.String()


class OrderCompanySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class OrderDeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    serial = ma.fields.String()
    terminal_id = ma.fields.String()
    status = ma.fields.String()


class OrderSimSchema(ma.Schema):
    id = ma.fields.Integer()
    iccid = ma.fields.String()
    msisdn = ma.fields.String()
    carrier = ma.fields.String()
    status = ma.fields.String()


class OrderPhotoSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": ", ".join(PHOTO_KINDS)})
    captured_at = ma.fields.DateTime(allow_none=True)
    other_day = ma.fields.Boolean()


class WorkOrderSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    kind = ma.fields.String(metadata={"description": ", ".join(ORDER_KINDS)})
    state = ma.fields.String(metadata={"description": ", ".join(ORDER_STATES)})
    reason = ma.fields.String(allow_none=True)
    truck = ma.fields.Nested(OrderTruckSchema)
    company = ma.fields.Nested(OrderCompanySchema, allow_none=True)
    appointment_at = ma.fields.DateTime(allow_none=True)
    address = ma.fields.String(allow_none=True)
    installed_at = ma.fields.DateTime(allow_none=True)
    connected_at = ma.fields.DateTime(allow_none=True)
    needs_review = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class WorkOrderDetailSchema(WorkOrderSchema):
    device = ma.fields.Nested(OrderDeviceSchema, allow_none=True)
    old_device = ma.fields.Nested(OrderDeviceSchema, allow_none=True)
    sim = ma.fields.Nested(OrderSimSchema, allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(OrderPhotoSchema))
    review_note = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)


class WorkOrderArgs(PageArgs):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(ORDER_STATES))
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(ORDER_KINDS))
    county_code = ma.fields.String(load_default=None)
    company_id = ma.fields.Integer(load_default=None)
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the order number or plate."})
    date_from = ma.fields.Date(load_default=None, metadata={"description": "Appointment (or creation) on or after this day."})
    date_to = ma.fields.Date(load_default=None, metadata={"description": "Appointment (or creation) on or before this day."})


class WorkOrderCreateSchema(ma.Schema):
    truck_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(load_default="install", validate=ma.validate.OneOf(ORDER_KINDS))
    reason = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(REMOVAL_REASONS),
                              metadata={"description": "Removal and swap orders: why the device comes off."})
    note = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    on = ma.fields.Date(load_default=None, metadata={"description": "Eligibility day (default: today, Asia/Shanghai)."})


class BulkCreateSchema(ma.Schema):
    county_code = CountyCodeField(required=True)
    on = ma.fields.Date(load_default=None, metadata={"description": "Eligibility day (default: today, Asia/Shanghai)."})


class RefusalSchema(ma.Schema):
    truck_id = ma.fields.Integer()
    plate = ma.fields.String()
    reasons = ma.fields.List(ma.fields.String(), metadata={"description": "not_heavy, no_policy_in_force, device_installed, order_open"})


class BulkResultSchema(ma.Schema):
    created = ma.fields.List(ma.fields.Integer(), metadata={"description": "Ids of the new orders."})
    refused = ma.fields.List(ma.fields.Nested(RefusalSchema))


class AssignSchema(ma.Schema):
    company_id = ma.fields.Integer(required=True)


class ScheduleSchema(ma.Schema):
    appointment_at = _aware(required=True)
    address = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class CancelSchema(ma.Schema):
    reason = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class ReworkSchema(ma.Schema):
    note = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class CloseSchema(ma.Schema):
    device_serial = Stripped(required=True, validate=ma.validate.Length(min=1, max=60))
    iccid = Stripped(required=True, metadata={"description": "19-20 digits starting 8986, Luhn check digit last."})
    msisdn = Stripped(required=True, metadata={"description": "The terminal phone number, 11-13 digits."})
    carrier = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(CARRIERS),
                               metadata={"description": "Optional; must agree with the ICCID's issuer."})
    installed_at = _aware(required=True, metadata={"description": "When the device was mounted (no zone: Asia/Shanghai)."})


class CloseRemovalSchema(ma.Schema):
    disposition = ma.fields.String(required=True, validate=ma.validate.OneOf(("in_stock", "retired")),
                                   metadata={"description": "Where the removed device goes."})
    removed_at = _aware(load_default=None, metadata={"description": "Default: now."})


class CompanySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    installation_fee = ma.fields.Decimal(as_string=True, places=2, allow_none=True,
                                         metadata={"description": "CNY per installation; empty: the default setting."})
    effective_fee = ma.fields.Method("_effective_fee")
    created_at = ma.fields.DateTime()

    def _effective_fee(self, company):
        from .service import installation_fee

        return f"{installation_fee(company):.2f}"


def _two_places(value):
    if value is not None and value.as_tuple().exponent < -2:
        raise ma.ValidationError(_l("At most two decimal places (CNY fen)."))


class CompanyPatchSchema(ma.Schema):
    installation_fee = ma.fields.Decimal(
        as_string=True, required=True, allow_none=True,
        validate=[ma.validate.Range(min=Decimal("0"), max=Decimal("999999.99")), _two_places],
        metadata={"description": "CNY per installation; null to use the default setting."},
    )
