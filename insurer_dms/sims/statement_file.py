"""Reading a carrier statement file as a stream of checked lines (CSV or XLSX, English or Chinese headers).

Built for a million lines: rows come one at a time, and a row that already looks right costs one regular
expression match and a Luhn check; only a suspicious row takes the slow path that strips, normalises and
explains. A CSV file without quote characters (what carriers' billing systems write) is read as plain text lines,
each line one row, which is exactly what ``csv.reader`` would make of it, only without splitting every good line
into cells; any other CSV goes through ``csv.reader``, and XLSX through openpyxl in read-only mode. Row numbers are
the spreadsheet's (header = row 1).

A file is checked whole, so that a damaged file never becomes a bill (``Shape``): every row of a CSV has exactly
the header's number of cells (a row wider or shorter than the header, such as ``...,7,00`` with a comma in an amount,
is a row error: no cell is dropped or guessed), an XLSX row has nothing beyond the header's last column, and a CSV
ends with a line break after its last row: a file cut in the middle of a line is refused on its last row, even when
what is left of that row still reads as a line (``...,10.0``, ``...,1``). A file cut exactly at a line boundary
cannot be told from a complete one by its syntax: every line of it is whole. That is what the size comparison of a
new version with the version it would supersede is for (``statements.STATEMENT_SHRINK_CONFIRM``). An XLSX file cut
short is a damaged zip archive and cannot be opened at all. Reading stops after ``STATEMENT_MAX_ROWS`` rows (blank
ones included): a longer file is refused naming the limit. All of it costs the line loop nothing per good line (the
good-line expression matches whole rows of the header's width; the limit is an ``islice``).
"""
import codecs
import csv
import io
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from ..errors import ImportFailed, Invalid, invalid
from ..imports import Limits, _cell, _norm, xlsx_rows
from .service import CARRIER_LABELS, ISSUERS, carrier_of, iccid_problem

# Field -> header names accepted (the carriers' Chinese headers beside the English ones).
ALIASES = {
    "iccid": ("ICCID", "iccid", "卡号", "SIM卡号"),
    "msisdn": ("号码", "MSISDN", "接入号", "手机号码"),
    "period": ("账期", "计费周期", "账单月份"),
    "data_kb": ("使用流量(KB)", "使用流量（KB）", "流量(KB)"),
    "sms_count": ("短信(条)", "短信（条）", "短信条数"),
    "plan_fee": ("套餐费(元)", "套餐费（元）", "套餐费"),
    "overage_fee": ("超套费(元)", "超套费（元）", "超套费"),
    "total_fee": ("合计(元)", "合计（元）", "合计", "总费用"),
}
FIELDS = tuple(ALIASES)
LINE_FIELDS = ("iccid", "msisdn", "data_kb", "sms_count", "plan_fee", "overage_fee", "total_fee")  # a checked line
REQUIRED = ("iccid", "period", "data_kb", "plan_fee", "overage_fee", "total_fee")  # msisdn, sms_count may be absent
MAX_LISTED = 1000  # problems listed in a 422; the message still counts every bad row

_MONEY = re.compile(r"\d{1,10}(?:\.\d{1,2})?")  # Numeric(12, 2), not negative
_PERIOD = re.compile(r"(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*月?(?:[-/.]\d{1,2}(?:[ T][\d:.]+)?)?")
# Luhn: the digit sum of 2 x d, as a character table so a whole ICCID is mapped in one str.translate.
_DOUBLED = str.maketrans("0123456789", "0246813579")
# And for the usual 20-digit ICCID: the Luhn sum of every 4-digit group of an even-length number (doubled, plain,
# doubled, plain from the left), so a check is five look-ups.
_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_QUADS = {f"{a}{b}{c}{d}": _DOUBLE[a] + b + _DOUBLE[c] + d
          for a in range(10) for b in range(10) for c in range(10) for d in range(10)}


_HEADS = {}  # the Luhn sum of the first 12 digits of 20-digit ICCIDs: a carrier's cards share a few such heads


