"""The PDFs of a published audit report (fpdf2): in Chinese (``pdf``, the regulator's copy) and in English (``pdf_en``).

Both are rendered at publishing from the one frozen content (``audits.report.content``) and stored as files of the
run with their SHA-256: a published run's files never change, so the second language is frozen with the first
rather than made on request. Every word is a message id translated for the file's language (``force_locale``);
county, product and reason names come from ``insurer_dms.labels``. Amounts are CNY with thousands separators and 2
decimals, coefficients 4 decimals; dates read 2025年7月1日 in Chinese and 2025-07-01 in English; times are Beijing
time (Asia/Shanghai).

The font is ``PDF_CJK_FONT`` (default: Debian's Noto Sans CJK collection, package ``fonts-noto-cjk``, which
scripts/serve and scripts/test install); in a collection (.ttc) its Simplified Chinese face. Only the glyphs the
report uses are embedded (a subset of a few tens of kilobytes), and no core font is ever used: when the font is
missing, is not a CJK font, or lacks a character the report prints, ``FontUnavailable`` refuses the publishing
(409) and the run stays a draft, rather than a PDF whose plates print as ``?U2F25C``.
"""
import functools
import os
import struct
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import Conflict
from ..labels import label
from .decomposition import AUTONOMOUS_ROSE, RESIDUAL_OVER_TOLERANCE

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
LANGUAGES = {"pdf": "zh_CN", "pdf_en": "en"}  # file format -> the language it is written in
# A face that cannot print these is no Simplified Chinese font: every province character of a plate, and the title's.
PROBE = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼挂审计报告保费区县"
PATTERNS = {  # dates and times as each language's readers write them
    "zh": {"date": "y年M月d日", "datetime": "y年M月d日 HH:mm"},
    "en": {"date": "yyyy-MM-dd", "datetime": "yyyy-MM-dd HH:mm"},
}
MONEY = "#,##0.00"
# The findings table: (key, width in mm, right-aligned); 273 mm, the width of landscape A4 within the margins.
FINDING_COLUMNS = (
    ("plate", 18, False), ("county", 32, False), ("product", 15, False), ("renewal_start", 20, False),
    ("installed_at", 25, False), ("previous_premium", 18, True), ("premium", 18, True), ("change", 16, True),
    ("previous_autonomous", 13, True), ("autonomous", 13, True), ("autonomous_part", 17, True), ("residual", 17, True),
    ("excess_premium", 17, True), ("reasons", 34, False),
)


class FontUnavailable(Conflict):
    """The PDF cannot be written in the configured font: publishing is refused, the run stays a draft."""


def _finding_headers():
    return {
        "plate": _("Plate"), "county": _("County"), "product": _("Product"), "renewal_start": _("Renewal start"),
        "installed_at": _("Device installed (Beijing time)"), "previous_premium": _("Previous premium"),
        "premium": _("Renewal premium"), "change": _("Premium change"),
        "previous_autonomous": _("Previous A"), "autonomous": _("Renewal A"),
        "autonomous_part": _("Autonomous part"), "residual": _("Unexplained residual"),
        "excess_premium": _("Excess premium"), "reasons": _("Why"),
    }


# ---------------------------------------------------------------- the font


def _face_name(face):
    return face["name"].getDebugName(4) or ""


@functools.lru_cache(maxsize=8)
def _face(path, _mtime_ns, _size):
    """(index in the collection or None, the code points it maps) of the file's Simplified Chinese face, or None.

    Keyed by the file's modification time and size, so a font installed or replaced later is seen.
    """
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        with open(path, "rb") as handle:
            collection = handle.read(4) == b"ttcf"
        faces = TTCollection(path, lazy=True).fonts if collection else [TTFont(path, lazy=True)]
        # In Noto's collection the SC face draws Simplified Chinese; the Mono faces are for code.
        order = sorted(range(len(faces)), key=lambda i: ("CJK SC" not in _face_name(faces[i]),
                                                          "Mono" in _face_name(faces[i]), i))
        for index in order:
            cmap = faces[index].getBestCmap() or {}
            if all(ord(char) in cmap for char in PROBE):
                return (index if collection else None), frozenset(cmap)
    except (OSError, TTLibError, AssertionError, KeyError, IndexError, ValueError, struct.error) as err:
        # not a font fontTools can read (a damaged or foreign file): answered as no font, below
        current_app.logger.warning("PDF font %s cannot be read: %s", path, err)
    return None


