"""A published audit's report: its content frozen at publishing, rendered to CSV and XLSX (the PDFs: report_pdf).

The CSV and XLSX are bilingual, Chinese first (``中文 / English`` in every header and label, sheets named in
Chinese), so that one frozen file serves the regulator, the insurer and an integrator alike; amounts are CNY with 2
decimals, coefficients with 4, times in Asia/Shanghai. Every cell goes through ``insurer_dms.exports`` when the
files are made at publishing (a policy number that looks like a formula is text).
"""
from decimal import Decimal

from ..exports import Heading, Sheet, csv_bytes, xlsx_bytes
from ..times import local_time
from .decomposition import AUTONOMOUS_ROSE, RESIDUAL_OVER_TOLERANCE, policy_figures

TITLE = ("No-premium-increase audit report", "不因安装设备上调保费审计报告")
COUNTY_NAMES = {
    "445100": ("Chaozhou (city)", "潮州市"),
    "445102": ("Xiangqiao (incl. Fengxi)", "湘桥区（含枫溪区）"),
    "445103": ("Chao'an", "潮安区"),
    "445122": ("Raoping", "饶平县"),
}
PRODUCTS = {"commercial": ("Commercial", "商业险"), "compulsory": ("Compulsory", "交强险")}
REASONS = {AUTONOMOUS_ROSE: ("Autonomous coefficient rose", "自主定价系数上调"),
           RESIDUAL_OVER_TOLERANCE: ("Unexplained residual over the tolerance", "未解释差额超出容差")}
COUNTY_TABLE = (("County code", "区县代码"), ("County", "区县"), ("Renewals audited", "审计续保数"),
                ("Findings", "审计发现数"), ("Excess premium (CNY)", "超额保费（元）"))
PRODUCT_TABLE = (("Product", "险种"), ("Renewals audited", "审计续保数"), ("Findings", "审计发现数"),
                 ("Excess premium (CNY)", "超额保费（元）"))
COHORT_TABLE = (("Group", "组别"), ("Renewals", "续保数"), ("Autonomous coefficient rose", "自主定价系数上调数"),
                ("Mean change of the autonomous coefficient", "自主定价系数平均变化"))
COHORT_GROUPS = {"with_device": ("With a device", "已安装设备"),
                 "without_device": ("Heavy trucks without a device", "未安装设备的重型货车"),
                 "difference": ("Difference (with - without)", "差值（有设备 - 无设备）")}
# (label, key in a findings row, kind: text | money | coefficient)
FINDING_COLUMNS = (
    (("Plate", "车牌号码"), "plate", "text"),
    (("County code", "区县代码"), "county_code", "text"),
    (("County", "区县"), "county", "text"),
    (("Product", "险种"), "product_label", "text"),
    (("Renewal policy", "续保保单号"), "policy_number", "text"),
    (("Renewal start", "起保日期"), "renewal_start", "text"),
    (("Previous policy", "上期保单号"), "previous_policy_number", "text"),
    (("Device installed", "设备安装时间"), "installed_at", "text"),
    (("Previous benchmark premium", "上期基准保费"), "previous_benchmark", "money"),
    (("Previous NCD", "上期NCD系数"), "previous_ncd", "coefficient"),
    (("Previous violation coefficient", "上期交通违法系数"), "previous_violation", "coefficient"),
    (("Previous autonomous coefficient", "上期自主定价系数"), "previous_autonomous", "coefficient"),
    (("Benchmark premium", "基准保费"), "benchmark", "money"),
    (("NCD", "NCD系数"), "ncd", "coefficient"),
    (("Violation coefficient", "交通违法系数"), "violation", "coefficient"),
    (("Autonomous coefficient", "自主定价系数"), "autonomous", "coefficient"),
    (("Previous premium", "上期保费"), "previous_premium", "money"),
    (("Premium", "保费"), "premium", "money"),
    (("Change", "保费变化"), "change", "money"),
    (("Benchmark part", "基准保费影响"), "benchmark_part", "money"),
    (("NCD part", "NCD影响"), "ncd_part", "money"),
    (("Violation part", "交通违法影响"), "violation_part", "money"),
    (("Autonomous part", "自主定价影响"), "autonomous_part", "money"),
    (("Residual", "未解释差额"), "residual", "money"),
    (("Excess premium", "超额保费"), "excess_premium", "money"),
    (("Reasons", "原因"), "reasons_label", "text"),
)


