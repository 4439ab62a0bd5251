"""Marshmallow schemas of the ledger: the cost report's arguments and body, entries, corrections."""
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import fields
from ..fleet.identifiers import CountyCodeField
from ..paging import PageArgs
from .models import CATEGORIES
from .reports import MONTH
from .service import SOURCE_TYPES

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
FORMATS = ("json", "csv", "xlsx")
Money = fields.SignedMoney  # totals of entries, reversals included


def month_field(metadata=None, **kw):
    """A month as YYYY-MM."""
    return fields.String(validate=ma.validate.Regexp(MONTH, error=_l("A month is YYYY-MM.")),
                            metadata={"example": "2026-09", **(metadata or {})}, **kw)


class CostReportArgs(ma.Schema):
    period_from = month_field(data_key="from", load_default=None,
                              metadata={"description": "first month, YYYY-MM (default: eleven months before `to`)"})
    period_to = month_field(data_key="to", load_default=None, metadata={"description": "last month, YYYY-MM (default: this month)"})
    county = CountyCodeField(load_default=None, metadata={"description": "only trucks of this county (GB/T 2260 code)"})
    as_of = fields.DateTime(default_timezone=LOCAL_TZ, load_default=None,
                                    metadata={"description": "only entries created up to this moment: the report as it was then"})
    format = fields.String(load_default="json", validate=ma.validate.OneOf(FORMATS),
                              metadata={"description": "json, or a csv / xlsx download (Chinese headings for zh_CN users)"})


class MonthTotalSchema(ma.Schema):
    period = fields.String()
    amount = Money()
    categories = fields.Dict(keys=fields.String(), values=Money())


class CountyTotalSchema(ma.Schema):
    county_code = fields.String(allow_none=True, metadata={"description": "None: entries of no truck"})
    county = fields.String(allow_none=True)
    amount = Money()


class CategoryTotalSchema(ma.Schema):
    category = fields.String(metadata={"description": ", ".join(CATEGORIES)})
    label = fields.String()
    amount = Money()


class ContractorTotalSchema(ma.Schema):
    company_id = fields.Id()
    company = fields.String()
    amount = Money()


class CarrierTotalSchema(ma.Schema):
    carrier = fields.String()
    label = fields.String()
    amount = Money()


class TruckFiguresSchema(ma.Schema):
    count = fields.Integer(metadata={"description": "trucks with entries in the range"})
    total = Money(metadata={"description": "the entries on those trucks"})
    truck_years = fields.Decimal(2, minimum=0, maximum=fields.MONEY_MAX,
                                    metadata={"description": "time trucks carried a device in the range, days / 365"})
    cost_per_truck = Money(allow_none=True)
    cost_per_truck_year = Money(allow_none=True)


class TopTruckSchema(ma.Schema):
    truck_id = fields.Id()
    plate = fields.String()
    county_code = fields.String()
    county = fields.String()
    total = Money()
    reasons = fields.List(fields.Nested(CategoryTotalSchema), metadata={"description": "its categories, largest first"})


class CostReportSchema(ma.Schema):
    period_from = fields.String(data_key="from")
    period_to = fields.String(data_key="to")
    county = fields.String(allow_none=True)
    as_of = fields.DateTime(allow_none=True)
    total = Money()
    by_month = fields.List(fields.Nested(MonthTotalSchema))
    by_county = fields.List(fields.Nested(CountyTotalSchema))
    by_category = fields.List(fields.Nested(CategoryTotalSchema))
    by_contractor = fields.List(fields.Nested(ContractorTotalSchema))
    by_carrier = fields.List(fields.Nested(CarrierTotalSchema))
    trucks = fields.Nested(TruckFiguresSchema)
    top_trucks = fields.List(fields.Nested(TopTruckSchema))


class EntryArgs(PageArgs):
    truck_id = fields.Id(load_default=None)
    device_id = fields.Id(load_default=None)
    period = month_field(load_default=None)
    category = fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))
    source_type = fields.String(load_default=None, validate=ma.validate.OneOf(SOURCE_TYPES))
    source_id = fields.String(load_default=None)


class EntrySchema(ma.Schema):
    id = fields.Id()
    category = fields.String(metadata={"description": ", ".join(CATEGORIES)})
    amount = Money(metadata={"description": "negative on reversing entries"})
    period = fields.String()
    truck_id = fields.Id(allow_none=True)
    device_id = fields.Id(allow_none=True)
    company_id = fields.Id(allow_none=True)
    source_type = fields.String(metadata={"description": ", ".join(SOURCE_TYPES)})
    source_id = fields.String()
    reverses_id = fields.Id(allow_none=True, metadata={"description": "the entry this one cancels"})
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class CorrectionSchema(ma.Schema):
    amount = fields.SignedMoney(required=True, metadata={"description": "the right amount, CNY (negative only for a credit)"})
    note = fields.String(required=True, validate=ma.validate.Length(min=1, max=500), metadata={"description": "why"})