def cjk_font():
    """(path, face index or None, code points) of the configured CJK font; FontUnavailable when there is none."""
    path = current_app.config["PDF_CJK_FONT"]
    try:
        stat = os.stat(path)
    except OSError:
        face = None
    else:
        face = _face(path, stat.st_mtime_ns, stat.st_size)
    if face is None:
        current_app.logger.error("no CJK font for the audit PDF at %s (PDF_CJK_FONT)", path)
        raise FontUnavailable(_l("The audit report PDF needs a Chinese (CJK) font and there is none at %(path)s "
                                 "(setting PDF_CJK_FONT): install the Debian package fonts-noto-cjk or point "
                                 "PDF_CJK_FONT at a font with Simplified Chinese. Nothing was published; the audit "
                                 "is still a draft.", path=path))
    return (path, *face)


# ---------------------------------------------------------------- formatting


def _language():
    locale = get_locale()
    return "en" if locale is None or locale.language == "en" else "zh"


def _money(value):
    """CNY with thousands separators and 2 decimals: 3,622.00 (no currency sign: the headers say 元)."""
    if value in (None, ""):
        return ""
    return format_decimal(Decimal(str(value)), MONEY, locale="en")  # the same digits in both languages


def _date(value):
    return format_date(value, PATTERNS[_language()]["date"], locale=get_locale()) if value is not None else ""


