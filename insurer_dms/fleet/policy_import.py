"""Importing the insurer's policy-system export: one row per policy, with its truck and operator.

All or nothing: every row is validated (identifiers, dates, numbers, clashes within the file and with
the database) before anything is written; then operators, trucks and policies are created or updated
in one transaction. Operators are matched by credit code, trucks by VIN, policies by number, so
importing the same file twice changes nothing.
"""
import datetime as dt
import re
from decimal import Decimal

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from .. import fields
from .. import activity
from ..extensions import db
from ..imports import RowErrors, column_names, load_rows
from ..transactions import race_guard
from .identifiers import CountyCodeField, CreditCodeField, PlateColourField, PlateField, VinField
from .models import Operator, Policy, Truck

ALIASES = {
    "operator_name": ["经营者名称", "企业名称", "业户名称", "operator", "operator name"],
    "credit_code": ["统一社会信用代码", "信用代码", "credit code", "unified social credit code"],
    "contact_phone": ["联系电话", "contact phone", "phone"],
    "operator_county_code": ["经营者区县代码", "operator county code"],
    "plate": ["车牌号码", "车牌号", "号牌号码", "plate number"],
    "plate_colour": ["车牌颜色", "号牌颜色", "plate colour", "plate color", "plate_color"],
    "vin": ["车架号", "车辆识别代号", "车架号/VIN", "VIN"],
    "vehicle_type": ["车辆类型", "vehicle type"],
    "total_mass_kg": ["总质量(kg)", "总质量（kg）", "总质量", "total mass (kg)", "total mass kg", "total mass"],
    "county_code": ["区县代码", "行政区划代码", "county code", "division code"],
    "number": ["保单号", "保单号码", "policy number", "policy no"],
    "kind": ["险种", "险类", "policy kind"],
    "start_date": ["起保日期", "保险起期", "start date"],
    "end_date": ["终保日期", "保险止期", "end date"],
    "premium": ["保费", "premium"],
    "benchmark_premium": ["基准保费", "benchmark premium"],
    "ncd_coefficient": ["NCD系数", "无赔款优待系数", "ncd", "ncd coefficient"],
    "autonomous_coefficient": ["自主定价系数", "autonomous coefficient", "autonomous pricing coefficient"],
    "violation_coefficient": ["交通违法系数", "violation coefficient", "traffic violation coefficient"],
    "sum_insured_vehicle_damage": ["车损险保额", "vehicle damage sum insured"],
    "sum_insured_third_party": ["三者险保额", "third party sum insured"],
    "sum_insured_driver_passenger": ["司乘险保额", "车上人员责任险保额", "driver passenger sum insured"],
}
REQUIRED = [
    "operator_name", "credit_code", "plate", "plate_colour", "vin", "vehicle_type", "total_mass_kg", "county_code",
    "number", "kind", "start_date", "end_date", "premium", "benchmark_premium", "ncd_coefficient",
]
OPERATOR_FIELDS = ("name", "contact_phone", "county_code")
TRUCK_FIELDS = ("plate", "plate_colour", "vehicle_type", "total_mass_kg", "county_code")
POLICY_FIELDS = (
    "kind", "start_date", "end_date", "premium", "benchmark_premium", "ncd_coefficient", "autonomous_coefficient",
    "violation_coefficient", "sum_insured_vehicle_damage", "sum_insured_third_party", "sum_insured_driver_passenger",
)
NEUTRAL = Decimal("1.0000")


# ---------------------------------------------------------------- cell parsing


def vehicle_type_from_text(text):
    """Our vehicle type from a code, English words or the registration's Chinese type (重型半挂牵引车...)."""
    value = str(text or "").strip()
    lowered = value.lower().replace(" ", "_").replace("-", "_")
    if lowered in ("semi_trailer_tractor", "goods_vehicle", "special_purpose", "trailer", "other"):
        return lowered
    # order matters: 重型半挂牵引车 mentions 挂, 重型普通半挂车 is a trailer not a goods vehicle
    for words, kind in (
        (("牵引", "tractor"), "semi_trailer_tractor"),
        (("挂车", "trailer"), "trailer"),
        (("专项作业", "special"), "special_purpose"),
        (("货车", "goods", "truck", "lorry"), "goods_vehicle"),
        (("其他", "其它"), "other"),
    ):
        if any(w in lowered for w in words):
            return kind
    raise ValueError(_l("Unknown vehicle type %(value)r (e.g. 重型半挂牵引车, 重型普通货车, 专项作业车, 挂车).", value=value))


