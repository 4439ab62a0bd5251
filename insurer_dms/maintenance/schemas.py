"""Marshmallow schemas for maintenance tickets: validation, output and OpenAPI."""
import marshmallow as ma
from flask import url_for

from .. import fields
from ..inventory.schemas import Stripped
from ..paging import PageArgs
from ..sims.models import CARRIERS
from .models import CATEGORIES, COST_CATEGORIES, EVENT_KINDS, PRIORITIES, RESOLUTIONS, SLA_STATES, SOURCES, STATES
from .service import MANUAL_RESOLUTIONS


def _one_of(values):
    return ", ".join(values)


class TicketTruckSchema(ma.Schema):
    id = fields.Id()
    plate = fields.String()
    county_code = fields.String()


class TicketCompanySchema(ma.Schema):
    id = fields.Id()
    name = fields.String()


class TicketDeviceSchema(ma.Schema):
    id = fields.Id()
    serial = fields.String()
    terminal_id = fields.String()
    status = fields.String()


class TicketSchema(ma.Schema):
    id = fields.Id()
    number = fields.String(metadata={"description": "TK-YYYYMMDD-<id>"})
    truck = fields.Nested(TicketTruckSchema)
    device = fields.Nested(TicketDeviceSchema, allow_none=True,
                              metadata={"description": "The device on the truck when the ticket was opened."})
    category = fields.String(metadata={"description": _one_of(CATEGORIES)})
    source = fields.String(metadata={"description": _one_of(SOURCES)})
    priority = fields.String(metadata={"description": _one_of(PRIORITIES)})
    state = fields.String(metadata={"description": _one_of(STATES)})
    company = fields.Nested(TicketCompanySchema, allow_none=True)
    description = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    sla_due_at = fields.DateTime(metadata={"description": "opened_at + the priority's SLA hours."})
    sla_state = fields.String(metadata={"description": _one_of(SLA_STATES)})
    work_started_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True, metadata={"description": _one_of(RESOLUTIONS)})
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    reopen_count = fields.Integer()
    signal_count = fields.Integer(metadata={"description": "Signals and reports folded into this ticket."})
    last_signal_at = fields.DateTime(allow_none=True)


class TicketEventSchema(ma.Schema):
    id = fields.Id()
    kind = fields.String(metadata={"description": _one_of(EVENT_KINDS)})
    source = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)
    at = fields.DateTime()
    actor = fields.String(allow_none=True)


class TicketSpanSchema(ma.Schema):
    state = fields.String()
    entered_at = fields.DateTime()
    left_at = fields.DateTime(allow_none=True, metadata={"description": "Empty while the ticket is in the state."})
    seconds = fields.Integer(allow_none=True)


class TicketPhotoSchema(ma.Schema):
    id = fields.Id()
    ticket_id = fields.Id()
    object_key = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    captured_at = fields.DateTime(allow_none=True, metadata={"description": "From EXIF DateTimeOriginal (UTC)."})
    uploaded_at = fields.DateTime()
    url = fields.Method("_url", metadata={"description": "Short-lived download URL."})
    view_url = fields.Method("_view_url", metadata={"description": "The full-size photo through the app (access checked on each view)."})
    thumbnail_url = fields.Method("_thumbnail_url", metadata={"description": "Its thumbnail (JPEG, 320 px long side), likewise."})
    captured_local = fields.Method("_captured_local", allow_none=True,
                                   metadata={"description": "The capture time as pages show it (Asia/Shanghai, yyyy-MM-dd HH:mm)."})
    uploaded_local = fields.Method("_uploaded_local", metadata={"description": "The upload time as pages show it (Asia/Shanghai)."})

    def _url(self, photo):
        from .photos import download_url

        return download_url(photo)

    def _view_url(self, photo):
        return url_for("maintenance_api.PhotoFile", ticket_id=photo.ticket_id, photo_id=photo.id)

    def _thumbnail_url(self, photo):
        return url_for("maintenance_api.PhotoThumbnail", ticket_id=photo.ticket_id, photo_id=photo.id)

    def _captured_local(self, photo):
        from ..installs.evidence_view import local_time

        return local_time(photo.captured_at)

    def _uploaded_local(self, photo):
        from ..installs.evidence_view import local_time

        return local_time(photo.uploaded_at)


