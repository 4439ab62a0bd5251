"""The upload's fast path on PostgreSQL: a plain CSV statement checked a column at a time, with Apache Arrow.

Checked one line at a time in Python, a million-line statement costs about 3 µs a line (regular expression, Luhn,
the repeated-ICCID note, the COPY text), and the upload waits for Python while PostgreSQL, storing the lines beside
it, has time to spare. Here Arrow reads the file in C++, a block at a time (every cell as text), and the checks run
over whole columns: each cell against the same regular expression as the line loop's (``LineChecker.cell_patterns``;
RE2 here), the period against the spellings seen, the ICCIDs' Luhn digits in numpy. Only the repeated-ICCID note
stays a Python dictionary (one look-up a row). Good rows go to COPY as CSV written by Arrow, a block at a time, while
PostgreSQL stores the previous block. A row that fails a column check takes the line loop's own path for suspicious
rows (a blank row is skipped, ``LineChecker.slow`` explains or normalises the rest), so a file gets the same lines,
row numbers, notes and messages on either path (tests/test_statements_columns.py compares them).

``batches`` raises ``NotColumnar`` for a file Arrow cannot read so: not UTF-8, or a row with another number of cells
than the header. That can come mid-way, after blocks were written: the caller stores the lines under a savepoint and
gives the file to the line loop (``statements._store_lines``), which also takes every file with quotes and every XLSX.
So a row of another width is always the line loop's to refuse, with its number. The rest of the file's shape is
checked here as there: reading stops once more than ``checker.max_rows`` rows came (a block at a time), and a file
whose last line has no line break (``checker.shape.unterminated``) has its last row refused as cut.
"""
import io
from decimal import Decimal

import numpy as np
import pyarrow as pa
from pyarrow import compute as pc
from pyarrow import csv

from .statement_file import FIELDS, cut_row_message, is_blank, too_many_rows

BLOCK = 1 << 21  # bytes of the file per Arrow batch (about 28,000 lines)


class NotColumnar(Exception):
    """Arrow cannot read the file as a plain CSV of the header's width (the line loop will)."""


def batches(data, cells):
    """The data rows of a quote-free CSV of ``cells`` columns as Arrow record batches of text (columns c0, c1...),
    read as they are asked for; raises NotColumnar, at once or mid-way, when Arrow cannot read the file so (not
    UTF-8, a row of another width)."""
    names = [f"c{i}" for i in range(cells)]
    try:
        reader = csv.open_csv(
            io.BytesIO(data),
            read_options=csv.ReadOptions(skip_rows=1, column_names=names, block_size=BLOCK),
            parse_options=csv.ParseOptions(quote_char=False, double_quote=False, escape_char=False,
                                           newlines_in_values=False, ignore_empty_lines=False),
            convert_options=csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                               strings_can_be_null=False),
        )
        yield from reader
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError) as err:
        raise NotColumnar(str(err)) from err