def luhn_ok(digits):
    """Luhn check of an ASCII digit string, fast: for 20 digits three look-ups (the head's sum is remembered), else
    translate and sum."""
    if len(digits) == 20:
        q = _QUADS
        head = _HEADS.get(digits[:12])
        if head is None:
            if len(_HEADS) > 100_000:  # a bound, whatever the files
                _HEADS.clear()
            head = _HEADS[digits[:12]] = q[digits[:4]] + q[digits[4:8]] + q[digits[8:12]]
        return (head + q[digits[12:16]] + q[digits[16:]]) % 10 == 0
    rev = digits[::-1]
    mixed = (rev[0::2] + rev[1::2].translate(_DOUBLED)).encode()
    return (sum(mixed) - 48 * len(mixed)) % 10 == 0


def normalise_period(text):
    """``2026-09``, ``202609``, ``2026/9``, ``2026年9月`` or a date in the month -> ``2026-09``; None if not a month."""
    match = _PERIOD.fullmatch(str(text or "").strip())
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    return f"{match[1]}-{int(match[2]):02d}"


def _encoding(data):
    """utf-8-sig or gb18030, checked in 1 MB steps so a large file is not decoded into memory twice."""
    if data.isascii():
        return "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), 1 << 20):
            decoder.decode(view[start:start + (1 << 20)])
        decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _csv_rows(data):
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=_encoding(data), newline="")
    try:
        yield from csv.reader(stream)
    except UnicodeDecodeError:
        raise Invalid(_l("The file is neither UTF-8 nor GB18030 text."), {"file": [_l("Unreadable text encoding.")]})
    except csv.Error as err:
        raise Invalid(_l("The file is not a readable CSV file."), {"file": [str(err)[:200]]})


def _xlsx_rows(data):
    """The rows of an XLSX statement, within the statement's XLSX limits (checked before the workbook is opened)."""
    for row in xlsx_rows(data, Limits.statements()):
        yield [_cell(v) for v in row]


def _plain_lines(data):
    """The lines of a CSV file without quotes (decoded 1 MB at a time), or None if it has quotes or lone CRs."""
    if b'"' in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    decoder = codecs.getincrementaldecoder(_encoding(data))()
    view = memoryview(data)

    def lines():
        rest = ""
        try:
            for start in range(0, len(data), 1 << 20):
                text = (rest + decoder.decode(view[start:start + (1 << 20)])).replace("\r\n", "\n")
                *complete, rest = text.split("\n")
                yield from complete
            rest += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise Invalid(_l("The file is neither UTF-8 nor GB18030 text."), {"file": [_l("Unreadable text encoding.")]})
        if rest:
            yield rest

    return lines()


def open_rows(data, filename):
    """(rows, raw) of a .csv or .xlsx file, header first: rows are lists of text cells, or, when ``raw``, text
    lines whose cells are separated by commas (``cells_of`` splits one)."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return _xlsx_rows(data), False
    if name.endswith(".csv"):
        lines = _plain_lines(data)
        return (lines, True) if lines is not None else (_csv_rows(data), False)
    raise Invalid(_l("Upload a .csv or .xlsx file."), {"file": [_l("Only .csv and .xlsx files are accepted.")]})


def cells_of(row):
    """The cells of a row as ``open_rows`` gave it."""
    return row.split(",") if row.__class__ is str else row


@dataclass(frozen=True)
class Shape:
    """What every row of the file must look like (see the module docstring)."""

    width: int  # the header's cells (XLSX: up to its last non-empty one)
    cells: int  # the cells of the header row as ``open_rows`` gives it (openpyxl pads XLSX rows to the sheet's width)
    xlsx: bool  # cells beyond ``width`` may be there, empty (XLSX); else a row has exactly ``width`` cells
    unterminated: bool  # a CSV whose last line has no line break: its last row is cut


def file_shape(data, filename, header):
    """The Shape of a statement file from its bytes (only the last one is looked at) and its header row's cells."""
    xlsx = (filename or "").lower().endswith(".xlsx")
    width = len(header)
    if xlsx:
        while width and not str(header[width - 1] or "").strip():
            width -= 1
    return Shape(width, len(header), xlsx, not xlsx and not data.endswith((b"\n", b"\r")))


def cut_row_message():
    return _l("The file ends in this row without a line break: the file may have been cut short. "
              "Upload the complete file.")


