"""A plain CSV statement on PostgreSQL is checked a column at a time (statement_columns): the same lines, repeated-ICCID
notes, row numbers and messages as the line-at-a-time check, which still takes every other file."""
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import select

from insurer_dms.errors import ImportFailed
from insurer_dms.extensions import db
from insurer_dms.sims import statement_columns
from insurer_dms.sims import statement_file as sf
from insurer_dms.sims.models import StatementLine
from insurer_dms.sims.statements import ingest_statement
from tests.install_factories import bad_iccid, iccid

EN = "iccid,msisdn,period,data_kb,sms_count,plan_fee,overage_fee,total_fee"


def csv_text(header, rows, newline="\r\n"):
    return (newline.join([header, *rows]) + newline).encode("utf-8")


def loop_lines(data):
    """What the line-at-a-time check makes of a file: [(row, iccid, msisdn, data_kb, sms, plan, overage, total,
    first_row)], the line count and the billed total."""
    source, raw = sf.open_rows(data, "statement.csv")
    header = sf.cells_of(next(source))
    columns = sf.header_columns(header)
    rows = sf.numbered(source)
    carrier, period, seen = sf.first_line(rows, columns)
    checker = sf.LineChecker(columns, carrier, period, seen, raw, shape=sf.file_shape(data, "statement.csv", header))
    kept = []
    count, billed = checker.check(itertools.chain(seen, rows), sf.Problems(), kept.extend, 1000)
    return [(n, i, m or None, int(kb), int(sms or 0), Decimal(p), Decimal(o), Decimal(t), first)
            for n, (i, m, kb, sms, p, o, t), first in kept], count, billed


def stored_lines(statement_id):
    L = StatementLine
    return [tuple(r) for r in db.session.execute(
        select(L.row_no, L.iccid, L.msisdn, L.data_kb, L.sms_count, L.plan_fee, L.overage_fee, L.total_fee, L.first_row)
        .where(L.statement_id == statement_id).order_by(L.row_no))]


@pytest.fixture
def columnar_calls(monkeypatch):
    """How many uploads took the column-at-a-time check."""
    calls = []
    check = statement_columns.check

    def counted(*args, **kwargs):
        calls.append(1)
        return check(*args, **kwargs)

    monkeypatch.setattr(statement_columns, "check", counted)
    return calls


def postgresql_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the column-at-a-time check writes COPY CSV: PostgreSQL only (SQLite takes the line loop)")


def row(n, period="2026-09", msisdn=None, kb=None, sms=None, plan="20.00", over="0.00", total=None, number=None):
    total = total or f"{Decimal(plan) + Decimal(over):.2f}"
    return ",".join([iccid(number or n), msisdn if msisdn is not None else f"1440{n:09d}", period,
                     kb if kb is not None else str(1000 * n), sms if sms is not None else str(n % 7), plan, over,
                     total])


def test_a_plain_file_gets_the_lines_the_line_loop_makes_across_blocks(ctx, monkeypatch, columnar_calls):
    postgresql_only()
    monkeypatch.setattr(statement_columns, "BLOCK", 16)  # a block a row: repeats and odd rows across their edges
    rows = [row(n) for n in range(1, 40)]
    rows[3] = row(4, msisdn="")  # no MSISDN: NULL
    rows[9] = row(2)  # repeats row 3 (the first row is row 2: the header is row 1)
    rows[15] = row(2)  # and again, in another slice
    rows[20] = row(21, number=5)  # repeats row 6
    rows[11] = "  " + row(12).replace(",2026-09,", ", 2026/9 ,").replace(",20.00,", ", 20.00 ,", 1)  # normalised
    rows[25] = row(26, number=12)  # repeats the normalised row 13
    rows[29:31] = [",,,,,,,"] * 2  # blank rows, a block of them: skipped, their numbers kept
    rows[33] = ""
    rows[31] = row(32, plan="7", over="0.5", total="7.5")  # whole yuan and one decimal
    data = csv_text(EN, rows)
    expected, count, billed = loop_lines(data)

    statement, created = ingest_statement(data, "cm-2026-09.csv")
    assert created and columnar_calls == [1]
    assert stored_lines(statement.id) == expected
    assert (statement.line_count, statement.billed_total) == (count, billed)
    assert count == 36
    notes = {r[0]: r[8] for r in expected if r[8]}
    assert notes == {11: 3, 17: 3, 22: 6, 27: 13}