def both(pair):
    """``中文 / English`` of an ``(English, 中文)`` pair: Chinese first, for the regulator's readers."""
    return f"{pair[1]} / {pair[0]}"


def county_label(code, languages=2):
    names = COUNTY_NAMES.get(code, (code, code))
    return names[0] if languages == 1 else both(names)


def _finding(finding):
    previous, current = policy_figures(finding.previous_policy), policy_figures(finding.policy)
    return {
        "plate": finding.truck.plate, "county_code": finding.county_code, "county": county_label(finding.county_code),
        "county_en": county_label(finding.county_code, 1), "product": finding.product,
        "product_label": both(PRODUCTS.get(finding.product, (finding.product, finding.product))),
        "product_en": PRODUCTS.get(finding.product, (finding.product,))[0],
        "policy_number": finding.policy.number, "renewal_start": finding.renewal_start.isoformat(),
        "renewal_start_date": finding.renewal_start, "installed_moment": finding.installed_at,
        "previous_policy_number": finding.previous_policy.number, "installed_at": local_time(finding.installed_at),
        "previous_benchmark": previous["benchmark_premium"], "previous_ncd": previous["ncd_coefficient"],
        "previous_violation": previous["violation_coefficient"], "previous_autonomous": previous["autonomous_coefficient"],
        "benchmark": current["benchmark_premium"], "ncd": current["ncd_coefficient"],
        "violation": current["violation_coefficient"], "autonomous": current["autonomous_coefficient"],
        "previous_premium": finding.previous_premium, "premium": finding.premium, "change": finding.change,
        "benchmark_part": finding.benchmark_part, "ncd_part": finding.ncd_part, "violation_part": finding.violation_part,
        "autonomous_part": finding.autonomous_part, "residual": finding.residual, "excess_premium": finding.excess_premium,
        "reasons": list(finding.reasons), "reasons_label": "; ".join(both(REASONS[r]) for r in finding.reasons),
    }


def content(audit, findings):
    """What every file of a published run shows: the run, its summary, each finding with both policies' figures."""
    summary = audit.summary or {}
    return {
        "id": audit.id, "version": audit.version, "scope": audit.scope,
        "period": f"{audit.period_from.isoformat()} .. {audit.period_to.isoformat()}",
        "period_from": audit.period_from, "period_to": audit.period_to,
        "counties": list(audit.counties or []), "tolerance": audit.tolerance,
        "published_at": local_time(audit.published_at), "published_moment": audit.published_at,
        "inputs_sha256": audit.inputs_sha256,
        "renewals_audited": audit.renewals_audited, "findings_count": audit.findings_count,
        "excess_total": audit.excess_total, "by_reason": summary.get("by_reason", {}),
        "by_county": summary.get("by_county", []), "by_product": summary.get("by_product", []),
        "cohort": summary.get("cohort", {}), "findings": [_finding(f) for f in findings],
    }


def summary_rows(report, languages=2):
    """(label, value) rows of the report's head."""
    pick = both if languages == 2 else (lambda pair: pair[0])
    counties = ", ".join(f"{c} {county_label(c, languages)}" for c in report["counties"]) or pick(("All", "全部"))
    return [
        (pick(("Audit", "审计编号")), report["id"]),
        (pick(("Version", "版本")), report["version"]),
        (pick(("Period", "审计期间")), report["period"]),
        (pick(("Counties", "区县")), counties),
        (pick(("Residual tolerance (CNY)", "未解释差额容差（元）")), report["tolerance"]),
        (pick(("Renewals audited", "审计续保数")), report["renewals_audited"]),
        (pick(("Findings", "审计发现数")), report["findings_count"]),
        (pick(("Excess premium total (CNY)", "超额保费合计（元）")), report["excess_total"]),
        (pick(REASONS[AUTONOMOUS_ROSE]), report["by_reason"].get(AUTONOMOUS_ROSE, 0)),
        (pick(REASONS[RESIDUAL_OVER_TOLERANCE]), report["by_reason"].get(RESIDUAL_OVER_TOLERANCE, 0)),
        (pick(("Published (Asia/Shanghai)", "发布时间（北京时间）")), report["published_at"]),
        (pick(("Inputs SHA-256", "输入数据SHA-256")), report["inputs_sha256"]),
    ]