def too_many_rows(limit):
    """The 422 of a file longer than STATEMENT_MAX_ROWS."""
    return invalid("file", _l("The file has more than %(limit)s rows (the limit set by STATEMENT_MAX_ROWS); "
                              "nothing was imported.", limit=f"{limit:,}"))


def header_columns(headers):
    """Map each field to (index, header as written); a missing required column is a row-1 error."""
    lookup = {_norm(a): f for f, names in ALIASES.items() for a in (f, *names)}
    columns = {}
    for index, header in enumerate(headers):
        field = lookup.get(_norm(header))
        if field and field not in columns:
            columns[field] = (index, str(header).replace("\ufeff", "").strip())
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise ImportFailed([{"row": 1, "column": f, "message": _l("Missing column '%(column)s' (%(header)s).", column=f, header=ALIASES[f][0])}
                            for f in missing])
    return columns


class Problems:
    """Every bad row's problems; the first MAX_LISTED are kept for the answer, the rest only counted."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.rows, self.bad_rows, self.count, self.last = [], 0, 0, None

    def add_row(self, number, problems):
        """Add a row's problems (rows come in order; the same row again adds to its problems)."""
        if number != self.last:
            self.bad_rows, self.last = self.bad_rows + 1, number
        for column, message in problems:
            self.count += 1
            if len(self.rows) < MAX_LISTED:
                self.rows.append({"row": number, "column": column, "message": message})

    def __bool__(self):
        return self.bad_rows > 0

    def error(self):
        message = _l("%(count)s row(s) are invalid; nothing was imported.", count=self.bad_rows)
        if self.count > len(self.rows):
            message = _l("%(count)s row(s) are invalid; nothing was imported. The first %(listed)s of %(problems)s problems are "
                         "listed.", count=self.bad_rows, listed=len(self.rows), problems=self.count)
        return ImportFailed(self.rows, message)


