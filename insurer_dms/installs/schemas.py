"""Marshmallow schemas for work orders and contractor companies: validation, output and OpenAPI."""
from decimal import Decimal
from zoneinfo import ZoneInfo

import marshmallow as ma

from .. import fields
from ..fleet.identifiers import CountyCodeField
from ..paging import PageArgs
from ..sims.models import CARRIERS
from ..inventory.schemas import Stripped
from .models import ORDER_KINDS, ORDER_STATES, PHOTO_KINDS, REMOVAL_REASONS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _aware(**kw):
    """A timestamp; one without a zone is taken as Asia/Shanghai local time."""
    return fields.DateTime(default_timezone=LOCAL_TZ, **kw)


class OrderTruckSchema(ma.Schema):
    id = fields.Id()
    plate = fields.String()
    plate_colour = fields.Integer()
    vin = fields.String()
    county_code = fields.String()


class OrderCompanySchema(ma.Schema):
    id = fields.Id()
    name = fields.String()


class OrderDeviceSchema(ma.Schema):
    id = fields.Id()
    serial = fields.String()
    terminal_id = fields.String()
    status = fields.String()


class OrderSimSchema(ma.Schema):
    id = fields.Id()
    iccid = fields.String()
    msisdn = fields.String()
    carrier = fields.String()
    status = fields.String()


class OrderPhotoSchema(ma.Schema):
    kind = fields.String(metadata={"description": ", ".join(PHOTO_KINDS)})
    captured_at = fields.DateTime(allow_none=True)
    other_day = fields.Boolean()


class WorkOrderSchema(ma.Schema):
    id = fields.Id()
    number = fields.String()
    kind = fields.String(metadata={"description": ", ".join(ORDER_KINDS)})
    state = fields.String(metadata={"description": ", ".join(ORDER_STATES)})
    reason = fields.String(allow_none=True)
    truck = fields.Nested(OrderTruckSchema)
    company = fields.Nested(OrderCompanySchema, allow_none=True)
    appointment_at = fields.DateTime(allow_none=True)
    address = fields.String(allow_none=True)
    installed_at = fields.DateTime(allow_none=True)
    connected_at = fields.DateTime(allow_none=True)
    needs_review = fields.Boolean()
    created_at = fields.DateTime()


class WorkOrderDetailSchema(WorkOrderSchema):
    device = fields.Nested(OrderDeviceSchema, allow_none=True)
    old_device = fields.Nested(OrderDeviceSchema, allow_none=True)
    sim = fields.Nested(OrderSimSchema, allow_none=True)
    photos = fields.List(fields.Nested(OrderPhotoSchema))
    review_note = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class WorkOrderArgs(PageArgs):
    state = fields.String(load_default=None, validate=ma.validate.OneOf(ORDER_STATES))
    kind = fields.String(load_default=None, validate=ma.validate.OneOf(ORDER_KINDS))
    county_code = fields.String(load_default=None)
    company_id = fields.Id(load_default=None)
    q = fields.String(load_default=None, metadata={"description": "Part of the order number or plate."})
    date_from = fields.Date(load_default=None, metadata={"description": "Appointment (or creation) on or after this day."})
    date_to = fields.Date(load_default=None, metadata={"description": "Appointment (or creation) on or before this day."})


class WorkOrderCreateSchema(ma.Schema):
    truck_id = fields.Id(required=True)
    kind = fields.String(load_default="install", validate=ma.validate.OneOf(ORDER_KINDS))
    reason = fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(REMOVAL_REASONS),
                              metadata={"description": "Removal and swap orders: why the device comes off."})
    note = fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    on = fields.Date(load_default=None, metadata={"description": "Eligibility day (default: today, Asia/Shanghai)."})


class BulkCreateSchema(ma.Schema):
    county_code = CountyCodeField(required=True)
    on = fields.Date(load_default=None, metadata={"description": "Eligibility day (default: today, Asia/Shanghai)."})


class RefusalSchema(ma.Schema):
    truck_id = fields.Id()
    plate = fields.String()
    reasons = fields.List(fields.String(), metadata={"description": "not_heavy, no_policy_in_force, device_installed, order_open"})


class BulkResultSchema(ma.Schema):
    created = fields.List(fields.Integer(), metadata={"description": "Ids of the new orders."})
    refused = fields.List(fields.Nested(RefusalSchema))


class AssignSchema(ma.Schema):
    company_id = fields.Id(required=True)


class ScheduleSchema(ma.Schema):
    appointment_at = _aware(required=True)
    address = fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=500))


class CancelSchema(ma.Schema):
    reason = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class ReworkSchema(ma.Schema):
    note = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class CloseSchema(ma.Schema):
    device_serial = Stripped(required=True, validate=ma.validate.Length(min=1, max=60))
    iccid = Stripped(required=True, metadata={"description": "19-20 digits starting 8986, Luhn check digit last."})
    msisdn = Stripped(required=True, metadata={"description": "The terminal phone number, 11-13 digits."})
    carrier = fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(CARRIERS),
                               metadata={"description": "Optional; must agree with the ICCID's issuer."})
    installed_at = _aware(required=True, metadata={"description": "When the device was mounted (no zone: Asia/Shanghai)."})


class CloseRemovalSchema(ma.Schema):
    disposition = fields.String(required=True, validate=ma.validate.OneOf(("in_stock", "retired")),
                                   metadata={"description": "Where the removed device goes."})
    removed_at = _aware(load_default=None, metadata={"description": "Default: now."})


class CompanySchema(ma.Schema):
    id = fields.Id()
    name = fields.String()
    installation_fee = fields.Money(minimum=0, allow_none=True,
                                         metadata={"description": "CNY per installation; empty: the default setting."})
    effective_fee = fields.Method("_effective_fee")
    created_at = fields.DateTime()

    def _effective_fee(self, company):
        from .service import installation_fee

        return f"{installation_fee(company):.2f}"


class CompanyPatchSchema(ma.Schema):
    installation_fee = fields.Money(
        minimum=0, maximum=Decimal("999999.99"), required=True, allow_none=True,
        metadata={"description": "CNY per installation; null to use the default setting."},
    )
