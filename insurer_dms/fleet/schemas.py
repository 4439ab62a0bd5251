"""Marshmallow schemas for operators, trucks and policies: validation, serialisation, documentation."""
from decimal import Decimal

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import fields
from ..paging import PageArgs
from .identifiers import CountyCodeField, CreditCodeField, PlateColourField, PlateField, VinField, county_name
from .models import POLICY_KINDS, VEHICLE_TYPES


_money = fields.Money


def _sum_insured(**kw):
    return fields.Money(minimum=0, allow_none=True, **kw)


def _coefficient(**kw):
    """A pricing coefficient: more than 0, at most 10, four decimals."""
    return fields.Decimal(4, minimum=Decimal("0.0001"), maximum=10, **kw)


class OperatorBriefSchema(ma.Schema):
    id = fields.Id()
    name = fields.String()
    credit_code = fields.String()


class OperatorSchema(ma.Schema):
    id = fields.Id(dump_only=True)
    name = fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    credit_code = CreditCodeField(required=True, metadata={"description": "Unified social credit code (GB 32100-2015)."})
    county_code = CountyCodeField(required=True, metadata={"description": "GB/T 2260 division code, e.g. 445102."})
    county_name = fields.Function(lambda o: county_name(o.county_code), dump_only=True)
    contact_phone = fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=30))
    created_at = fields.DateTime(dump_only=True)


class OperatorPatchSchema(OperatorSchema):
    """Any subset of an operator's fields."""

    name = fields.String(validate=ma.validate.Length(min=1, max=200))
    credit_code = CreditCodeField()
    county_code = CountyCodeField()
    contact_phone = fields.String(allow_none=True, validate=ma.validate.Length(max=30))


class OperatorArgs(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "Part of the name or credit code."})
    county_code = fields.String(load_default=None)


class TruckBriefSchema(ma.Schema):
    id = fields.Id()
    plate = fields.String()
    vin = fields.String()


class TruckSchema(ma.Schema):
    id = fields.Id(dump_only=True)
    plate = PlateField(required=True, metadata={"description": "e.g. 粤U12345; new-energy 粤UD12345; trailer 粤U1234挂."})
    plate_colour = PlateColourField(required=True, metadata={"description": "JT/T 808: 1 blue, 2 yellow, 3 black, 4 white, 9 other."})
    vin = VinField(required=True, metadata={"description": "17 characters, check digit at position 9 (ISO 3779)."})
    vehicle_type = fields.String(required=True, validate=ma.validate.OneOf(VEHICLE_TYPES))
    total_mass_kg = fields.Integer(required=True, validate=ma.validate.Range(min=1, max=200_000))
    county_code = CountyCodeField(required=True)
    operator_id = fields.Id(required=True)
    operator = fields.Nested(OperatorBriefSchema, dump_only=True)
    is_heavy = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class TruckPatchSchema(TruckSchema):
    """Any subset of a truck's fields."""

    plate = PlateField()
    plate_colour = PlateColourField()
    vin = VinField()
    vehicle_type = fields.String(validate=ma.validate.OneOf(VEHICLE_TYPES))
    total_mass_kg = fields.Integer(validate=ma.validate.Range(min=1, max=200_000))
    county_code = CountyCodeField()
    operator_id = fields.Id()


class TruckArgs(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "Part of the plate or VIN."})
    county_code = fields.String(load_default=None)
    operator_id = fields.Id(load_default=None)
    heavy = fields.Boolean(load_default=None)
    vehicle_type = fields.String(load_default=None, validate=ma.validate.OneOf(VEHICLE_TYPES))


class PolicySchema(ma.Schema):
    id = fields.Id(dump_only=True)
    number = fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    truck_id = fields.Id(required=True)
    truck = fields.Nested(TruckBriefSchema, dump_only=True)
    kind = fields.String(required=True, validate=ma.validate.OneOf(POLICY_KINDS))
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True, metadata={"description": "Last day of cover (inclusive)."})
    premium = _money(required=True)
    benchmark_premium = _money(required=True)
    ncd_coefficient = _coefficient(required=True)
    autonomous_coefficient = _coefficient(load_default=None, metadata={"description": "Defaults to 1 (compulsory policies)."})
    violation_coefficient = _coefficient(load_default=None, metadata={"description": "Defaults to 1 where not applied."})
    sum_insured_vehicle_damage = _sum_insured(load_default=None)
    sum_insured_third_party = _sum_insured(load_default=None)
    sum_insured_driver_passenger = _sum_insured(load_default=None)
    created_at = fields.DateTime(dump_only=True)

    @ma.validates_schema
    def _period(self, data, **kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end <= start:
            raise ma.ValidationError(_l("End date must be after the start date."), "end_date")


class PolicyPatchSchema(PolicySchema):
    """Any subset of a policy's fields."""

    number = fields.String(validate=ma.validate.Length(min=1, max=60))
    truck_id = fields.Id()
    kind = fields.String(validate=ma.validate.OneOf(POLICY_KINDS))
    start_date = fields.Date()
    end_date = fields.Date()
    premium = _money()
    benchmark_premium = _money()
    ncd_coefficient = _coefficient()
    autonomous_coefficient = _coefficient()
    violation_coefficient = _coefficient()
    sum_insured_vehicle_damage = _sum_insured()
    sum_insured_third_party = _sum_insured()
    sum_insured_driver_passenger = _sum_insured()


class PolicyArgs(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "Part of the policy number or plate."})
    truck_id = fields.Id(load_default=None)
    kind = fields.String(load_default=None, validate=ma.validate.OneOf(POLICY_KINDS))
    in_force_on = fields.Date(load_default=None)


class TruckPolicySchema(PolicySchema):
    """A policy shown inside its truck."""

    class Meta:
        exclude = ("truck",)


class TruckDetailSchema(TruckSchema):
    policies = fields.List(fields.Nested(TruckPolicySchema), dump_only=True)


class ReasonSchema(ma.Schema):
    code = fields.String(metadata={"description": "not_heavy, no_policy_in_force, ..."})
    message = fields.String()


class EligibilityArgs(ma.Schema):
    on = fields.Date(load_default=None, metadata={"description": "The day to check (default: today, Asia/Shanghai)."})


class EligibilitySchema(ma.Schema):
    truck_id = fields.Id()
    on = fields.Date()
    eligible = fields.Boolean()
    reasons = fields.List(fields.Nested(ReasonSchema))


class ImportCountsSchema(ma.Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class ImportResultSchema(ma.Schema):
    rows = fields.Integer()
    operators = fields.Nested(ImportCountsSchema)
    trucks = fields.Nested(ImportCountsSchema)
    policies = fields.Nested(ImportCountsSchema)