def _moment(value):
    """An aware UTC time as Beijing time."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(LOCAL_TZ), PATTERNS[_language()]["datetime"], tzinfo=LOCAL_TZ,
                           locale=get_locale())


def _county(code):
    return f"{code} {label('county', code)}"


def _reasons(reasons):
    return ("；" if _language() == "zh" else "; ").join(label("finding_reason", r) for r in reasons)


# ---------------------------------------------------------------- the document


def render_pdf(report, language="zh_CN"):
    """The report as PDF bytes in ``language`` (zh_CN or en): summary, per county, per product, the cohort
    comparison, the findings. Raises FontUnavailable (nothing rendered) when the font cannot print it."""
    path, index, code_points = cjk_font()
    with force_locale(language):
        return _render(report, path, index, code_points)


def _render(report, font_path, font_index, code_points):
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    def text(value):
        value = "" if value is None else str(value)
        missing = sorted({char for char in value if not char.isspace() and ord(char) not in code_points})
        if missing:
            raise FontUnavailable(_l("The PDF font %(path)s cannot print %(chars)s: nothing was published; the audit "
                                     "is still a draft.", path=font_path, chars=" ".join(missing)))
        return value

    footer_text = text(_("Audit %(id)s, version %(version)s", id=report["id"], version=report["version"]))
    page_text = text(_("Page %(page)s of %(pages)s", page="{page}", pages="{nb}"))  # {nb}: fpdf2's page count

    class ReportPDF(FPDF):
        def footer(self):
            self.set_y(-10)
            self.set_font("report", size=7)
            self.cell(0, 5, text=f"{footer_text} · {page_text.format(page=self.page_no(), nb='{nb}')}", align="C")

    pdf = ReportPDF(orientation="L", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    options = {} if font_index is None else {"collection_font_number": font_index}
    pdf.add_font("report", "", font_path, **options)  # embedded as a subset of the glyphs used

    def table(header, rows, widths, align_right=(), headings=True, size=8):
        pdf.set_font("report", size=size)
        with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", line_height=5, text_align="LEFT",
                       first_row_as_headings=headings,
                       headings_style=FontFace(fill_color=(225, 230, 240))) as grid:
            if header:
                heading_row = grid.row()
                for i, cell in enumerate(header):
                    heading_row.cell(text(cell), align="RIGHT" if i in align_right else "LEFT")
            for values in rows:
                row = grid.row()
                for i, value in enumerate(values):
                    row.cell(text(value), align="RIGHT" if i in align_right else "LEFT")
        pdf.ln(4)

    def heading(title):
        pdf.set_font("report", size=11)
        pdf.cell(0, 8, text=text(title), new_x="LMARGIN", new_y="NEXT")

    def note(words, size=8):
        pdf.set_font("report", size=size)
        # Left-aligned (justified spreads Chinese apart); Chinese has no spaces to break lines at: any character does.
        pdf.multi_cell(0, 4, text=text(words), align="L", wrapmode="CHAR" if _language() == "zh" else "WORD",
                       new_x="LMARGIN", new_y="NEXT")

    title = _("No-premium-increase audit report")
    language = _language()
    pdf.set_title(text(title))
    pdf.set_subject(report["scope"])
    pdf.set_creator("insurer_dms")
    pdf.set_lang("zh-CN" if language == "zh" else "en")
    if report.get("published_moment") is not None:
        pdf.set_creation_date(report["published_moment"])
    pdf.add_page()
    pdf.set_font("report", size=16)
    pdf.cell(0, 10, text=text(title), new_x="LMARGIN", new_y="NEXT")
    note(_("Insurers must not raise a truck's premium because a video monitoring device was installed. This report "
           "compares each renewal on a truck with a device with the policy before it."), size=9)
    pdf.ln(2)

    separator = "、" if language == "zh" else ", "
    counties = separator.join(_county(code) for code in report["counties"]) or _("All")
    by_reason = report["by_reason"]
    table(None, [
        (_("Audit number"), report["id"]),
        (_("Version"), report["version"]),
        (_("Audit period"), _("%(start)s to %(end)s", start=_date(report.get("period_from")),
                                end=_date(report.get("period_to")))),
        (_("Counties"), counties),
        (_("Tolerance for the unexplained residual (CNY)"), _money(report["tolerance"])),
        (_("Renewals audited"), report["renewals_audited"]),
        (_("Number of findings"), report["findings_count"]),
        (_("Excess premium total (CNY)"), _money(report["excess_total"])),
        (_("Of the findings: %(reason)s", reason=label("finding_reason", AUTONOMOUS_ROSE)),
         by_reason.get(AUTONOMOUS_ROSE, 0)),
        (_("Of the findings: %(reason)s", reason=label("finding_reason", RESIDUAL_OVER_TOLERANCE)),
         by_reason.get(RESIDUAL_OVER_TOLERANCE, 0)),
        (_("Published (Beijing time)"), _moment(report.get("published_moment"))),
        (_("SHA-256 of the inputs"), report["inputs_sha256"] or ""),
    ], (80, 140), headings=False)

    groups = (_("Renewals audited"), _("Number of findings"), _("Excess premium (CNY)"))
    heading(_("By county"))
    table((_("County code"), _("County"), *groups),
          [(row["code"], label("county", row["code"]), row["renewals"], row["findings"], _money(row["excess"]))
           for row in report["by_county"]], (25, 65, 35, 30, 40), (2, 3, 4))
    heading(_("By product"))
    table((_("Product"), *groups),
          [(label("policy_kind", row["code"]), row["renewals"], row["findings"], _money(row["excess"]))
           for row in report["by_product"]], (90, 35, 30, 40), (1, 2, 3))

    heading(_("Cohort comparison"))
    note(_("Renewals in the same period on heavy trucks with a device installed before the renewal, and on heavy "
           "trucks without a device."))
    pdf.ln(1)
    cohort = report["cohort"]
    sides = (("with_device", _("With a device")), ("without_device", _("Heavy trucks without a device")))
    rows = [(name, cohort[key]["renewals"], cohort[key]["autonomous_rose"],
             cohort[key]["mean_autonomous_change"] or "—") for key, name in sides if key in cohort]
    if cohort:
        rows.append((_("Difference (with minus without)"), "", "", cohort.get("difference") or "—"))
    table((_("Group"), _("Renewals"), _("Autonomous coefficient rose"), _("Mean change of the autonomous coefficient")),
          rows, (90, 35, 45, 50), (1, 2, 3))

    pdf.add_page()
    heading(_("Findings (%(count)s)", count=report["findings_count"]))
    if report["findings"]:
        note(_("Amounts in CNY (yuan)."))
        pdf.ln(1)
        headers = _finding_headers()
        rows = []
        for finding in report["findings"]:
            shown = {**finding, "county": _county(finding["county_code"]),
                     "product": label("policy_kind", finding["product"]),
                     "renewal_start": _date(finding.get("renewal_start_date")),
                     "installed_at": _moment(finding.get("installed_moment")),
                     "reasons": _reasons(finding["reasons"])}
            for key in ("previous_premium", "premium", "change", "autonomous_part", "residual", "excess_premium"):
                shown[key] = _money(finding[key])
            rows.append([shown[key] for key, _width, _right in FINDING_COLUMNS])
        table([headers[key] for key, _width, _right in FINDING_COLUMNS], rows, [c[1] for c in FINDING_COLUMNS],
              [i for i, c in enumerate(FINDING_COLUMNS) if c[2]], size=7)
    else:
        note(_("No findings: no renewal after an installation raised the premium unexplained."), size=9)
    pdf.ln(2)
    note(_("Premium change = benchmark part + NCD part + violation part + autonomous part + unexplained residual, the "
           "factors taken in a fixed order. A = the autonomous pricing coefficient. A renewal is a finding when its "
           "autonomous pricing coefficient rose, or when its unexplained residual is above the tolerance; its excess "
           "premium is the autonomous part when the coefficient rose, plus the residual when it is above the "
           "tolerance."), size=7)
    return bytes(pdf.output())


def rendered_pdfs(report):
    """{file format: PDF bytes} of every language, the font checked once before anything is rendered."""
    cjk_font()
    return {file_format: render_pdf(report, language) for file_format, language in LANGUAGES.items()}
