"""Marshmallow schemas of audit runs, their findings and files: validation, output and OpenAPI."""
import marshmallow as ma
from flask_babel import lazy_gettext as _l

from .. import fields
from ..fleet.identifiers import CountyCodeField
from ..fleet.models import POLICY_KINDS
from ..paging import PageArgs
from .models import AUDIT_STATES, FILE_FORMATS, FINDING_REASONS


Money = fields.SignedMoney  # premium changes and their parts may be negative


def Coefficient(**kw):
    return fields.Decimal(4, minimum=0, maximum=fields.COEFFICIENT_MAX, **kw)


class AuditCreateSchema(ma.Schema):
    period_from = fields.Date(required=True, metadata={"description": "First day of the audited period"})
    period_to = fields.Date(required=True, metadata={"description": "Last day of the audited period (inclusive)"})
    counties = fields.List(CountyCodeField(), load_default=None, allow_none=True,
                              metadata={"description": "GB/T 2260 county codes of the trucks to audit; none: every county"})

    @ma.validates_schema
    def _period_ordered(self, data, **kwargs):
        if data["period_to"] < data["period_from"]:
            raise ma.ValidationError(_l("The period must end on or after its first day."), "period_to")


class AuditFileSchema(ma.Schema):
    format = fields.String(metadata={"description": ", ".join(FILE_FORMATS)
                                     + " (pdf: the report in Chinese; pdf_en: in English)"})
    sha256 = fields.String(metadata={"description": "SHA-256 of the stored file (hex)"})
    size_bytes = fields.Integer()
    created_at = fields.DateTime()


class AuditGroupSchema(ma.Schema):
    code = fields.String(metadata={"description": "county code or product"})
    renewals = fields.Integer(metadata={"description": "renewals audited (with a device)"})
    findings = fields.Integer()
    excess = fields.String(metadata={"description": "excess premium, CNY"})


class AuditCohortSideSchema(ma.Schema):
    renewals = fields.Integer()
    autonomous_rose = fields.Integer(metadata={"description": "renewals whose autonomous coefficient rose"})
    mean_autonomous_change = fields.String(allow_none=True, metadata={"description": "mean of A1 - A0, 4 decimals"})


class AuditCohortSchema(ma.Schema):
    with_device = fields.Nested(AuditCohortSideSchema)
    without_device = fields.Nested(AuditCohortSideSchema, metadata={"description": "heavy trucks without a device"})
    difference = fields.String(allow_none=True, metadata={"description": "mean change with minus without a device"})


class AuditSummarySchema(ma.Schema):
    renewals_audited = fields.Integer()
    findings = fields.Integer()
    excess_total = fields.String()
    by_reason = fields.Dict(keys=fields.String(), values=fields.Integer(),
                               metadata={"description": ", ".join(FINDING_REASONS)})
    by_county = fields.List(fields.Nested(AuditGroupSchema))
    by_product = fields.List(fields.Nested(AuditGroupSchema))
    cohort = fields.Nested(AuditCohortSchema)


class AuditSchema(ma.Schema):
    id = fields.Id()
    scope = fields.String(metadata={"description": "the period and counties; runs of one scope are its versions"})
    version = fields.Integer()
    period_from = fields.Date()
    period_to = fields.Date()
    counties = fields.List(fields.String(), allow_none=True)
    tolerance = Money(metadata={"description": "residual tolerance in CNY when the run was made"})
    status = fields.String(metadata={"description": ", ".join(AUDIT_STATES)})
    progress = fields.Integer()
    error = fields.String(allow_none=True, metadata={"description": "why the run failed"})
    renewals_audited = fields.Integer()
    findings_count = fields.Integer()
    excess_total = Money()
    summary = fields.Nested(AuditSummarySchema, allow_none=True)
    inputs_sha256 = fields.String(allow_none=True, metadata={"description": "SHA-256 of the canonical inputs (policies, installations)"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    files = fields.List(fields.Nested(AuditFileSchema))


class AuditArgs(PageArgs):
    status = fields.String(validate=ma.validate.OneOf(AUDIT_STATES))


class AuditFindingArgs(PageArgs):
    county_code = fields.String(load_default=None)
    product = fields.String(load_default=None, validate=ma.validate.OneOf(POLICY_KINDS))


class AuditFindingSchema(ma.Schema):
    id = fields.Id()
    audit_id = fields.Id()
    truck_id = fields.Id()
    plate = fields.String()
    operator_id = fields.Id()
    county_code = fields.String()
    product = fields.String(metadata={"description": ", ".join(POLICY_KINDS)})
    policy_id = fields.Id()
    policy_number = fields.String()
    previous_policy_id = fields.Id()
    previous_policy_number = fields.String()
    renewal_start = fields.Date()
    installed_at = fields.DateTime(metadata={"description": "the truck's first device installation"})
    previous_premium = Money()
    premium = Money()
    change = Money(metadata={"description": "benchmark + ncd + violation + autonomous parts + residual"})
    benchmark_part = Money()
    ncd_part = Money()
    violation_part = Money()
    autonomous_part = Money()
    residual = Money(metadata={"description": "the change the premium formula does not explain"})
    excess_premium = Money(metadata={"description": "autonomous part (if it rose) + residual (if over the tolerance)"})
    reasons = fields.List(fields.String(), metadata={"description": ", ".join(FINDING_REASONS)})


class AuditPolicyFiguresSchema(ma.Schema):
    id = fields.Id()
    number = fields.String()
    kind = fields.String()
    start_date = fields.Date()
    end_date = fields.Date()
    premium = Money()
    benchmark_premium = Money()
    ncd_coefficient = Coefficient()
    violation_coefficient = Coefficient()
    autonomous_coefficient = Coefficient()
    formula_premium = Money(metadata={"description": "benchmark x NCD x violation x autonomous, to the cent"})
    unexplained = Money(metadata={"description": "premium - formula premium, to the cent"})


class AuditFindingDetailSchema(AuditFindingSchema):
    previous_policy = fields.Nested(AuditPolicyFiguresSchema)
    policy = fields.Nested(AuditPolicyFiguresSchema)
    changed_since_audit = fields.Boolean(metadata={"description": "a policy's premium was changed after the run"})
