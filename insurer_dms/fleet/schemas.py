"""Marshmallow schemas for operators, trucks and policies: validation, serialisation, documentation."""
import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..paging import PageArgs
from .identifiers import CountyCodeField, CreditCodeField, PlateColourField, PlateField, VinField, county_name
from .models import POLICY_KINDS, VEHICLE_TYPES


def _money(**kw):
    return ma.fields.Decimal(as_string=True, places=2, validate=ma.validate.Range(min=0, min_inclusive=False), **kw)


def _sum_insured(**kw):
    return ma.fields.Decimal(as_string=True, places=2, allow_none=True, validate=ma.validate.Range(min=0), **kw)


def _coefficient(**kw):
    return ma.fields.Decimal(as_string=True, places=4, validate=ma.validate.Range(min=0, max=10, min_inclusive=False), **kw)


class OperatorBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    credit_code = ma.fields.String()


class OperatorSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    credit_code = CreditCodeField(required=True, metadata={"description": "Unified social credit code (GB 32100-2015)."})
    county_code = CountyCodeField(required=True, metadata={"description": "GB/T 2260 division code, e.g. 445102."})
    county_name = ma.fields.Function(lambda o: county_name(o.county_code), dump_only=True)
    contact_phone = ma.fields.String(allow_none=True, load_default=None, validate=ma.validate.Length(max=30))
    created_at = ma.fields.DateTime(dump_only=True)


class OperatorPatchSchema(OperatorSchema):
    """Any subset of an operator's fields."""

    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    credit_code = CreditCodeField()
    county_code = CountyCodeField()
    contact_phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=30))


class OperatorArgs(PageArgs):
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the name or credit code."})
    county_code = ma.fields.String(load_default=None)


class TruckBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    plate = ma.fields.String()
    vin = ma.fields.String()


class TruckSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    plate = PlateField(required=True, metadata={"description": "e.g. 粤U12345; new-energy 粤UD12345; trailer 粤U1234挂."})
    plate_colour = PlateColourField(required=True, metadata={"description": "JT/T 808: 1 blue, 2 yellow, 3 black, 4 white, 9 other."})
    vin = VinField(required=True, metadata={"description": "17 characters, check digit at position 9 (ISO 3779)."})
    vehicle_type = ma.fields.String(required=True, validate=ma.validate.OneOf(VEHICLE_TYPES))
    total_mass_kg = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=200_000))
    county_code = CountyCodeField(required=True)
    operator_id = ma.fields.Integer(required=True)
    operator = ma.fields.Nested(OperatorBriefSchema, dump_only=True)
    is_heavy = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)


class TruckPatchSchema(TruckSchema):
    """Any subset of a truck's fields."""

    plate = PlateField()
    plate_colour = PlateColourField()
    vin = VinField()
    vehicle_type = ma.fields.String(validate=ma.validate.OneOf(VEHICLE_TYPES))
    total_mass_kg = ma.fields.Integer(validate=ma.validate.Range(min=1, max=200_000))
    county_code = CountyCodeField()
    operator_id = ma.fields.Integer()


class TruckArgs(PageArgs):
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the plate or VIN."})
    county_code = ma.fields.String(load_default=None)
    operator_id = ma.fields.Integer(load_default=None)
    heavy = ma.fields.Boolean(load_default=None)
    vehicle_type = ma.fields.String(load_default=None, validate=ma.validate.OneOf(VEHICLE_TYPES))


class PolicySchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    truck_id = ma.fields.Integer(required=True)
    truck = ma.fields.Nested(TruckBriefSchema, dump_only=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(POLICY_KINDS))
    start_date = ma.fields.Date(required=True)
    end_date = ma.fields.Date(required=True, metadata={"description": "Last day of cover (inclusive)."})
    premium = _money(required=True)
    benchmark_premium = _money(required=True)
    ncd_coefficient = _coefficient(required=True)
    autonomous_coefficient = _coefficient(load_default=None, metadata={"description": "Defaults to 1 (compulsory policies)."})
    violation_coefficient = _coefficient(load_default=None, metadata={"description": "Defaults to 1 where not applied."})
    sum_insured_vehicle_damage = _sum_insured(load_default=None)
    sum_insured_third_party = _sum_insured(load_default=None)
    sum_insured_driver_passenger = _sum_insured(load_default=None)
    created_at = ma.fields.DateTime(dump_only=True)

    @ma.validates_schema
    def _period(self, data, **kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end <= start:
            raise ma.ValidationError(_l("End date must be after the start date."), "end_date")


class PolicyPatchSchema(PolicySchema):
    """Any subset of a policy's fields."""

    number = ma.fields.String(validate=ma.validate.Length(min=1, max=60))
    truck_id = ma.fields.Integer()
    kind = ma.fields.String(validate=ma.validate.OneOf(POLICY_KINDS))
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    premium = _money()
    benchmark_premium = _money()
    ncd_coefficient = _coefficient()
    autonomous_coefficient = _coefficient()
    violation_coefficient = _coefficient()
    sum_insured_vehicle_damage = _sum_insured()
    sum_insured_third_party = _sum_insured()
    sum_insured_driver_passenger = _sum_insured()


class PolicyArgs(PageArgs):
    q = ma.fields.String(load_default=None, metadata={"description": "Part of the policy number or plate."})
    truck_id = ma.fields.Integer(load_default=None)
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(POLICY_KINDS))
    in_force_on = ma.fields.Date(load_default=None)


class TruckPolicySchema(PolicySchema):
    """A policy shown inside its truck."""

    class Meta:
        exclude = ("truck",)


class TruckDetailSchema(TruckSchema):
    policies = ma.fields.List(ma.fields.Nested(TruckPolicySchema), dump_only=True)


class ReasonSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "not_heavy, no_policy_in_force, ..."})
    message = ma.fields.String()


class EligibilityArgs(ma.Schema):
    on = ma.fields.Date(load_default=None, metadata={"description": "The day to check (default: today, Asia/Shanghai)."})


class EligibilitySchema(ma.Schema):
    truck_id = ma.fields.Integer()
    on = ma.fields.Date()
    eligible = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))


class ImportCountsSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class ImportResultSchema(ma.Schema):
    rows = ma.fields.Integer()
    operators = ma.fields.Nested(ImportCountsSchema)
    trucks = ma.fields.Nested(ImportCountsSchema)
    policies = ma.fields.Nested(ImportCountsSchema)
