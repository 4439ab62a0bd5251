"""SIM and data-plan schemas: API bodies, list filters, file rows and header aliases."""
import datetime as dt

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload

from .. import fields
from ..catalogue.schemas import FileDate, FileMoney
from ..paging import PageArgs
from ..validity import check_validity
from .models import CARRIERS, SIM_STATES

# When a plan file or body gives no start of validity: before any SIM of the programme (2021) was billed.
DEFAULT_VALID_FROM = dt.date(2020, 1, 1)
MAX_INT = 2_147_483_647  # Integer columns


def _fee(**kwargs):
    """CNY, two decimals at most, zero allowed (a plan may be free of a fee or of overage)."""
    return fields.Money(minimum=0, **kwargs)


# ---- data plans ---------------------------------------------------------------------------------------


class DataPlanSchema(ma.Schema):
    """A data plan; also the body of POST /api/data-plans."""

    id = fields.Id(dump_only=True)
    carrier = fields.String(required=True, validate=ma.validate.OneOf(CARRIERS))
    code = fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    name = fields.String(validate=ma.validate.Length(min=1, max=100), metadata={"description": "Defaults to the code."})
    monthly_fee = _fee(required=True, metadata={"description": "Monthly plan fee in CNY."})
    allowance_mb = fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=0, max=MAX_INT),
                                     metadata={"description": "Monthly data allowance in MB."})
    overage_per_mb = _fee(required=True, metadata={"description": "Price in CNY of each started MB beyond the allowance."})
    valid_from = fields.Date(load_default=DEFAULT_VALID_FROM, metadata={"description": "Defaults to 2020-01-01."})
    valid_to = fields.Date(load_default=None, allow_none=True)
    sim_count = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    @ma.validates_schema
    def _validity_ordered(self, data, **kwargs):
        check_validity(data)


class DataPlanPatchSchema(ma.Schema):
    """Changes to a plan (any subset of fields)."""

    carrier = fields.String(validate=ma.validate.OneOf(CARRIERS))
    code = fields.String(validate=ma.validate.Length(min=1, max=40))
    name = fields.String(validate=ma.validate.Length(min=1, max=100))
    monthly_fee = _fee()
    allowance_mb = fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_INT))
    overage_per_mb = _fee()
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)

    @ma.validates_schema
    def _validity_ordered(self, data, **kwargs):
        check_validity(data)


class DataPlanListArgs(PageArgs):
    carrier = fields.String(load_default=None, validate=ma.validate.OneOf(CARRIERS))
    q = fields.String(load_default=None, metadata={"description": "Part of the code or name."})
    valid_on = fields.Date(load_default=None, metadata={"description": "Only plans valid on this day."})


