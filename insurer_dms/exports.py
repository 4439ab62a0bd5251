"""The one writer of every CSV and XLSX file the application makes: every cell goes through ``csv_cell`` or
``xlsx_cell``.

Formula injection (CWE-1236, OWASP "CSV Injection"): a spreadsheet program treats a cell whose text starts with
``=``, ``+``, ``-`` or ``@`` as a formula (a leading tab or carriage return is skipped by some of them first), so
text that came from a user or a file (a policy number, a manufacturer, a company name) could reach the
regulator's copy of a published audit as ``=HYPERLINK("http://x.example/","Click")``. The rules:

* **Text** starting with one of ``= + - @ TAB CR`` is written as text, never as a formula.
  CSV: the cell is prefixed with a single quote (OWASP's recommendation: every spreadsheet program then reads the
  cell as text and shows it without the quote). XLSX: a string cell (``t="inlineStr"``, the text unchanged) with the
  quote-prefix style, which is what Excel itself stores for text typed after an apostrophe, so editing the cell
  does not turn it into a formula either. Every other text is a string cell too (never an error value such as
  ``#REF!``). Characters that XML 1.0 cannot hold (control characters other than tab, LF and CR) become U+FFFD in
  XLSX, where openpyxl would refuse the whole file.
* **Numbers** (int, float, Decimal; not bool) are numbers: a negative amount such as a correction of -12.50 is a
  number cell in XLSX and ``-12.50`` in CSV, unprefixed. OWASP's rule is about text; a cell made of a sign, digits
  and a point cannot call anything, every spreadsheet program reads it as that number, and prefixing it would turn
  a cost report's amounts into text that no longer sums. The exemption goes by the Python type, never by what a
  text looks like: a number that arrives as text (``"-12.50"``) is prefixed like any text, so a report hands its
  amounts over as Decimal, not formatted.
* **Dates and datetimes** are date cells in XLSX (an aware time as the time in Asia/Shanghai: Excel has no time
  zones) and ISO 8601 in CSV; booleans are boolean cells; ``None`` is an empty cell.

Sheets are written with openpyxl's write-only workbook, a row at a time, so a long export streams.
"""
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable
from zoneinfo import ZoneInfo

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_NUMBER_TYPES = (int, float, Decimal)
# What XML 1.0 cannot carry (openpyxl's ILLEGAL_CHARACTERS_RE).
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_number(value):
    """A value we write as a number (bool is an int to Python, not to a report)."""
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


def needs_quote(value):
    """True for text a spreadsheet program could read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


# ---------------------------------------------------------------- CSV


def csv_cell(value):
    """The text of one CSV cell: formula-looking text prefixed with ``'``, numbers and dates as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if is_number(value):
        return str(value)
    return csv_cell(str(value))


def csv_bytes(rows, bom=True):
    """UTF-8 CSV bytes of ``rows`` (lists of values; ``[]`` is a blank line), with a byte-order mark unless told not
    (Excel then opens the Chinese intact)."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


# ---------------------------------------------------------------- XLSX


class Heading(list):
    """A row written in bold (a table's header or title); ``size`` sets the font size."""

    def __init__(self, values=(), size=None):
        super().__init__(values)
        self.size = size


@dataclass
class Sheet:
    """One sheet of a workbook: its rows (lists of values, ``Heading`` rows in bold) and how numbers look.

    ``formats`` maps a 0-based column to the number format of that column's numbers; other Decimal cells take
    ``decimal_format``. ``widths`` maps column letters to widths; ``freeze`` is the top-left cell of the scrolling
    part (``"B2"``).
    """

    title: str
    rows: Iterable = ()
    decimal_format: str | None = "0.00"
    formats: dict = field(default_factory=dict)
    widths: dict = field(default_factory=dict)
    freeze: str | None = None


def sheet_title(title, taken=()):
    """A title Excel accepts: at most 31 characters, none of ``\\ / * ? : [ ]``, unique in the workbook."""
    base = _SHEET_TITLE_FORBIDDEN.sub(" ", str(title or "")).strip().strip("'")[:31] or "Sheet"
    name, n = base, 1
    while name.lower() in {t.lower() for t in taken}:
        n += 1
        name = f"{base[:31 - len(str(n)) - 1]} {n}"
    return name


def xlsx_cell(sheet, value, number_format=None, font=None):
    """One write-only cell: text always a string cell (quote-prefixed when it looks like a formula), numbers and
    dates typed."""
    from openpyxl.cell import WriteOnlyCell

    quote = False
    if isinstance(value, str):
        value = _NOT_XML.sub("\ufffd", value)
        quote = value.startswith(FORMULA_TRIGGERS)
    elif isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(LOCAL_TZ).replace(tzinfo=None)  # Excel has no time zones: the time in Chaozhou
    elif value is not None and not isinstance(value, (bool, *_NUMBER_TYPES, dt.date, dt.time)):
        value = _NOT_XML.sub("\ufffd", str(value))
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"  # never "f" (formula) or "e" (error value), whatever the text
        if quote:
            cell.quotePrefix = True
    elif number_format and is_number(value):
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def xlsx_bytes(sheets):
    """XLSX bytes of ``sheets`` (``Sheet``), in order."""
    out = io.BytesIO()
    write_xlsx(sheets, out)
    return out.getvalue()


def xlsx_file(sheets, memory=8 * 1024 * 1024):
    """``sheets`` written to a temporary file (in memory up to ``memory`` bytes, on disk beyond), rewound: a long
    export is written a row at a time and sent in chunks, never held whole."""
    import tempfile

    out = tempfile.SpooledTemporaryFile(max_size=memory)
    write_xlsx(sheets, out)
    out.seek(0)
    return out


def write_xlsx(sheets, out):
    """Write ``sheets`` (``Sheet``), in order, as XLSX into the binary file ``out``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    taken = []
    for spec in sheets:
        sheet = book.create_sheet(sheet_title(spec.title, taken))
        taken.append(sheet.title)
        for letter, width in spec.widths.items():
            sheet.column_dimensions[letter].width = width
        if spec.freeze:
            sheet.freeze_panes = spec.freeze
        for row in spec.rows:
            font = Font(bold=True, size=row.size) if isinstance(row, Heading) else None
            sheet.append([
                xlsx_cell(sheet, value,
                          spec.formats.get(i, spec.decimal_format if isinstance(value, Decimal) else None), font)
                for i, value in enumerate(row)
            ])
    if not taken:
        book.create_sheet("Sheet")
    book.save(out)


# ---------------------------------------------------------------- the language of an export

EXPORT_LANGUAGES = ("zh", "en")


def export_language(lang=None):
    """A context in which an export's headers and labels are rendered: Chinese by default, English for
    ``lang="en"`` (integrators' ``?lang=en``), whatever the page's language."""
    from flask_babel import force_locale

    return force_locale("en" if lang == "en" else "zh_CN")
