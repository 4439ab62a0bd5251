"""Reading CSV and XLSX files with header aliases; all-or-nothing loading with an error per bad row.

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2.

Every file is bounded before it is parsed, whatever its kind (``Limits``): an upload is read to at most its byte
limit; an XLSX workbook's zip directory is inspected first (``check_workbook``: the declared uncompressed size of
all its parts, and each large part's compression ratio, which for an XLSX bomb of identical rows is hundreds to
one); its first sheet is then streamed a row at a time and reading stops at the first row past the row limit (the
header and ``rows`` more, blank rows included, as the sheet numbers them) or wider than ``MAX_COLUMNS`` cells. So a
directory that lies about sizes (Python's zipfile never inflates a part beyond its declared size anyway, and its CRC
check then fails) or a sheet that numbers its rows in the billions cannot run away. A CSV file is counted the same
way while it is read.
"""
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field

import marshmallow as ma
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from .errors import ImportFailed, Invalid

ALLOWED_SUFFIXES = (".csv", ".xlsx")
MAX_COLUMNS = 256  # cells in a row of any import; the widest file we read has about 25 columns
XLSX_MAX_ROW_NUMBER = 1_048_576  # what an XLSX sheet can hold; a row number beyond it is a forged file
XLSX_MAX_PARTS = 10_000  # files inside a workbook; a real one has a dozen
RATIO_GRACE_BYTES = 1 << 20  # parts smaller than this uncompressed are never refused for their ratio


@dataclass(frozen=True)
class Limits:
    """How much of a file an import reads: rows after the header, and for XLSX the declared uncompressed size of all
    its parts and the largest compression ratio of a part (uncompressed / compressed)."""

    rows: int
    xlsx_bytes: int
    ratio: int

    @classmethod
    def imports(cls):
        """The limits of the catalogue, policy, SIM, plan, device, road-check and online-status files."""
        config = current_app.config
        return cls(config["IMPORT_MAX_ROWS"], config["IMPORT_XLSX_MAX_BYTES"], config["XLSX_MAX_RATIO"])

    @classmethod
    def statements(cls):
        """The limits of a carrier's XLSX statement (a CSV statement has its own, in the line loop)."""
        config = current_app.config
        return cls(config["STATEMENT_XLSX_MAX_ROWS"], config["STATEMENT_XLSX_MAX_BYTES"], config["XLSX_MAX_RATIO"])


def _mb(size):
    return f"{size / (1 << 20):,.0f}" if size >= 1 << 20 else f"{size / (1 << 20):,.2f}"


def _refuse(message):
    return Invalid(message, {"file": [message]})


def too_many_rows(limit):
    return _refuse(_l("The file has more than %(limit)s rows after its header; at most %(limit)s are read from one "
                      "file. Split it into smaller files.", limit=f"{limit:,}"))


def check_workbook(data, limits):
    """Refuse an XLSX file from its zip directory alone, before anything is inflated: too many parts, a declared
    uncompressed size over ``limits.xlsx_bytes``, or a part compressed more than ``limits.ratio`` to one."""
    if not data.startswith(b"PK"):
        raise Invalid(_l("The file is not an XLSX workbook."), {"file": [_l("Not an XLSX workbook.")]})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            parts = book.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as err:
        raise Invalid(_l("The XLSX workbook cannot be opened."), {"file": [str(err)[:200]]})
    if len(parts) > XLSX_MAX_PARTS:
        raise _refuse(_l("The XLSX workbook holds %(count)s files; a workbook of at most %(limit)s is read.",
                         count=f"{len(parts):,}", limit=f"{XLSX_MAX_PARTS:,}"))
    total = sum(part.file_size for part in parts)
    if total > limits.xlsx_bytes:
        raise _refuse(_l("The XLSX workbook unpacks to %(size)s MB; at most %(limit)s MB is read from one file.",
                         size=_mb(total), limit=_mb(limits.xlsx_bytes)))
    for part in parts:
        if part.file_size > RATIO_GRACE_BYTES and part.file_size > limits.ratio * max(part.compress_size, 1):
            raise _refuse(_l("The XLSX workbook is compressed %(ratio)s to 1 (%(part)s); at most %(limit)s to 1 is "
                             "read, as no real sheet packs that tightly.",
                             ratio=f"{part.file_size // max(part.compress_size, 1):,}", part=part.filename[:100],
                             limit=limits.ratio))