def county_rows(report, languages=2):
    return [[row["code"], county_label(row["code"], languages), row["renewals"], row["findings"], row["excess"]]
            for row in report["by_county"]]


def product_rows(report, languages=2):
    pick = both if languages == 2 else (lambda pair: pair[0])
    return [[pick(PRODUCTS.get(row["code"], (row["code"], row["code"]))), row["renewals"], row["findings"], row["excess"]]
            for row in report["by_product"]]


def cohort_rows(report, languages=2):
    pick = both if languages == 2 else (lambda pair: pair[0])
    cohort = report["cohort"]
    rows = [[pick(COHORT_GROUPS[side]), cohort[side]["renewals"], cohort[side]["autonomous_rose"],
             cohort[side]["mean_autonomous_change"] or ""] for side in ("with_device", "without_device") if side in cohort]
    if cohort:
        rows.append([pick(COHORT_GROUPS["difference"]), "", "", cohort.get("difference") or ""])
    return rows


# ---------------------------------------------------------------- CSV


def _number(text):
    """A summary figure (stored as text in the run's JSON summary) as the Decimal it is; None when absent."""
    return None if text in (None, "") else Decimal(str(text))


def _typed(rows):
    """The rows of a summary table with their last figure (an amount or a mean) as a Decimal."""
    return [row[:-1] + [_number(row[-1])] for row in rows]


def render_csv(report):
    """The report as one CSV (UTF-8 with BOM, for Excel): the summary, the tables, then every finding."""
    rows = [[both(TITLE)], *summary_rows(report)]
    for title, header, table in (
        (("Per county", "分区县"), COUNTY_TABLE, county_rows(report)),
        (("Per product", "分险种"), PRODUCT_TABLE, product_rows(report)),
        (("Cohort comparison", "对照组比较"), COHORT_TABLE, cohort_rows(report)),
    ):
        rows += [[], [both(title)], [both(label) for label in header], *_typed(table)]
    rows += [[], [both(("Findings", "审计发现"))], [both(label) for label, _key, _kind in FINDING_COLUMNS]]
    rows += [[finding[key] for _label, key, _kind in FINDING_COLUMNS] for finding in report["findings"]]
    return csv_bytes(rows)


# ---------------------------------------------------------------- XLSX


NUMBER_FORMATS = {"money": "0.00", "coefficient": "0.0000"}
SHEETS = {"summary": "汇总", "findings": "审计发现", "cohort": "对照组"}


def render_xlsx(report):
    """The report as a workbook with the sheets Summary, Findings and Cohort."""
    summary = [Heading([both(TITLE)], size=14), *[[label, value] for label, value in summary_rows(report)]]
    for title, header, rows in (
        (("Per county", "分区县"), COUNTY_TABLE, county_rows(report)),
        (("Per product", "分险种"), PRODUCT_TABLE, product_rows(report)),
    ):
        summary += [[], [both(title)], Heading([both(label) for label in header]), *_typed(rows)]
    findings = [Heading([both(label) for label, _key, _kind in FINDING_COLUMNS])]
    findings += [[finding[key] for _label, key, _kind in FINDING_COLUMNS] for finding in report["findings"]]
    cohort = [Heading([both(label) for label in COHORT_TABLE]), *_typed(cohort_rows(report))]
    formats = {i: NUMBER_FORMATS[kind] for i, (_label, _key, kind) in enumerate(FINDING_COLUMNS) if kind in NUMBER_FORMATS}
    return xlsx_bytes([
        Sheet(SHEETS["summary"], summary, widths={"A": 44, "B": 30}),
        Sheet(SHEETS["findings"], findings, freeze="B2", formats=formats),
        Sheet(SHEETS["cohort"], cohort, decimal_format="0.0000", widths={"A": 44}),
    ])