def policy_kind_from_text(text):
    """commercial or compulsory from 商业险/交强险 or the English words."""
    value = str(text or "").strip().lower()
    if value in ("commercial", "compulsory"):
        return value
    if "交强" in value or "强制" in value:
        return "compulsory"
    if "商业" in value:
        return "commercial"
    raise ValueError(_l("Policy kind must be 商业险/commercial or 交强险/compulsory, got %(value)r.", value=text))


_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def date_from_text(text):
    """A date written 2024-03-01, 2024/3/1, 2024年3月1日, 20240301 (a time of day is ignored)."""
    value = str(text or "").strip()
    if re.fullmatch(r"\d{8}", value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    match = _DATE.match(value)
    try:
        if not match:
            raise ValueError
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise ValueError(_l("Not a date: %(value)r (use YYYY-MM-DD).", value=text))


class _Parsed(fields.String):
    parse = None

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return type(self).parse(value)
        except ValueError as err:
            raise ma.ValidationError(str(err))


class VehicleTypeField(_Parsed):
    parse = staticmethod(vehicle_type_from_text)


class KindField(_Parsed):
    parse = staticmethod(policy_kind_from_text)


class DateField(_Parsed):
    parse = staticmethod(date_from_text)


def _plain_number(value):
    """Spreadsheet numbers arrive as '1,234.50' or '¥1234.5'."""
    return re.sub(r"[,\s¥￥]", "", str(value))


class NumberField(fields.Decimal):
    """A number from the policy system's export, rounded to its places (spreadsheet cells carry float noise)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(_plain_number(value), attr, data, **kwargs)

    rounds = True


class MassField(fields.Integer):
    def _deserialize(self, value, attr, data, **kwargs):
        text = _plain_number(value)
        if text.endswith(".0"):
            text = text[:-2]
        return super()._deserialize(text, attr, data, **kwargs)


def _money(required=True):
    return NumberField(2, minimum=fields.CENT if required else 0, maximum=fields.MONEY_MAX, required=required)


def _coefficient(required=True):
    return NumberField(4, minimum=Decimal("0.0001"), maximum=10, required=required)


class PolicyRowSchema(ma.Schema):
    """One row of the policy-system export."""

    operator_name = fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    credit_code = CreditCodeField(required=True)
    contact_phone = fields.String(validate=ma.validate.Length(max=30))
    operator_county_code = CountyCodeField()
    plate = PlateField(required=True)
    plate_colour = PlateColourField(required=True)
    vin = VinField(required=True)
    vehicle_type = VehicleTypeField(required=True)
    total_mass_kg = MassField(required=True, validate=ma.validate.Range(min=1, max=200_000))
    county_code = CountyCodeField(required=True)
    number = fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    kind = KindField(required=True)
    start_date = DateField(required=True)
    end_date = DateField(required=True)
    premium = _money()
    benchmark_premium = _money()
    ncd_coefficient = _coefficient()
    autonomous_coefficient = _coefficient(required=False)
    violation_coefficient = _coefficient(required=False)
    sum_insured_vehicle_damage = _money(required=False)
    sum_insured_third_party = _money(required=False)
    sum_insured_driver_passenger = _money(required=False)

    @ma.validates_schema
    def _rules(self, data, **kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end <= start:
            raise ma.ValidationError(_l("End date must be after the start date."), "end_date")
        if data.get("kind") == "commercial" and "autonomous_coefficient" not in data:
            raise ma.ValidationError(_l("Commercial policies need the autonomous pricing coefficient."), "autonomous_coefficient")


# ---------------------------------------------------------------- the import


class _FirstSeen:
    """Values of one entity across rows; a later row disagreeing with the first is an error."""

    def __init__(self, label, errors, columns):
        self.label, self.errors, self.columns, self.seen = label, errors, columns, {}

    def add(self, key, values, row, key_field):
        if key not in self.seen:
            self.seen[key] = (row, values)
            return
        first_row, first = self.seen[key]
        differ = [f for f in values if f in first and values[f] != first[f]]
        if differ:
            self.errors.add(
                row,
                self.columns.get(key_field, key_field),
                _l("%(label)s %(value)s is also on row %(row)s with a different %(columns)s.", label=self.label, value=key,
                   row=first_row, columns=column_names(differ, ALIASES)),
            )

    def values(self):
        return {key: values for key, (_, values) in self.seen.items()}


def _in(column, values):
    return column.in_(sorted(values)) if values else column.in_([None])


@race_guard()  # another import (or a form) took a plate, VIN, credit code or policy number meanwhile: 409
def import_policy_export(data, filename):
    """Create or update operators, trucks and policies from an export file; returns counts per kind."""
    errors = RowErrors()  # bad cells, clashes within the file and with the database: all reported at once
    rows = load_rows(data, filename, PolicyRowSchema(), ALIASES, required=REQUIRED, errors=errors)
    columns = rows.columns
    operators = _FirstSeen(_l("Credit code"), errors, columns)
    trucks = _FirstSeen(_l("VIN"), errors, columns)
    plates = _FirstSeen(_l("Plate"), errors, columns)
    policies = _FirstSeen(_l("Policy number"), errors, columns)
    truck_rows = {}  # vin -> first row, for messages about the database
    for number, row in rows:
        op = {"name": row["operator_name"]}
        for source, target in (("contact_phone", "contact_phone"), ("operator_county_code", "county_code")):
            if source in row:
                op[target] = row[source]
        operators.add(row["credit_code"], op, number, "credit_code")
        truck = {f: row[f] for f in TRUCK_FIELDS} | {"operator": row["credit_code"]}
        trucks.add(row["vin"], truck, number, "vin")
        truck_rows.setdefault(row["vin"], number)
        plates.add(row["plate"], {"VIN": row["vin"]}, number, "plate")
        policy = {f: row[f] for f in POLICY_FIELDS if f in row} | {"VIN": row["vin"]}
        policies.add(row["number"], policy, number, "number")

    # One query per kind for everything the file mentions; no per-row queries.
    op_values, truck_values, policy_values = operators.values(), trucks.values(), policies.values()
    known_ops = {o.credit_code: o for o in db.session.scalars(select(Operator).where(_in(Operator.credit_code, op_values)))}
    known_trucks = db.session.scalars(
        select(Truck).where(or_(_in(Truck.vin, truck_values), _in(Truck.plate, plates.values())))
    ).all()
    by_vin = {t.vin: t for t in known_trucks}
    by_plate = {t.plate: t for t in known_trucks}
    known_policies = {
        p.number: p
        for p in db.session.scalars(select(Policy).options(joinedload(Policy.truck)).where(_in(Policy.number, policy_values)))
    }

    for vin, values in truck_values.items():
        holder = by_plate.get(values["plate"])
        if holder is not None and holder.vin != vin:
            errors.add(truck_rows[vin], columns.get("plate", "plate"), _l("Plate %(plate)s is registered to another truck (VIN %(vin)s).",
                                                                          plate=values["plate"], vin=holder.vin))
    for number, values in policy_values.items():
        existing = known_policies.get(number)
        if existing is not None and existing.truck.vin != values["VIN"]:
            errors.add(
                policies.seen[number][0],
                columns.get("number", "number"),
                _l("Policy %(number)s belongs to truck %(plate)s (VIN %(vin)s), not VIN %(other)s.", number=number,
                   plate=existing.truck.plate, vin=existing.truck.vin, other=values["VIN"]),
            )
    errors.raise_if_any()
    return _write(filename, rows, op_values, truck_values, policy_values, known_ops, by_vin, known_policies)


def _upsert(known, key, values, model, counts, pending, make):
    """Update ``known[key]`` with ``values`` or create it; queue the activity to record after the flush."""
    obj = known.get(key)
    if obj is None:
        obj = model(**make(values))
        db.session.add(obj)
        known[key] = obj
        counts["created"] += 1
        pending.append(("create", obj, None, None))
        return obj
    before, after = activity.changes(obj, values)
    if after:
        counts["updated"] += 1
        pending.append(("update", obj, before, after))
    else:
        counts["unchanged"] += 1
    return obj


def _write(filename, rows, op_values, truck_values, policy_values, known_ops, by_vin, known_policies):
    counts = {kind: {"created": 0, "updated": 0, "unchanged": 0} for kind in ("operators", "trucks", "policies")}
    pending = []
    first_county = {}
    for vin, values in truck_values.items():
        first_county.setdefault(values["operator"], values["county_code"])

    for code, values in op_values.items():
        _upsert(known_ops, code, values, Operator, counts["operators"], pending,
                lambda v, code=code: {"county_code": first_county[code], **v, "credit_code": code})
    db.session.flush()  # operator ids for new trucks, in one batch

    for vin, values in truck_values.items():
        data = {f: values[f] for f in TRUCK_FIELDS} | {"operator_id": known_ops[values["operator"]].id}
        _upsert(by_vin, vin, data, Truck, counts["trucks"], pending, lambda v, vin=vin: {**v, "vin": vin})
    db.session.flush()

    for number, values in policy_values.items():
        data = {f: values[f] for f in POLICY_FIELDS if f in values} | {"truck_id": by_vin[values["VIN"]].id}
        _upsert(known_policies, number, data, Policy, counts["policies"], pending,
                lambda v, number=number: {"autonomous_coefficient": NEUTRAL, "violation_coefficient": NEUTRAL, **v, "number": number})
    db.session.flush()

    activity.record_many(pending, note=f"import {filename}")
    db.session.commit()
    return {"rows": len(rows), **counts}