def test_chinese_headers_in_another_order_with_a_column_of_our_own_and_none_for_sms(ctx, columnar_calls):
    postgresql_only()
    header = "备注,合计(元),账期,使用流量(KB),ICCID,套餐费(元),超套费(元)"  # no MSISDN, no SMS count

    def zh(n, note):
        return f"{note},{20 + n % 3}.00,202609,{n * 10},{iccid(n + 100)},20.00,{n % 3}.00"

    data = csv_text(header, [zh(n, "正常" if n % 2 else "") for n in range(1, 30)], newline="\n")
    expected, count, billed = loop_lines(data)
    statement, _ = ingest_statement(data, "cm.csv")
    assert columnar_calls == [1]
    assert stored_lines(statement.id) == expected
    assert all(r[2] is None and r[4] == 0 for r in expected)  # no MSISDN, 0 SMS
    assert (statement.period, statement.line_count, statement.billed_total) == ("2026-09", count, billed)


def test_a_19_digit_iccid_is_luhn_checked_like_a_20_digit_one(ctx, columnar_calls):
    postgresql_only()
    from insurer_dms.luhn import check_digit

    body = "898600" + "123456789012"  # 18 digits + check digit = 19
    short = body + check_digit(body)
    data = csv_text(EN, [row(1), f"{short},,2026-09,0,0,20.00,0.00,20.00", row(3)])
    statement, _ = ingest_statement(data, "cm.csv")
    assert columnar_calls == [1]
    assert [r[1] for r in stored_lines(statement.id)] == [iccid(1), short, iccid(3)]

    wrong = short[:-1] + str((int(short[-1]) + 1) % 10)
    with pytest.raises(ImportFailed) as failed:
        ingest_statement(csv_text(EN, [row(1), f"{wrong},,2026-09,0,0,20.00,0.00,20.00"]), "cm.csv")
    assert [(p["row"], p["column"]) for p in failed.value.rows] == [(3, "iccid")]


def refuse(data, cells):
    raise statement_columns.NotColumnar("this test wants the line loop")


def _errors(data):
    """The rows and message of the upload's 422 (nothing is stored)."""
    with pytest.raises(ImportFailed) as failed:
        ingest_statement(data, "cm.csv")
    db.session.rollback()
    return failed.value.rows, str(failed.value)


def test_bad_rows_get_the_same_messages_on_both_paths_and_nothing_is_stored(ctx, monkeypatch, columnar_calls):
    postgresql_only()
    monkeypatch.setattr(statement_columns, "BLOCK", 250)
    rows = [row(n) for n in range(1, 20)]
    rows[2] = row(3).replace(iccid(3), bad_iccid(3))  # Luhn
    rows[5] = row(6, period="2026-08")
    rows[7] = row(8, kb="12x")
    rows[8] = row(9, plan="-3.00", total="-3.00")
    rows[12] = row(13, over="1.234")
    rows[13] = row(14).replace(iccid(14), "89860112345678901234")  # a China Unicom card on China Mobile's bill
    data = csv_text(EN, rows)

    columnar = _errors(data)
    assert columnar_calls == [1]
    monkeypatch.setattr(statement_columns, "batches", refuse)  # the line loop
    assert _errors(data) == columnar
    assert [e["row"] for e in columnar[0]] == [4, 7, 9, 10, 10, 14, 15]
    assert db.session.scalar(select(StatementLine.id).limit(1)) is None


@pytest.mark.parametrize("damage, cells", [("extra cell", 9), ("comma in the total", 9), ("short row", 6)])
def test_a_row_of_another_width_sends_the_file_to_the_line_loop_which_refuses_it(ctx, monkeypatch, columnar_calls,
                                                                                  damage, cells):
    """Arrow stops at a row of another width; the line loop takes the file again and refuses that row, with its
    number: no cell is dropped (``...,7,00`` is not a total of 7.00) and what the column check wrote is gone."""
    postgresql_only()
    monkeypatch.setattr(statement_columns, "BLOCK", 200)  # blocks were written before Arrow meets the row
    rows = [row(n) for n in range(1, 30)]
    rows[20] = {"extra cell": rows[20] + ",extra", "comma in the total": row(21, plan="7.00", total="7,00"),
                "short row": ",".join(row(21).split(",")[:6])}[damage]
    found, message = _errors(csv_text(EN, rows))
    assert columnar_calls == [1]
    assert message == "1 row(s) are invalid; nothing was imported."
    assert [(e["row"], e["column"]) for e in found] == [(22, None)]
    assert f"The row has {cells} cells but the header has 8" in found[0]["message"]
    assert db.session.scalar(select(StatementLine.id).limit(1)) is None


def test_the_luhn_digits_of_a_column_of_iccids():
    import pyarrow as pa

    from insurer_dms.luhn import check_digit

    short = "898600123456789012" + check_digit("898600123456789012")
    column = pa.array(["x", iccid(1), bad_iccid(1), short, short[:-1] + "0" if short[-1] != "0" else short[:-1] + "1"])
    assert statement_columns._luhn_ok(column.slice(1)).tolist() == [True, False, True, False]  # a slice: offsets
    assert statement_columns._luhn_ok(pa.array(["", ""])).tolist() == [False, False]  # a block of blank rows