class FileCarrier(fields.String):
    """china_mobile, or the carrier's name as written in Chinese spreadsheets (中国移动, 移动...)."""

    WORDS = {
        "中国移动": "china_mobile", "移动": "china_mobile", "cmcc": "china_mobile", "china mobile": "china_mobile",
        "中国联通": "china_unicom", "联通": "china_unicom", "cucc": "china_unicom", "china unicom": "china_unicom",
        "中国电信": "china_telecom", "电信": "china_telecom", "ctcc": "china_telecom", "china telecom": "china_telecom",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        word = str(value).strip().lower()
        if word in CARRIERS:
            return word
        if word in self.WORDS:
            return self.WORDS[word]
        raise ma.ValidationError(_l("Unknown carrier %(value)r; use one of %(carriers)s (or 中国移动/中国联通/中国电信).", value=value,
                                    carriers=", ".join(CARRIERS)))


class FileFee(FileMoney):
    def __init__(self, **kwargs):
        super().__init__(minimum=0, **kwargs)


class DataPlanImportRowSchema(ma.Schema):
    """One row of a plan file (the sample format: code, carrier, monthly_fee, allowance_mb, overage_per_mb)."""

    code = fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    carrier = FileCarrier(required=True)
    name = fields.String(validate=ma.validate.Length(min=1, max=100))
    monthly_fee = FileFee(required=True)
    allowance_mb = fields.Integer(required=True, validate=ma.validate.Range(min=0, max=MAX_INT))
    overage_per_mb = FileFee(required=True)
    valid_from = FileDate(load_default=DEFAULT_VALID_FROM)
    valid_to = FileDate(load_default=None)

    @ma.post_load
    def _name_defaults_to_code(self, data, **kwargs):
        data.setdefault("name", data["code"])
        return data

    @ma.validates_schema
    def _validity_ordered(self, data, **kwargs):
        check_validity(data)


PLAN_ALIASES = {
    "code": ["plan code", "套餐编码", "套餐代码", "套餐编号"],
    "carrier": ["运营商"],
    "name": ["plan name", "套餐名称", "名称"],
    "monthly_fee": ["monthly fee", "月费(元)", "月费（元）", "月费", "月租(元)", "月租（元）", "套餐费(元)"],
    "allowance_mb": ["allowance (MB)", "allowance", "套餐流量(MB)", "套餐流量（MB）", "流量(MB)", "套餐流量"],
    "overage_per_mb": ["overage per MB", "超套单价(元/MB)", "超套单价（元/MB）", "超套单价"],
    "valid_from": ["valid from", "生效日期", "有效期起"],
    "valid_to": ["valid to", "失效日期", "有效期止", "有效期至"],
}


# ---- SIMs ---------------------------------------------------------------------------------------------


class PlanRefSchema(ma.Schema):
    id = fields.Id()
    code = fields.String()
    name = fields.String()


class SimSchema(ma.Schema):
    id = fields.Id()
    iccid = fields.String()
    msisdn = fields.String()
    carrier = fields.String()
    plan_id = fields.Id(allow_none=True)
    plan = fields.Nested(PlanRefSchema, allow_none=True)
    status = fields.String(metadata={"description": ", ".join(SIM_STATES)})
    activated_on = fields.Date(allow_none=True)
    deactivated_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()


class SimCreateSchema(ma.Schema):
    """The body of POST /api/sims: the carrier follows the ICCID's issuer prefix; a declared one must agree."""

    iccid = fields.String(required=True, metadata={"description": "19-20 digits, starts 8986, Luhn check digit last."})
    msisdn = fields.String(required=True, metadata={"description": "The terminal phone number, 11-13 digits."})
    carrier = fields.String(load_default=None, allow_none=True, validate=ma.validate.OneOf(CARRIERS))
    plan_id = fields.Id(load_default=None, allow_none=True, strict=True)
    status = fields.String(load_default="in_stock", validate=ma.validate.OneOf(SIM_STATES))
    activated_on = fields.Date(load_default=None, allow_none=True)
    deactivated_on = fields.Date(load_default=None, allow_none=True)


class SimPatchSchema(ma.Schema):
    """A plan change and/or a status change with its date (or a correction of the dates)."""

    plan_id = fields.Id(allow_none=True, strict=True)
    status = fields.String(validate=ma.validate.OneOf(SIM_STATES))
    activated_on = fields.Date(allow_none=True, metadata={"description": "Needed to activate."})
    deactivated_on = fields.Date(allow_none=True, metadata={"description": "Needed to suspend or retire."})
    note = fields.String(validate=ma.validate.Length(max=500))


class SimListArgs(PageArgs):
    carrier = fields.String(load_default=None, validate=ma.validate.OneOf(CARRIERS))
    status = fields.String(load_default=None, validate=ma.validate.OneOf(SIM_STATES))
    plan = fields.Integer(load_default=None, metadata={"description": "Plan id."})
    q = fields.String(load_default=None, metadata={"description": "Part of the ICCID or MSISDN."})


class InstallationRefSchema(ma.Schema):
    truck_id = fields.Id()
    plate = fields.String()
    installed_at = fields.DateTime()
    removed_at = fields.DateTime(allow_none=True)


class AssignmentSchema(ma.Schema):
    id = fields.Id()
    device_id = fields.Id()
    device_serial = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    trucks = fields.List(fields.Nested(InstallationRefSchema),
                            metadata={"description": "Trucks the device was on while it held the SIM."})


class ActivitySchema(ma.Schema):
    id = fields.Id()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)


class SimDetailSchema(SimSchema):
    assignments = fields.List(fields.Nested(AssignmentSchema))
    history = fields.List(fields.Nested(ActivitySchema))


class FileSimStatus(fields.String):
    WORDS = {"库存": "in_stock", "在库": "in_stock", "激活": "active", "在用": "active", "正常": "active",
             "停机": "suspended", "暂停": "suspended", "注销": "retired", "销户": "retired", "报废": "retired"}

    def _deserialize(self, value, attr, data, **kwargs):
        word = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        if word in SIM_STATES:
            return word
        if word in self.WORDS:
            return self.WORDS[word]
        raise ma.ValidationError(_l("Unknown status %(value)r; use one of %(states)s.", value=value, states=", ".join(SIM_STATES)))


class SimImportRowSchema(ma.Schema):
    """One row of a SIM registration file."""

    iccid = fields.String(required=True)
    msisdn = fields.String(required=True)
    carrier = FileCarrier(load_default=None)
    plan = fields.String(required=True, validate=ma.validate.Length(min=1, max=40), metadata={"description": "Plan code."})
    status = FileSimStatus(load_default="in_stock")
    activated_on = FileDate(load_default=None)
    deactivated_on = FileDate(load_default=None)


SIM_ALIASES = {
    "iccid": ["ICCID", "卡号", "SIM卡号"],
    "msisdn": ["MSISDN", "号码", "手机号", "终端手机号", "物联网卡号码"],
    "carrier": ["运营商"],
    "plan": ["plan code", "套餐", "套餐编码"],
    "status": ["状态", "卡状态"],
    "activated_on": ["activated on", "激活日期", "开通日期"],
    "deactivated_on": ["deactivated on", "停用日期", "停机日期"],
}


class RegistryFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "A .csv or .xlsx file, one row each."})


class RegistryImportResultSchema(ma.Schema):
    created = fields.Integer()
    unchanged = fields.Integer()