class LineChecker:
    """Checks rows against the statement's carrier and period; good rows become lines of text values.

    ``raw``: the rows are text lines (``open_rows``), matched as they are; else lists of cells, matched joined by tabs.
    ``shape``: what every row must look like (``file_shape``); ``max_rows``: read no further than this many rows.
    """

    def __init__(self, columns, carrier, period, first_rows=(), raw=False, *, shape, max_rows=None):
        self.columns = columns
        self.carrier, self.period = carrier, period
        self.raw = raw
        self.shape, self.max_rows = shape, max_rows
        self.prefixes = sorted(p for p, c in ISSUERS.items() if c == carrier)
        # The period as the file spells it (2026-09, 202609...): from the first rows, for the one-regex check.
        i = columns["period"][0]
        first_cells = [cells_of(row) for _, row in first_rows]
        self.spellings = {period} | {c[i] for c in first_cells if i < len(c) and normalise_period(c[i]) == period}
        self.periods = {text: period for text in self.spellings}  # raw text -> month, each spelling parsed once
        self.idx = tuple(columns[f][0] if f in columns else None for f in FIELDS)
        self.plain = self._plain_row("," if raw else "\t")

    def cell_patterns(self):
        """Field -> the regular expression of a plainly good cell of this file (Python's re and RE2 read them alike;
        the period is matched by its spellings, ``self.spellings``, and the ICCID's Luhn digit is checked apart)."""
        money = r"[0-9]{1,10}(?:\.[0-9]{1,2})?"
        return {
            "iccid": "(?:" + "|".join(self.prefixes) + r")[0-9]{13,14}",
            "msisdn": "(?:[0-9]{11,13})?",
            "data_kb": "[0-9]{1,18}",
            "sms_count": "[0-9]{1,9}",
            "plan_fee": money,
            "overage_fee": money,
            "total_fee": money,
        }

    def _plain_row(self, sep):
        """One regex for a row (a raw line, or its cells joined by tabs) that is plainly good, written as this
        file's first row.

        Built from this file's column order, so a good row costs one match; anything else (spaces, other
        spellings, bad values, another number of cells) falls to ``slow``, which explains or normalises it. It
        matches exactly the header's number of cells (an XLSX row's padding beyond them empty), so no cell of a row
        of another width is ever dropped.
        """
        cell = {f: f"(?P<{f}>{pattern})" for f, pattern in self.cell_patterns().items()}
        cell["period"] = ("(?:" + "|".join(re.escape(t) for t in sorted(self.spellings)) + ")" if self.period
                          else "(?!)")
        by_index = {i: f for f, i in zip(FIELDS, self.idx) if i is not None}
        other = f"[^{sep}]*"
        parts = [cell[by_index[i]] if i in by_index else other for i in range(self.shape.width)]
        absent = "".join(f"(?P<{f}>)" for f in ("msisdn", "sms_count") if f not in self.columns)
        padding = sep * (self.shape.cells - self.shape.width) if self.shape.xlsx else ""
        return re.compile(sep.join(parts) + padding + absent, re.ASCII)

    def check(self, rows, problems, sink=None, chunk=10_000, entry=None):
        """Check every (row number, row); good lines go to ``sink([entry(row, line, first_row), ...])`` in chunks
        until a row fails (``entry`` defaults to the triple; ``first_row`` is the earlier row with the same ICCID,
        else None).

        Returns (lines, billed total). A line is (iccid, msisdn, data_kb, sms_count, plan_fee, overage_fee,
        total_fee) as text, msisdn and sms_count possibly "". Blank rows are skipped. A file longer than
        ``max_rows`` raises Invalid once that many rows are read; a cut last row (``shape.unterminated``) is a
        problem of its own. One loop with local names on purpose: it runs a million times per statement.
        """
        plain, slow, luhn, join, raw = self.plain.fullmatch, self.slow, luhn_ok, "\t".join, self.raw
        cells_per_row = self.shape.cells  # lists of cells (not raw): the regex sees them joined, so count them too
        if self.max_rows is not None:
            rows = itertools.islice(rows, self.max_rows + 1)  # one row more tells the file is too long
        entry = entry or (lambda number, line, first_row: (number, line, first_row))
        # ICCID (as an integer: cheaper to hash and keep than the text) -> its first row; a million ICCIDs take
        # about 100 MB while the upload streams.
        first_of = {}.setdefault
        # The regex's groups are in file order; in the usual column order that is already the line's order.
        in_order = self.plain.groups == len(LINE_FIELDS) and all(
            self.plain.groupindex[f] == n for n, f in enumerate(LINE_FIELDS, 1))
        batch, count, billed, writing = [], 0, Decimal("0.00"), sink is not None
        number = row = None
        for number, row in rows:
            match = plain(row) if raw else plain(join(row)) if len(row) == cells_per_row else None
            line = None if match is None else match.groups() if in_order else match.group(*LINE_FIELDS)
            if line is None or not luhn(line[0]):
                cells = row.split(",") if raw else row
                if is_blank(cells):
                    continue  # a blank row
                line, row_problems = slow(cells)
                if row_problems:
                    problems.add_row(number, row_problems)
                    writing = False  # nothing more is written: the upload fails
                    continue
            count += 1
            billed += Decimal(line[6])
            first = first_of(int(line[0]), number)
            if writing:
                batch.append(entry(number, line, None if first == number else first))
                if len(batch) >= chunk:
                    sink(batch)
                    batch = []
        if self.max_rows is not None and number is not None and number - 1 > self.max_rows:
            raise too_many_rows(self.max_rows)
        if self.shape.unterminated and number is not None and not is_blank(cells_of(row)):
            problems.add_row(number, [(None, cut_row_message())])
            writing = False
        if batch and writing:
            sink(batch)
        return count, billed

    def width_problem(self, cells):
        """The message if a (non-blank) row does not have the header's number of cells, else None."""
        width, count = self.shape.width, len(cells)
        if count == width:
            return None
        if self.shape.xlsx:  # openpyxl pads rows: only a value beyond the header's columns is wrong
            beyond = next((i for i in range(width, count) if str(cells[i] or "").strip()), None)
            return None if beyond is None else _l(
                "The row has a value in column %(column)s, beyond the header's %(width)s columns.",
                column=beyond + 1, width=width)
        if count > width:
            return _l("The row has %(cells)s cells but the header has %(width)s: a cell too many (a comma inside an "
                      "amount?). Nothing of the row is read.", cells=count, width=width)
        return _l("The row has %(cells)s cells but the header has %(width)s: cells are missing.",
                  cells=count, width=width)

    def slow(self, cells):
        """(line or None, [(column, message)]) for a row the fast path refused: strip, normalise, explain."""
        width = self.width_problem(cells)
        if width is not None:
            return None, [(None, width)]  # its cells are not where the header says: no field is checked
        raw = {f: (str(cells[i]).strip() if i is not None and i < len(cells) else "") for f, i in zip(FIELDS, self.idx)}
        problems = []

        def bad(field, message):
            problems.append((self.columns.get(field, (None, field))[1], message))

        month = self.periods.get(raw["period"]) or normalise_period(raw["period"])
        if month is None:
            bad("period", _l("Period %(value)r is not a month (YYYY-MM).", value=raw["period"]) if raw["period"]
                else _l("Period is required."))
        elif month != self.period:
            bad("period", _l("Period %(month)s differs from the statement's period %(period)s.", month=month, period=self.period))
        else:
            self.periods[raw["period"]] = month
        iccid = raw["iccid"]
        problem = iccid_problem(iccid) if iccid else _l("ICCID is required.")
        if problem:
            bad("iccid", problem)
        elif carrier_of(iccid) != self.carrier:
            bad("iccid", _l("ICCID %(iccid)s was issued by %(issuer)s, but this is %(carrier)s's statement.", iccid=iccid,
                            issuer=CARRIER_LABELS[carrier_of(iccid)], carrier=CARRIER_LABELS[self.carrier]))
        msisdn = raw["msisdn"]
        if msisdn and not (11 <= len(msisdn) <= 13 and msisdn.isdigit() and msisdn.isascii()):
            bad("msisdn", _l("%(value)r is not a terminal phone number (11 to 13 digits).", value=msisdn))
        numbers = {}
        for field, limit in (("data_kb", 18), ("sms_count", 9)):
            text = raw[field] or ("0" if field == "sms_count" else "")
            numbers[field] = text
            if not text:
                bad(field, _l("A whole number is required."))
            elif text.lstrip("-").isdigit() and text.isascii() and text.startswith("-"):
                bad(field, _l("%(value)s is negative.", value=text))
            elif not (text.isdigit() and text.isascii() and len(text) <= limit):
                bad(field, _l("%(value)r is not a whole number.", value=text))
        for field in ("plan_fee", "overage_fee", "total_fee"):
            text = numbers[field] = raw[field]
            if not text:
                bad(field, _l("An amount in yuan is required."))
            elif text.startswith("-") and _MONEY.fullmatch(text[1:]):
                bad(field, _l("%(value)s is negative.", value=text))
            elif not _MONEY.fullmatch(text):
                bad(field, _l("%(value)r is not an amount in yuan with at most 2 decimals.", value=text))
        if problems:
            return None, problems
        return (iccid, msisdn, numbers["data_kb"], numbers["sms_count"], numbers["plan_fee"], numbers["overage_fee"],
                numbers["total_fee"]), []


def is_blank(cells):
    """A row without a single non-blank cell (skipped by the checks, its number kept)."""
    return not any(c.strip() for c in cells if c)


def first_line(rows, columns, carrier=None, period=None):
    """Read rows until the statement's carrier and period can be told; returns (carrier, period, rows read).

    The period is the first data row's unless given (drop folder); the carrier is the first valid ICCID's
    issuer unless given. Rows read are handed back as they came, so they are checked like every other row.
    """
    seen = []
    i_iccid, i_period = columns["iccid"][0], columns["period"][0]
    for number, row in rows:
        cells = cells_of(row)
        if not any(cells):
            continue  # blank rows are skipped by the checks too
        seen.append((number, row))
        if period is None and i_period < len(cells):
            period = normalise_period(cells[i_period])
        if carrier is None and i_iccid < len(cells) and not iccid_problem(str(cells[i_iccid]).strip()):
            carrier = carrier_of(str(cells[i_iccid]).strip())
        if (carrier and period) or len(seen) >= MAX_LISTED:  # else the rest are checked (and refused) as they stream
            break
    return carrier, period, seen


def numbered(rows):
    """Data rows numbered as in the spreadsheet (header = 1); blank rows are skipped by the checks."""
    return enumerate(rows, start=2)
