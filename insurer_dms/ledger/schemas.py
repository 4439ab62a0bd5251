"""Marshmallow schemas of the ledger: the cost report's arguments and body, entries, corrections."""
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..fleet.identifiers import CountyCodeField
from ..paging import PageArgs
from .models import CATEGORIES
from .reports import MONTH
from .service import SOURCE_TYPES

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
FORMATS = ("json", "csv", "xlsx")
Money = lambda **kw: ma.fields.Decimal(as_string=True, places=2, **kw)  # noqa: E731


def month_field(metadata=None, **kw):
    """A month as YYYY-MM."""
    return ma.fields.String(validate=ma.validate.Regexp(MONTH, error=_l("A month is YYYY-MM.")),
                            metadata={"example": "2026-09", **(metadata or {})}, **kw)


class CostReportArgs(ma.Schema):
    period_from = month_field(data_key="from", load_default=None,
                              metadata={"description": "first month, YYYY-MM (default: eleven months before `to`)"})
    period_to = month_field(data_key="to", load_default=None, metadata={"description": "last month, YYYY-MM (default: this month)"})
    county = CountyCodeField(load_default=None, metadata={"description": "only trucks of this county (GB/T 2260 code)"})
    as_of = ma.fields.AwareDateTime(default_timezone=LOCAL_TZ, load_default=None,
                                    metadata={"description": "only entries created up to this moment: the report as it was then"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(FORMATS),
                              metadata={"description": "json, or a csv / xlsx download (Chinese headings for zh_CN users)"})


class MonthTotalSchema(ma.Schema):
    period = ma.fields.String()
    amount = Money()
    categories = ma.fields.Dict(keys=ma.fields.String(), values=Money())


class CountyTotalSchema(ma.Schema):
    county_code = ma.fields.String(allow_none=True, metadata={"description": "None: entries of no truck"})
    county = ma.fields.String(allow_none=True)
    amount = Money()


class CategoryTotalSchema(ma.Schema):
    category = ma.fields.String(metadata={"description": ", ".join(CATEGORIES)})
    label = ma.fields.String()
    amount = Money()


class ContractorTotalSchema(ma.Schema):
    company_id = ma.fields.Integer()
    company = ma.fields.String()
    amount = Money()


class CarrierTotalSchema(ma.Schema):
    carrier = ma.fields.String()
    label = ma.fields.String()
    amount = Money()


class TruckFiguresSchema(ma.Schema):
    count = ma.fields.Integer(metadata={"description": "trucks with entries in the range"})
    total = Money(metadata={"description": "the entries on those trucks"})
    truck_years = ma.fields.Decimal(as_string=True, places=2,
                                    metadata={"description": "time trucks carried a device in the range, days / 365"})
    cost_per_truck = Money(allow_none=True)
    cost_per_truck_year = Money(allow_none=True)


class TopTruckSchema(ma.Schema):
    truck_id = ma.fields.Integer()
    plate = ma.fields.String()
    county_code = ma.fields.String()
    county = ma.fields.String()
    total = Money()
    reasons = ma.fields.List(ma.fields.Nested(CategoryTotalSchema), metadata={"description": "its categories, largest first"})


class CostReportSchema(ma.Schema):
    period_from = ma.fields.String(data_key="from")
    period_to = ma.fields.String(data_key="to")
    county = ma.fields.String(allow_none=True)
    as_of = ma.fields.DateTime(allow_none=True)
    total = Money()
    by_month = ma.fields.List(ma.fields.Nested(MonthTotalSchema))
    by_county = ma.fields.List(ma.fields.Nested(CountyTotalSchema))
    by_category = ma.fields.List(ma.fields.Nested(CategoryTotalSchema))
    by_contractor = ma.fields.List(ma.fields.Nested(ContractorTotalSchema))
    by_carrier = ma.fields.List(ma.fields.Nested(CarrierTotalSchema))
    trucks = ma.fields.Nested(TruckFiguresSchema)
    top_trucks = ma.fields.List(ma.fields.Nested(TopTruckSchema))


class EntryArgs(PageArgs):
    truck_id = ma.fields.Integer(load_default=None)
    device_id = ma.fields.Integer(load_default=None)
    period = month_field(load_default=None)
    category = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))
    source_type = ma.fields.String(load_default=None, validate=ma.validate.OneOf(SOURCE_TYPES))
    source_id = ma.fields.String(load_default=None)


class EntrySchema(ma.Schema):
    id = ma.fields.Integer()
    category = ma.fields.String(metadata={"description": ", ".join(CATEGORIES)})
    amount = Money(metadata={"description": "negative on reversing entries"})
    period = ma.fields.String()
    truck_id = ma.fields.Integer(allow_none=True)
    device_id = ma.fields.Integer(allow_none=True)
    company_id = ma.fields.Integer(allow_none=True)
    source_type = ma.fields.String(metadata={"description": ", ".join(SOURCE_TYPES)})
    source_id = ma.fields.String()
    reverses_id = ma.fields.Integer(allow_none=True, metadata={"description": "the entry this one cancels"})
    note = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class CorrectionSchema(ma.Schema):
    amount = ma.fields.Decimal(required=True, places=2, metadata={"description": "the right amount, CNY"})
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500), metadata={"description": "why"})