class TicketCostSchema(ma.Schema):
    id = fields.Id()
    category = fields.String(metadata={"description": _one_of(COST_CATEGORIES)})
    amount = fields.Money()
    description = fields.String(allow_none=True)
    ledger_entry_id = fields.Id(allow_none=True)
    created_at = fields.DateTime()


class TicketDetailSchema(TicketSchema):
    resolution_note = fields.String(allow_none=True)
    new_device = fields.Nested(TicketDeviceSchema, allow_none=True, metadata={"description": "Device replaced: the new one."})
    old_sim_id = fields.Id(allow_none=True)
    new_sim_id = fields.Id(allow_none=True)
    events = fields.List(fields.Nested(TicketEventSchema))
    spans = fields.List(fields.Nested(TicketSpanSchema))
    time_in_state = fields.Method("_time_in_state", metadata={"description": "Seconds spent in each state so far."})
    photos = fields.List(fields.Nested(TicketPhotoSchema))
    costs = fields.List(fields.Nested(TicketCostSchema))
    cost_total = fields.Method("_cost_total", metadata={"description": "CNY, sum of the cost lines."})

    def _time_in_state(self, ticket):
        from .service import time_in_state

        return time_in_state(ticket)

    def _cost_total(self, ticket):
        return f"{sum((c.amount for c in ticket.costs), start=0):.2f}"


class TicketArgs(PageArgs):
    state = fields.String(load_default=None, validate=ma.validate.OneOf((*STATES, "active")),
                             metadata={"description": "A state, or active (open, assigned, in progress)."})
    category = fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))
    priority = fields.String(load_default=None, validate=ma.validate.OneOf(PRIORITIES))
    sla_state = fields.String(load_default=None, validate=ma.validate.OneOf(SLA_STATES))
    source = fields.String(load_default=None, validate=ma.validate.OneOf(SOURCES))
    company_id = fields.Id(load_default=None)
    plate = fields.String(load_default=None, metadata={"description": "Part of the truck's plate."})
    q = fields.String(load_default=None, metadata={"description": "Part of the ticket number, plate or description."})


class TicketCreateSchema(ma.Schema):
    truck_id = fields.Id(load_default=None, metadata={"description": "The truck; or give its plate."})
    plate = Stripped(load_default=None, validate=ma.validate.Length(max=16))
    category = fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    priority = fields.String(load_default="normal", validate=ma.validate.OneOf(PRIORITIES))
    source = fields.String(load_default=None, validate=ma.validate.OneOf(SOURCES),
                              metadata={"description": "Staff only (default staff); a contractor's ticket is always contractor."})
    description = Stripped(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    company_id = fields.Id(load_default=None, allow_none=True,
                                   metadata={"description": "Staff only: assign to this contractor company at once."})


class TicketAssignSchema(ma.Schema):
    company_id = fields.Id(required=True)


class TicketReasonSchema(ma.Schema):
    reason = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class TicketCloseSchema(ma.Schema):
    note = Stripped(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))


class TicketNoteSchema(ma.Schema):
    note = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class TicketResolveSchema(ma.Schema):
    resolution = fields.String(required=True, validate=ma.validate.OneOf(MANUAL_RESOLUTIONS))
    note = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000), metadata={"description": "What was found and done."})
    device_serial = Stripped(load_default=None, validate=ma.validate.Length(max=60),
                             metadata={"description": "device_replaced: the serial of the device from stock."})
    iccid = Stripped(load_default=None, metadata={"description": "sim_replaced: the new SIM (19-20 digits, 8986, Luhn)."})
    msisdn = Stripped(load_default=None, metadata={"description": "sim_replaced: the new SIM's terminal phone number."})
    carrier = fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(CARRIERS),
                               metadata={"description": "Optional; must agree with the ICCID's issuer."})


class TicketCostInSchema(ma.Schema):
    category = fields.String(required=True, validate=ma.validate.OneOf(COST_CATEGORIES))
    amount = fields.Money(required=True, metadata={"description": "CNY, more than 0, at most two decimals."})
    description = Stripped(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))


class TicketPhotoPresignInSchema(ma.Schema):
    content_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    size = fields.Integer(required=True, metadata={"description": "Bytes of the file to upload."})


class TicketPhotoRegisterInSchema(ma.Schema):
    key = fields.String(required=True, validate=ma.validate.Length(max=300))
