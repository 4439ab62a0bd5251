"""Marshmallow schemas of audit runs, their findings and files: validation, output and OpenAPI."""
import marshmallow as ma
from flask_babel import lazy_gettext as _l

from ..fleet.identifiers import CountyCodeField
from ..fleet.models import POLICY_KINDS
from ..paging import PageArgs
from .models import AUDIT_STATES, FILE_FORMATS, FINDING_REASONS


def Money(**kw):
    return ma.fields.Decimal(as_string=True, places=2, **kw)


def Coefficient(**kw):
    return ma.fields.Decimal(as_string=True, places=4, **kw)


class AuditCreateSchema(ma.Schema):
    period_from = ma.fields.Date(required=True, metadata={"description": "First day of the audited period"})
    period_to = ma.fields.Date(required=True, metadata={"description": "Last day of the audited period (inclusive)"})
    counties = ma.fields.List(CountyCodeField(), load_default=None, allow_none=True,
                              metadata={"description": "GB/T 2260 county codes of the trucks to audit; none: every county"})

    @ma.validates_schema
    def _period_ordered(self, data, **kwargs):
        if data["period_to"] < data["period_from"]:
            raise ma.ValidationError(_l("The period must end on or after its first day."), "period_to")


class AuditFileSchema(ma.Schema):
    format = ma.fields.String(metadata={"description": ", ".join(FILE_FORMATS)})
    sha256 = ma.fields.String(metadata={"description": "SHA-256 of the stored file (hex)"})
    size_bytes = ma.fields.Integer()
    created_at = ma.fields.DateTime()


class AuditGroupSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "county code or product"})
    renewals = ma.fields.Integer(metadata={"description": "renewals audited (with a device)"})
    findings = ma.fields.Integer()
    excess = ma.fields.String(metadata={"description": "excess premium, CNY"})


class AuditCohortSideSchema(ma.Schema):
    renewals = ma.fields.Integer()
    autonomous_rose = ma.fields.Integer(metadata={"description": "renewals whose autonomous coefficient rose"})
    mean_autonomous_change = ma.fields.String(allow_none=True, metadata={"description": "mean of A1 - A0, 4 decimals"})


class AuditCohortSchema(ma.Schema):
    with_device = ma.fields.Nested(AuditCohortSideSchema)
    without_device = ma.fields.Nested(AuditCohortSideSchema, metadata={"description": "heavy trucks without a device"})
    difference = ma.fields.String(allow_none=True, metadata={"description": "mean change with minus without a device"})


class AuditSummarySchema(ma.Schema):
    renewals_audited = ma.fields.Integer()
    findings = ma.fields.Integer()
    excess_total = ma.fields.String()
    by_reason = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                               metadata={"description": ", ".join(FINDING_REASONS)})
    by_county = ma.fields.List(ma.fields.Nested(AuditGroupSchema))
    by_product = ma.fields.List(ma.fields.Nested(AuditGroupSchema))
    cohort = ma.fields.Nested(AuditCohortSchema)


class AuditSchema(ma.Schema):
    id = ma.fields.Integer()
    scope = ma.fields.String(metadata={"description": "the period and counties; runs of one scope are its versions"})
    version = ma.fields.Integer()
    period_from = ma.fields.Date()
    period_to = ma.fields.Date()
    counties = ma.fields.List(ma.fields.String(), allow_none=True)
    tolerance = Money(metadata={"description": "residual tolerance in CNY when the run was made"})
    status = ma.fields.String(metadata={"description": ", ".join(AUDIT_STATES)})
    progress = ma.fields.Integer()
    error = ma.fields.String(allow_none=True, metadata={"description": "why the run failed"})
    renewals_audited = ma.fields.Integer()
    findings_count = ma.fields.Integer()
    excess_total = Money()
    summary = ma.fields.Nested(AuditSummarySchema, allow_none=True)
    inputs_sha256 = ma.fields.String(allow_none=True, metadata={"description": "SHA-256 of the canonical inputs (policies, installations)"})
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    published_at = ma.fields.DateTime(allow_none=True)
    files = ma.fields.List(ma.fields.Nested(AuditFileSchema))


class AuditArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(AUDIT_STATES))


class AuditFindingArgs(PageArgs):
    county_code = ma.fields.String(load_default=None)
    product = ma.fields.String(load_default=None, validate=ma.validate.OneOf(POLICY_KINDS))


class AuditFindingSchema(ma.Schema):
    id = ma.fields.Integer()
    audit_id = ma.fields.Integer()
    truck_id = ma.fields.Integer()
    plate = ma.fields.String()
    operator_id = ma.fields.Integer()
    county_code = ma.fields.String()
    product = ma.fields.String(metadata={"description": ", ".join(POLICY_KINDS)})
    policy_id = ma.fields.Integer()
    policy_number = ma.fields.String()
    previous_policy_id = ma.fields.Integer()
    previous_policy_number = ma.fields.String()
    renewal_start = ma.fields.Date()
    installed_at = ma.fields.DateTime(metadata={"description": "the truck's first device installation"})
    previous_premium = Money()
    premium = Money()
    change = Money(metadata={"description": "benchmark + ncd + violation + autonomous parts + residual"})
    benchmark_part = Money()
    ncd_part = Money()
    violation_part = Money()
    autonomous_part = Money()
    residual = Money(metadata={"description": "the change the premium formula does not explain"})
    excess_premium = Money(metadata={"description": "autonomous part (if it rose) + residual (if over the tolerance)"})
    reasons = ma.fields.List(ma.fields.String(), metadata={"description": ", ".join(FINDING_REASONS)})


class AuditPolicyFiguresSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    kind = ma.fields.String()
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    premium = Money()
    benchmark_premium = Money()
    ncd_coefficient = Coefficient()
    violation_coefficient = Coefficient()
    autonomous_coefficient = Coefficient()
    formula_premium = Money(metadata={"description": "benchmark x NCD x violation x autonomous, to the cent"})
    unexplained = Money(metadata={"description": "premium - formula premium, to the cent"})


class AuditFindingDetailSchema(AuditFindingSchema):
    previous_policy = ma.fields.Nested(AuditPolicyFiguresSchema)
    policy = ma.fields.Nested(AuditPolicyFiguresSchema)
    changed_since_audit = ma.fields.Boolean(metadata={"description": "a policy's premium was changed after the run"})
