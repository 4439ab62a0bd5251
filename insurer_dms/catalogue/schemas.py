"""Catalogue schemas: entries, list filters, withdrawal, import rows and history."""
import datetime as dt
import re

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_smorest.fields import Upload

from .. import fields
from ..paging import PageArgs
from ..validation_messages import N_
from ..validity import check_validity
from .models import DEVICE_TYPES

CAPABILITIES = ("adas", "dsm", "bsd", "jtt808", "jtt1078", "gd_active_safety")


class CatalogueEntrySchema(ma.Schema):
    """A catalogue entry; also the body of POST /api/catalogue."""

    id = fields.Id(dump_only=True)
    tender_batch = fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    lot = fields.String(required=True, validate=ma.validate.Length(min=1, max=30))
    manufacturer = fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    model_code = fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    device_type = fields.String(required=True, validate=ma.validate.OneOf(DEVICE_TYPES))
    adas = fields.Boolean(load_default=False, metadata={"description": "Forward ADAS camera."})
    dsm = fields.Boolean(load_default=False, metadata={"description": "Driver-state monitoring camera."})
    bsd = fields.Boolean(load_default=False, metadata={"description": "Blind-spot detection."})
    video_channels = fields.Integer(required=True, validate=ma.validate.Range(min=0, max=64))
    jtt808 = fields.Boolean(load_default=False, metadata={"description": "Meets JT/T 808."})
    jtt1078 = fields.Boolean(load_default=False, metadata={"description": "Meets JT/T 1078."})
    gd_active_safety = fields.Boolean(load_default=False, metadata={"description": "Meets the Guangdong active-safety standard."})
    bid_unit_price = fields.Money(required=True, metadata={"description": "Bid unit price in CNY."})
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    withdrawn_on = fields.Date(load_default=None, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    label = fields.String(dump_only=True)

    @ma.validates_schema
    def _validity_ordered(self, data, **kwargs):
        check_validity(data)


class CatalogueEntryPatchSchema(CatalogueEntrySchema):
    """Changes to an entry (any subset of fields); withdrawal has its own endpoint."""

    class Meta:
        exclude = ("withdrawn_on",)

    tender_batch = fields.String(validate=ma.validate.Length(min=1, max=60))
    lot = fields.String(validate=ma.validate.Length(min=1, max=30))
    manufacturer = fields.String(validate=ma.validate.Length(min=1, max=200))
    model_code = fields.String(validate=ma.validate.Length(min=1, max=100))
    device_type = fields.String(validate=ma.validate.OneOf(DEVICE_TYPES))
    adas = fields.Boolean()
    dsm = fields.Boolean()
    bsd = fields.Boolean()
    video_channels = fields.Integer(validate=ma.validate.Range(min=0, max=64))
    jtt808 = fields.Boolean()
    jtt1078 = fields.Boolean()
    gd_active_safety = fields.Boolean()
    bid_unit_price = fields.Money()
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)


class CatalogueListArgs(PageArgs):
    q = fields.String(load_default=None, metadata={"description": "Search in manufacturer, model code and tender batch."})
    manufacturer = fields.String(load_default=None, metadata={"description": "Exact manufacturer."})
    device_type = fields.String(load_default=None, validate=ma.validate.OneOf(DEVICE_TYPES))
    usable_on = fields.Date(load_default=None, metadata={"description": "Only entries that may be bought on this day."})
    include_withdrawn = fields.Boolean(load_default=True)


class CatalogueWithdrawSchema(ma.Schema):
    withdrawn_on = fields.Date(required=True)


class CatalogueImportFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "A .csv or .xlsx file, one entry per row."})


class CatalogueImportResultSchema(ma.Schema):
    created = fields.Integer()
    unchanged = fields.Integer()


class CatalogueHistorySchema(ma.Schema):
    """One activity entry about a catalogue entry."""

    id = fields.Id()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)


# ---- file import: cells are text written by people in Excel -------------------------------------------

TRUE_WORDS = {"1", "yes", "y", "true", "t", "是", "有", "✓", "✔", "√"}
FALSE_WORDS = {"0", "no", "n", "false", "f", "否", "无", "✗", "✘", "×", "-"}
DEVICE_TYPE_WORDS = {
    "all_in_one": "all_in_one", "all-in-one": "all_in_one", "allinone": "all_in_one", "一体机": "all_in_one",
    "split": "split", "分体机": "split", "分体": "split", "一体": "all_in_one",
}


