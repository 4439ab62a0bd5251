"""Marshmallow schemas for maintenance tickets: validation, output and OpenAPI."""
import marshmallow as ma

from ..inventory.schemas import Stripped, money_in, money_out
from ..paging import PageArgs
from ..sims.models import CARRIERS
from .models import CATEGORIES, COST_CATEGORIES, EVENT_KINDS, PRIORITIES, RESOLUTIONS, SLA_STATES, SOURCES, STATES
from .service import MANUAL_RESOLUTIONS


def _one_of(values):
    return ", ".join(values)


class TicketTruckSchema(ma.Schema):
    id = ma.fields.Integer()
    plate = ma.fields.String()
    county_code = ma.fields.String()


class TicketCompanySchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class TicketDeviceSchema(ma.Schema):
    id = ma.fields.Integer()
    serial = ma.fields.String()
    terminal_id = ma.fields.String()
    status = ma.fields.String()


class TicketSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String(metadata={"description": "TK-YYYYMMDD-<id>"})
    truck = ma.fields.Nested(TicketTruckSchema)
    device = ma.fields.Nested(TicketDeviceSchema, allow_none=True,
                              metadata={"description": "The device on the truck when the ticket was opened."})
    category = ma.fields.String(metadata={"description": _one_of(CATEGORIES)})
    source = ma.fields.String(metadata={"description": _one_of(SOURCES)})
    priority = ma.fields.String(metadata={"description": _one_of(PRIORITIES)})
    state = ma.fields.String(metadata={"description": _one_of(STATES)})
    company = ma.fields.Nested(TicketCompanySchema, allow_none=True)
    description = ma.fields.String(allow_none=True)
    opened_at = ma.fields.AwareDateTime()
    sla_due_at = ma.fields.AwareDateTime(metadata={"description": "opened_at + the priority's SLA hours."})
    sla_state = ma.fields.String(metadata={"description": _one_of(SLA_STATES)})
    work_started_at = ma.fields.AwareDateTime(allow_none=True)
    resolution = ma.fields.String(allow_none=True, metadata={"description": _one_of(RESOLUTIONS)})
    resolved_at = ma.fields.AwareDateTime(allow_none=True)
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    reopen_count = ma.fields.Integer()
    signal_count = ma.fields.Integer(metadata={"description": "Signals and reports folded into this ticket."})
    last_signal_at = ma.fields.AwareDateTime(allow_none=True)


class TicketEventSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": _one_of(EVENT_KINDS)})
    source = ma.fields.String(allow_none=True)
    from_state = ma.fields.String(allow_none=True)
    to_state = ma.fields.String(allow_none=True)
    note = ma.fields.String(allow_none=True)
    data = ma.fields.Dict(allow_none=True)
    at = ma.fields.AwareDateTime()
    actor = ma.fields.String(allow_none=True)


class TicketSpanSchema(ma.Schema):
    state = ma.fields.String()
    entered_at = ma.fields.AwareDateTime()
    left_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "Empty while the ticket is in the state."})
    seconds = ma.fields.Integer(allow_none=True)


class TicketPhotoSchema(ma.Schema):
    id = ma.fields.Integer()
    ticket_id = ma.fields.Integer()
    object_key = ma.fields.String()
    content_type = ma.fields.String()
    size_bytes = ma.fields.Integer()
    captured_at = ma.fields.AwareDateTime(allow_none=True, metadata={"description": "From EXIF DateTimeOriginal (UTC)."})
    uploaded_at = ma.fields.AwareDateTime()
    url = ma.fields.Method("_url", metadata={"description": "Short-lived download URL."})

    def _url(self, photo):
        from .photos import download_url

        return download_url(photo)


class TicketCostSchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String(metadata={"description": _one_of(COST_CATEGORIES)})
    amount = money_out()
    description = ma.fields.String(allow_none=True)
    ledger_entry_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class TicketDetailSchema(TicketSchema):
    resolution_note = ma.fields.String(allow_none=True)
    new_device = ma.fields.Nested(TicketDeviceSchema, allow_none=True, metadata={"description": "Device replaced: the new one."})
    old_sim_id = ma.fields.Integer(allow_none=True)
    new_sim_id = ma.fields.Integer(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(TicketEventSchema))
    spans = ma.fields.List(ma.fields.Nested(TicketSpanSchema))
    time_in_state = ma.fields.Method("_time_in_state", metadata={"description": "Seconds spent in each state so far."})
    photos = ma.fields.List(ma.fields.Nested(TicketPhotoSchema))
    costs = ma.fields.List(ma.fields.Nested(TicketCostSchema))
    cost_total = ma.fields.Method("_cost_total", metadata={"description": "CNY, sum of the cost lines."})

    def _time_in_state(self, ticket):
        from .service import time_in_state

        return time_in_state(ticket)

    def _cost_total(self, ticket):
        return f"{sum((c.amount for c in ticket.costs), start=0):.2f}"


class TicketArgs(PageArgs):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf((*STATES, "active")),
                             metadata={"description": "A state, or active (open, assigned, in progress)."})
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))
    priority = ma.fields.String(load_default=None, validate=ma.validate.OneOf(PRIORITIES))
    sla_state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(SLA_STATES))
    source = ma.fields.String(load_default=None, validate=ma.validate.OneOf(SOURCES))
    company_id = ma.fields.Integer(load_default=None)
    plate = ma.fields.String(load_default=None, metadata={"description": "Part of the truck's plate."})
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the ticket number, plate or description."})


class TicketCreateSchema(ma.Schema):
    truck_id = ma.fields.Integer(load_default=None, metadata={"description": "The truck; or give its plate."})
    plate = Stripped(load_default=None, validate=ma.validate.Length(max=16))
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(CATEGORIES))
    priority = ma.fields.String(load_default="normal", validate=ma.validate.OneOf(PRIORITIES))
    source = ma.fields.String(load_default=None, validate=ma.validate.OneOf(SOURCES),
                              metadata={"description": "Staff only (default staff); a contractor's ticket is always contractor."})
    description = Stripped(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))
    company_id = ma.fields.Integer(load_default=None, allow_none=True,
                                   metadata={"description": "Staff only: assign to this contractor company at once."})


class TicketAssignSchema(ma.Schema):
    company_id = ma.fields.Integer(required=True)


class TicketReasonSchema(ma.Schema):
    reason = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class TicketCloseSchema(ma.Schema):
    note = Stripped(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))


class TicketNoteSchema(ma.Schema):
    note = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000))


class TicketResolveSchema(ma.Schema):
    resolution = ma.fields.String(required=True, validate=ma.validate.OneOf(MANUAL_RESOLUTIONS))
    note = Stripped(required=True, validate=ma.validate.Length(min=1, max=2000), metadata={"description": "What was found and done."})
    device_serial = Stripped(load_default=None, validate=ma.validate.Length(max=60),
                             metadata={"description": "device_replaced: the serial of the device from stock."})
    iccid = Stripped(load_default=None, metadata={"description": "sim_replaced: the new SIM (19-20 digits, 8986, Luhn)."})
    msisdn = Stripped(load_default=None, metadata={"description": "sim_replaced: the new SIM's terminal phone number."})
    carrier = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(CARRIERS),
                               metadata={"description": "Optional; must agree with the ICCID's issuer."})


class TicketCostInSchema(ma.Schema):
    category = ma.fields.String(required=True, validate=ma.validate.OneOf(COST_CATEGORIES))
    amount = money_in(required=True, metadata={"description": "CNY, more than 0, at most two decimals."})
    description = Stripped(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))


class TicketPhotoPresignInSchema(ma.Schema):
    content_type = ma.fields.String(required=True, metadata={"example": "image/jpeg"})
    size = ma.fields.Integer(required=True, metadata={"description": "Bytes of the file to upload."})


class TicketPhotoRegisterInSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=ma.validate.Length(max=300))