def xlsx_rows(data, limits):
    """The first sheet's rows as tuples of typed values, checked (``check_workbook``) before it is opened and cut off
    at the first row past the header and ``limits.rows`` more (rows as the sheet numbers them: blank ones count) or
    over ``MAX_COLUMNS`` cells. Rows are as wide as the header, wider only by cells that hold something."""
    check_workbook(data, limits)
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        # The sheet's own <dimension> would make openpyxl pad every row to its width (A1:XFD1048576: 16,384 cells).
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > limits.rows + 1 or number > XLSX_MAX_ROW_NUMBER:  # the header and limits.rows rows
                raise too_many_rows(limits.rows)
            if len(row) > MAX_COLUMNS:
                raise _refuse(_l("Row %(row)s has more than %(limit)s cells; at most %(limit)s columns are read.",
                                 row=number, limit=MAX_COLUMNS))
            if number == 1:
                width = len(row)
            elif len(row) < width:  # as wide as the header, as the sheet's own dimension would have made it
                row = (*row, *(None,) * (width - len(row)))
            elif len(row) > width and row[-1] is None:  # empty (styled) cells past the header's last column
                end = len(row)
                while end > width and row[end - 1] is None:
                    end -= 1
                row = row[:end]
            yield row
    except Invalid:
        raise
    except Exception as err:  # openpyxl raises many types for a damaged zip or sheet
        raise Invalid(_l("The XLSX workbook cannot be opened."), {"file": [str(err)[:200]]})


def csv_rows(text, limits):
    """``csv.reader`` rows of ``text``, cut off at the first row past the header and ``limits.rows`` more (blank ones
    count) or over ``MAX_COLUMNS`` cells."""
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if number > limits.rows + 1:
                raise too_many_rows(limits.rows)
            if len(row) > MAX_COLUMNS:
                raise _refuse(_l("Row %(row)s has more than %(limit)s cells; at most %(limit)s columns are read.",
                                 row=number, limit=MAX_COLUMNS))
            yield row
    except csv.Error as err:  # an unclosed quote swallowing the file, a field over csv.field_size_limit()
        raise Invalid(_l("The file is not a readable CSV file."), {"file": [str(err)[:200]]})


HAN = re.compile(r"[\u4e00-\u9fff]")


def _norm(header):
    return "".join(str(header or "").replace("\ufeff", "").split()).lower()