class FileBoolean(fields.Field):
    """1/0, yes/no, true/false, Y/N, 是/否, ✓."""

    default_error_messages = {"invalid": N_("Not a yes/no value (use 1/0, yes/no, true/false, Y/N, 是/否 or ✓).")}

    def _deserialize(self, value, attr, data, **kwargs):
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise self.make_error("invalid")


class FileDate(fields.Date):
    """ISO dates, and 2021/3/1, 2021.3.1, 2021年3月1日 as typed in Chinese spreadsheets."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?", text)
        if match:
            try:
                day = dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                raise self.make_error("invalid") from None
            return fields.within_window(day)
        return super()._deserialize(value, attr, data, **kwargs)


class FileMoney(fields.Money):
    """A price cell: tolerates the yuan sign and thousands separators."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
        if text.endswith("元"):
            text = text[:-1].strip()
        return super()._deserialize(text, attr, data, **kwargs)


class FileDeviceType(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        word = str(value).strip().lower()
        if word in DEVICE_TYPE_WORDS:
            return DEVICE_TYPE_WORDS[word]
        raise ma.ValidationError(_l("Must be one of: %(choices)s (or 一体机/分体机).", choices=", ".join(DEVICE_TYPES)))


class CatalogueImportRowSchema(ma.Schema):
    """One row of a catalogue file."""

    tender_batch = fields.String(required=True, validate=ma.validate.Length(min=1, max=60))
    lot = fields.String(required=True, validate=ma.validate.Length(min=1, max=30))
    manufacturer = fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    model_code = fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    device_type = FileDeviceType(required=True)
    adas = FileBoolean(load_default=False)
    dsm = FileBoolean(load_default=False)
    bsd = FileBoolean(load_default=False)
    video_channels = fields.Integer(required=True, validate=ma.validate.Range(min=0, max=64))
    jtt808 = FileBoolean(load_default=False)
    jtt1078 = FileBoolean(load_default=False)
    gd_active_safety = FileBoolean(load_default=False)
    bid_unit_price = FileMoney(required=True)
    valid_from = FileDate(required=True)
    valid_to = FileDate(load_default=None)
    withdrawn_on = FileDate(load_default=None)

    @ma.validates_schema
    def _validity_ordered(self, data, **kwargs):
        check_validity(data)


# Header names accepted for each field (matched ignoring case and spaces).
IMPORT_ALIASES = {
    "tender_batch": ["tender batch", "batch", "招标批次", "批次", "中标批次"],
    "lot": ["lot", "lot no", "标包", "包号", "标段", "包件"],
    "manufacturer": ["manufacturer", "maker", "生产厂家", "厂家", "生产企业", "制造商"],
    "model_code": ["model", "model code", "设备型号", "型号", "产品型号"],
    "device_type": ["device type", "type", "设备类型", "类型", "产品类型"],
    "adas": ["ADAS", "高级驾驶辅助", "ADAS功能"],
    "dsm": ["DSM", "驾驶员状态监测", "DSM功能"],
    "bsd": ["BSD", "盲区监测", "BSD功能"],
    "video_channels": ["video channels", "channels", "视频通道数", "通道数", "视频路数"],
    "jtt808": ["JT/T 808", "JTT808", "JT808", "符合JT/T 808"],
    "jtt1078": ["JT/T 1078", "JTT1078", "JT1078", "符合JT/T 1078"],
    "gd_active_safety": ["Guangdong active safety", "GD active safety", "广东主动安全", "广东省主动安全标准", "粤标"],
    "bid_unit_price": ["bid unit price", "bid price", "unit price", "中标单价(元)", "中标单价（元）", "中标单价", "单价"],
    "valid_from": ["valid from", "有效期起", "有效期开始", "生效日期"],
    "valid_to": ["valid to", "valid until", "有效期止", "有效期至", "截止日期"],
    "withdrawn_on": ["withdrawn on", "withdrawn", "撤销日期", "撤回日期"],
}
