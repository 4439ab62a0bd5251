"""The PDF of a published audit report (fpdf2): English labels, county codes with their names.

With a CJK font installed (Debian's fonts-noto-cjk: Noto Sans CJK SC) the title, the Chinese county names and the
plates are printed as they are, the font subset embedded. Without one the PDF uses a core font: English only, and
characters it cannot show (the plate's province character) print as ``?``; the CSV and XLSX carry them exactly.
"""
import functools
import os

from .report import COUNTY_NAMES, TITLE, cohort_rows, county_rows, product_rows, summary_rows

FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu (fonts-noto-cjk)
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
)
FINDING_COLUMNS = (  # (label, key, width in mm, right-aligned): 273 mm, the width of landscape A4 within margins
    ("Plate", "plate", 20, False), ("County", "county_pdf", 37, False), ("Product", "product_en", 21, False),
    ("Start", "renewal_start", 18, False), ("Installed", "installed_at", 24, False),
    ("Prev. premium", "previous_premium", 20, True), ("Premium", "premium", 19, True), ("Change", "change", 17, True),
    ("Prev. A", "previous_autonomous", 12, True), ("A", "autonomous", 12, True),
    ("Autonomous part", "autonomous_part", 19, True), ("Residual", "residual", 16, True),
    ("Excess", "excess_premium", 17, True), ("Reasons", "reasons_short", 21, False),
)
SHORT_REASONS = {"autonomous_rose": "A rose", "residual_over_tolerance": "residual"}


@functools.cache
def cjk_font():
    """(path, index in the collection) of Noto Sans CJK SC when installed, else None."""
    from fontTools.ttLib import TTCollection

    for path in FONT_FILES:
        if not os.path.isfile(path):
            continue
        collection = TTCollection(path, lazy=True)
        for index, font in enumerate(collection.fonts):
            name = font["name"].getDebugName(4) or ""
            if "CJK SC" in name and "Mono" not in name:
                return path, index
    return None


def _county(code, chinese):
    english, name_zh = COUNTY_NAMES.get(code, (code, ""))
    return f"{code} {english}" + (f" {name_zh}" if chinese and name_zh else "")


def render_pdf(report):
    """The report as PDF bytes: summary, per county, per product, the cohort comparison and the findings."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = cjk_font()
    chinese = font is not None

    class ReportPDF(FPDF):
        def footer(self):
            self.set_y(-10)
            self.set_font(size=7)
            self.cell(0, 5, text=f"Audit {report['id']} v{report['version']} - page {self.page_no()}/{{nb}}", align="C")

    pdf = ReportPDF(orientation="L", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    if chinese:
        pdf.add_font("report", "", font[0], collection_font_number=font[1])
        family = "report"
    else:
        family = "helvetica"

    def text(value):
        value = "" if value is None else str(value)
        return value if chinese else value.encode("latin-1", "replace").decode("latin-1")

    def table(header, rows, widths, align_right=()):
        pdf.set_font(family, size=8)
        with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", line_height=5,
                       headings_style=FontFace(fill_color=(225, 230, 240))) as grid:
            heading = grid.row()
            for label in header:
                heading.cell(text(label))
            for values in rows:
                row = grid.row()
                for i, value in enumerate(values):
                    row.cell(text(value), align="RIGHT" if i in align_right else "LEFT")
        pdf.ln(4)

    def heading(title):
        pdf.set_font(family, size=11)
        pdf.cell(0, 8, text=text(title), new_x="LMARGIN", new_y="NEXT")

    pdf.set_title(TITLE[0])
    pdf.set_subject(report["scope"])
    pdf.set_creator("insurer_dms")
    if report.get("published_moment") is not None:
        pdf.set_creation_date(report["published_moment"])
    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.cell(0, 10, text=text(TITLE[0] + (f"  {TITLE[1]}" if chinese else "")), new_x="LMARGIN", new_y="NEXT")
    table(("Item", "Value"), summary_rows(report, languages=1), (70, 120))

    heading("Per county")
    rows = [[_county(r[0], chinese)] + r[2:] for r in county_rows(report, languages=1)]
    table(("County", "Renewals audited", "Findings", "Excess premium (CNY)"), rows, (90, 35, 30, 40), (1, 2, 3))
    heading("Per product")
    table(("Product", "Renewals audited", "Findings", "Excess premium (CNY)"), product_rows(report, languages=1),
          (90, 35, 30, 40), (1, 2, 3))
    heading("Cohort comparison: change of the autonomous pricing coefficient at renewal")
    table(("Group", "Renewals", "Autonomous coefficient rose", "Mean change"), cohort_rows(report, languages=1),
          (90, 35, 45, 30), (1, 2, 3))

    pdf.add_page()
    heading(f"Findings ({report['findings_count']})")
    if report["findings"]:
        rows = []
        for finding in report["findings"]:
            extra = {"county_pdf": _county(finding["county_code"], chinese),
                     "reasons_short": ", ".join(SHORT_REASONS[r] for r in finding["reasons"])}
            rows.append([{**finding, **extra}[key] for _label, key, _width, _right in FINDING_COLUMNS])
        table([c[0] for c in FINDING_COLUMNS], rows, [c[2] for c in FINDING_COLUMNS],
              [i for i, c in enumerate(FINDING_COLUMNS) if c[3]])
    else:
        pdf.set_font(family, size=9)
        pdf.cell(0, 6, text="No findings.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, size=7)
    pdf.multi_cell(0, 4, text=text(
        "Change = benchmark part + NCD part + violation part + autonomous part + residual (fixed order of factors; "
        "see the README, 'No-premium-increase audit'). A = autonomous pricing coefficient. Reasons: 'A rose' = the "
        "autonomous coefficient rose; 'residual' = the unexplained residual is above the tolerance."))
    return bytes(pdf.output())