def _cell(value):
    """XLSX cells come typed; give schemas the text a CSV would have held."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(data):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid(_l("The file is neither UTF-8 nor GB18030 text."), {"file": [_l("Unreadable text encoding.")]})


def read_table(data, filename, limits=None):
    """Return (headers, [(row_number, [cells])]) from CSV or XLSX bytes, within ``limits`` (``Limits.imports()``)."""
    name = (filename or "").lower()
    limits = limits or Limits.imports()
    if name.endswith(".xlsx"):
        rows = [[_cell(v) for v in row] for row in xlsx_rows(data, limits)]
    elif name.endswith(".csv"):
        rows = [[c.strip() for c in row] for row in csv_rows(_decode(data), limits)]
    else:
        raise Invalid(_l("Upload a .csv or .xlsx file."), {"file": [_l("Only .csv and .xlsx files are accepted.")]})
    if not rows:
        raise Invalid(_l("The file is empty."), {"file": [_l("The file is empty.")]})
    headers = rows[0]
    body = [(i, row) for i, row in enumerate(rows[1:], start=2) if any(c for c in row)]
    return headers, body


@dataclass
class RowErrors:
    """Collects every bad row of a file before anything is stored."""

    rows: list = field(default_factory=list)

    def add(self, row, column, message):
        self.rows.append({"row": row, "column": column, "message": message})

    def __bool__(self):
        return bool(self.rows)

    def raise_if_any(self):
        if self.rows:
            raise ImportFailed(self.rows)


def _messages(value):
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list):
        return [m for v in value for m in _messages(v)]
    return [value]  # a message id: the error body translates it


def column_name(fieldname, aliases):
    """A column named as the user's file would: its first Chinese header for a Chinese user, else the field's name."""
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        for alias in aliases.get(fieldname, ()):
            if HAN.search(alias):
                return alias
    return fieldname


def column_names(fieldnames, aliases):
    """``column_name`` of each field, as one list to show ("a, b"; Chinese: "甲、乙")."""

    def names():
        locale = get_locale()
        separator = "、" if locale is not None and locale.language == "zh" else ", "
        return separator.join(column_name(f, aliases) for f in fieldnames)

    return LazyString(names)


class LoadedRows(list):
    """``[(row_number, loaded_dict)]``; ``.columns`` maps each field to its header as written in the file."""

    columns: dict


def load_rows(data, filename, schema, aliases, required=None, errors=None):
    """Read a file and load every row with ``schema``.

    ``aliases`` maps each schema field to the header names accepted for it (English, Chinese...).
    Returns ``[(row_number, loaded_dict)]`` or raises ImportFailed listing every bad row and column.
    Pass your own ``errors`` (RowErrors) to get the rows that loaded and collect the bad ones there,
    so cross-row checks can run too before you raise.
    """
    collect = errors
    headers, body = read_table(data, filename)
    lookup = {_norm(a): fieldname for fieldname, names in aliases.items() for a in (fieldname, *names)}
    columns = {}  # field -> (index, header as written)
    for index, header in enumerate(headers):
        fieldname = lookup.get(_norm(header))
        if fieldname and fieldname not in columns:
            columns[fieldname] = (index, str(header).replace("\ufeff", "").strip())
    errors = RowErrors()
    for fieldname in required if required is not None else [n for n, f in schema.fields.items() if f.required]:
        if fieldname not in columns:
            named = LazyString(column_name, fieldname, aliases)  # the field's name in English, its header in Chinese
            errors.add(1, named, _l("Missing column '%(column)s'.", column=named))
    errors.raise_if_any()
    if not body:
        raise Invalid(_l("The file has no data rows."), {"file": [_l("No data rows.")]})

    if collect is not None:
        errors = collect
    loaded = LoadedRows()
    loaded.columns = {f: header for f, (_, header) in columns.items()}
    for number, cells in body:
        raw = {f: (cells[i] if i < len(cells) else "") for f, (i, _) in columns.items()}
        raw = {k: v for k, v in raw.items() if v != ""}
        try:
            loaded.append((number, schema.load(raw, unknown=ma.EXCLUDE)))
        except ma.ValidationError as err:
            for fieldname, message in err.messages.items():
                column = columns.get(fieldname, (None, fieldname))[1]
                for text in _messages(message):
                    errors.add(number, column, text)
    if collect is None:
        errors.raise_if_any()
    return loaded


def read_upload(file_storage, max_bytes=None):
    """Bytes and filename of an uploaded import file, refusing other types and oversize files (``max_bytes``,
    else ``IMPORT_MAX_BYTES``); reads at most one byte over the limit."""
    if max_bytes is None:
        max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    if file_storage is None or not file_storage.filename:
        raise Invalid(_l("Choose a file to upload."), {"file": [_l("A file is required.")]})
    if not file_storage.filename.lower().endswith(ALLOWED_SUFFIXES):
        raise Invalid(_l("Upload a .csv or .xlsx file."), {"file": [_l("Only .csv and .xlsx files are accepted.")]})
    data = file_storage.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Invalid(_l("The file is too large."), {"file": [_l("At most %(mb)s MB.", mb=_mb(max_bytes))]})
    return data, file_storage.filename