# The digit sum of 2 x d for every byte value less "0" (a non-digit gives anything: its row failed its pattern).
_DOUBLED = np.array([(2 * d) % 10 + (2 * d) // 10 if d < 10 else 0 for d in range(256)], dtype=np.uint8)


def _luhn_ok(iccids):
    """Luhn check of every 19 or 20-character string of a text array (others: anything), as a numpy bool array."""
    text = iccids.buffers()[2]
    if text is None or text.size == 0:  # no rows, or only empty cells
        return np.zeros(len(iccids), dtype=bool)
    offsets = np.frombuffer(iccids.buffers()[1], dtype=np.int32)[iccids.offset:iccids.offset + len(iccids) + 1]
    data = np.frombuffer(text, dtype=np.uint8)
    ends = offsets[1:].astype(np.int64)
    # The last 20 bytes of each string, right-aligned: the check digit last, then every other digit doubled.
    at = np.clip(ends[:, None] - 20 + np.arange(20), 0, len(data) - 1)
    digits = data[at] - np.uint8(48)
    digits[(ends - offsets[:-1]) < 20, 0] = 0  # a 19-digit ICCID: the byte before it is not its digit
    total = _DOUBLED[digits[:, 0::2]].sum(axis=1, dtype=np.int64) + digits[:, 1::2].sum(axis=1, dtype=np.int64)
    return total % 10 == 0


def check(rows, checker, problems, write, statement_id):
    """Check every row of ``rows`` (``batches``) like ``LineChecker.check``; good lines go to ``write(bytes)`` as COPY
    CSV rows of ``statements.LINE_COLUMNS``, a batch at a time, until a row fails. Returns (lines, billed total)."""
    index = dict(zip(FIELDS, checker.idx))
    patterns = {f: f"^(?:{p})$" for f, p in checker.cell_patterns().items() if index[f] is not None}
    spellings = pa.array(sorted(checker.spellings), type=pa.string())
    # ICCID -> its first good row, as in the line loop (text keys: one dictionary for the whole file)
    first_of = {}.setdefault
    count, billed, writing, start, last = 0, Decimal("0.00"), True, 0, None
    for part in rows:
        n = part.num_rows
        if checker.max_rows is not None and start + n > checker.max_rows:
            raise too_many_rows(checker.max_rows)
        if n:
            last = part
        column = {f: part.column(i) for f, i in index.items() if i is not None}
        ok = pc.is_in(column["period"], value_set=spellings)
        for field, pattern in patterns.items():
            ok = pc.and_(ok, pc.match_substring_regex(column[field], pattern))
        ok = ok.to_numpy(zero_copy_only=False) & _luhn_ok(column["iccid"])
        keys = column["iccid"].to_pylist()
        normalised = []
        for at in np.flatnonzero(~ok).tolist():  # the rare suspicious rows, one at a time, as the line loop does
            number, cells, keys[at] = start + at + 2, [c[at].as_py() for c in part.columns], None
            if not any(c.strip() for c in cells if c):
                continue  # a blank row
            line, row_problems = checker.slow(cells)
            if row_problems:
                problems.add_row(number, row_problems)
                writing = False  # nothing more is written: the upload fails
                continue
            keys[at] = line[0]
            normalised.append((at, line))
        numbers = np.arange(start + 2, start + 2 + n, dtype=np.int64)
        firsts = np.fromiter((m if k is None else first_of(k, m) for k, m in zip(keys, numbers.tolist())),
                             dtype=np.int64, count=n)
        repeated = firsts != numbers
        good = int(ok.sum())
        count += good + len(normalised)
        if good:
            billed += pc.sum(pc.cast(column["total_fee"].filter(ok), pa.decimal128(12, 2))).as_py()
        extra = []
        for at, (i, m, kb, sms, p, o, t) in normalised:
            billed += Decimal(t)
            extra.append(f"{statement_id},{at + start + 2},{i},{m},{kb},{sms or 0},{p},{o},{t},"
                         f"{firsts[at] if repeated[at] else ''}\n")
        start += n
        if not writing:
            continue
        lines = pa.table({
            "statement_id": pa.array(np.full(n, statement_id, dtype=np.int64)),
            "row_no": pa.array(numbers),
            "iccid": column["iccid"],
            "msisdn": column.get("msisdn", pa.nulls(n, pa.string())),  # NULL: empty in COPY's CSV
            "data_kb": column["data_kb"],
            "sms_count": column.get("sms_count", pa.array(np.zeros(n, dtype=np.int64))),
            "plan_fee": column["plan_fee"],
            "overage_fee": column["overage_fee"],
            "total_fee": column["total_fee"],
            "first_row": pa.array(firsts, mask=~repeated),  # NULL unless the ICCID came on an earlier row
        }).filter(ok)
        out = io.BytesIO()
        csv.write_csv(lines, out, csv.WriteOptions(include_header=False, quoting_style="none"))
        payload = out.getvalue() + "".join(extra).encode()
        if payload:  # a block of blank rows writes nothing
            write(payload)
    if checker.shape.unterminated and last is not None and not is_blank([c[-1].as_py() for c in last.columns]):
        problems.add_row(start + 1, [(None, cut_row_message())])  # the file's last row (the header is row 1)
    return count, billed
