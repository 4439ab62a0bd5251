"""Reading CSV and XLSX files with header aliases; all-or-nothing loading with an error per bad row.

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2.
"""
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

import marshmallow as ma
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from .errors import ImportFailed, Invalid

ALLOWED_SUFFIXES = (".csv", ".xlsx")
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


def read_table(data, filename):
    """Return (headers, [(row_number, [cells])]) from CSV or XLSX bytes."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK"):
            raise Invalid(_l("The file is not an XLSX workbook."), {"file": [_l("Not an XLSX workbook.")]})
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as err:  # openpyxl raises many types for a damaged zip
            raise Invalid(_l("The XLSX workbook cannot be opened."), {"file": [str(err)[:200]]})
        rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    elif name.endswith(".csv"):
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(_decode(data)))]
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
            errors.add(1, fieldname, _l("Missing column '%(column)s'.", column=LazyString(column_name, fieldname, aliases)))
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


def read_upload(file_storage, max_bytes=5 * 1024 * 1024):
    """Bytes and filename of an uploaded import file, refusing other types and oversize files."""
    if file_storage is None or not file_storage.filename:
        raise Invalid(_l("Choose a file to upload."), {"file": [_l("A file is required.")]})
    if not file_storage.filename.lower().endswith(ALLOWED_SUFFIXES):
        raise Invalid(_l("Upload a .csv or .xlsx file."), {"file": [_l("Only .csv and .xlsx files are accepted.")]})
    data = file_storage.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise Invalid(_l("The file is too large."), {"file": [_l("At most %(mb)s MB.", mb=max_bytes // (1024 * 1024))]})
    return data, file_storage.filename
