"""A statement counts only when the file is whole: a file cut mid-line, a row wider or shorter than the header and a
file longer than STATEMENT_MAX_ROWS are refused (422, the row's number, nothing stored) on every path that reads a
statement: the column check (Arrow, PostgreSQL), the line loop, the csv module (quoted files), XLSX; through the
API, the upload page and the drop folder."""
import io

import pytest
from sqlalchemy import select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.sims import statement_columns
from insurer_dms.sims.models import Statement
from insurer_dms.sims.statements import pick_up_dropped
from insurer_dms.storage import storage
from tests.factories import upload, xlsx_bytes
from tests.test_statements_ingest import EN, lines, no_statement_objects, stored_counts  # noqa: F401  (autouse fixture)

URL = "/api/statements"
CUT = "The file ends in this row without a line break: the file may have been cut short. Upload the complete file."


def plain(rows, newline="\n", header=EN):
    """A quote-free CSV (what billing systems write): the header, then ``rows``, each line ended by ``newline``."""
    return "".join(",".join(r) + newline for r in [header, *rows]).encode()


def quoted(rows):
    """The same cells, every one quoted: read by the csv module."""
    return "".join(",".join(f'"{c}"' for c in r) + "\n" for r in [EN, *rows]).encode()


@pytest.fixture(params=["columns", "line loop"])
def path(request, app, monkeypatch):
    """Which reader a quote-free CSV takes: the column check (PostgreSQL only) or the line loop. ``path.calls``
    counts the uploads the column check read."""
    calls = []
    check = statement_columns.check

    def counted(*args, **kwargs):
        calls.append(1)
        return check(*args, **kwargs)

    with app.app_context():
        dialect = db.engine.dialect.name
    if request.param == "columns":
        if dialect != "postgresql":
            pytest.skip("the column check runs on PostgreSQL only")
        monkeypatch.setattr(statement_columns, "check", counted)
    else:
        def refuse(data, cells):
            raise statement_columns.NotColumnar("this test wants the line loop")

        monkeypatch.setattr(statement_columns, "batches", refuse)

    class Path:
        name = request.param

    Path.calls = calls
    return Path


def refused(resp):
    """(row, column, message) of a 422 that stored nothing."""
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    return [(r["row"], r["column"], r["message"]) for r in resp.json["rows"]]


def nothing_stored(app):
    assert stored_counts(app) == (0, 0)
    with app.app_context():
        assert storage().list("statements/") == []


# ---------------------------------------------------------------- a file cut short


@pytest.mark.parametrize("cut", ["10.0", "1"])
def test_a_file_cut_mid_line_whose_last_row_still_reads_is_refused_on_its_last_row(app, ops, path, cut):
    """``...,10.00`` cut to ``...,10.0`` or ``...,1`` is still a line of the right width with good values: only the
    missing line break tells the file was cut. It must not become a new version that replaces the real bill."""
    rows = lines(20)
    rows[-1][5:] = ["10.00", "0.00", "10.00"]
    data = plain(rows)
    data = data[:data.rindex(b"10.00\n") + len(cut)]  # the last line ends in ...,10.0 or ...,1
    assert data.endswith(f",{cut}".encode())
    assert refused(upload(ops, URL, data, "september.csv")) == [(21, None, CUT)]
    assert upload(ops, URL, data, "september.csv").json["message"] == "1 row(s) are invalid; nothing was imported."
    nothing_stored(app)
    if path.name == "columns":
        assert path.calls  # the column check saw the file and refused its last row itself


def test_a_complete_last_row_without_its_line_break_is_refused_too(app, ops, path):
    """Whatever was cut, a last line without a line break cannot be told from a cut one."""
    data = plain(lines(5), newline="\r\n")[:-2]
    assert refused(upload(ops, URL, data, "s.csv")) == [(6, None, CUT)]
    nothing_stored(app)


def test_a_file_cut_inside_a_cell_of_an_earlier_column_gives_both_problems_of_its_last_row(app, ops, path):
    """Cut after the period, the last row is short: the line loop explains both what is wrong with it."""
    data = plain(lines(5))
    data = data[:data.rindex(b",2026-09,") + len(",2026-09")]
    problems = refused(upload(ops, URL, data, "s.csv"))
    assert [(r, c) for r, c, _ in problems] == [(6, None), (6, None)]
    assert problems[0][2] == "The row has 3 cells but the header has 8: cells are missing."
    assert problems[1][2] == CUT
    assert upload(ops, URL, data, "s.csv").json["message"] == "1 row(s) are invalid; nothing was imported."


def test_a_cut_quoted_file_is_refused_by_the_csv_module_path_too(app, ops):
    data = quoted(lines(6))[:-3]  # ..."21.50" cut: ends in "21.5, the quote never closed, no line break
    problems = refused(upload(ops, URL, data, "quoted.csv"))
    assert problems == [(7, None, CUT)]
    nothing_stored(app)


def test_a_bad_last_row_that_is_cut_counts_once_with_both_problems(app, ops, path):
    rows = lines(4)
    rows[-1][2] = "2026-08"
    data = plain(rows)[:-1]
    problems = refused(upload(ops, URL, data, "s.csv"))
    assert [(r, c) for r, c, _ in problems] == [(5, None), (5, "period")]
    assert upload(ops, URL, data, "s.csv").json["message"].startswith("1 row(s) are invalid")


def test_blank_lines_after_the_last_row_are_no_row_even_without_a_line_break(app, ops, path):
    """A last row followed by a line break is whole; an empty row after it (",,,,,,,", as spreadsheets write) is no
    row at all, ended or not."""
    resp = upload(ops, URL, plain(lines(3)) + b",,,,,,,", "s.csv")
    assert resp.status_code == 202, resp.json
    assert resp.json["line_count"] == 3


def test_a_file_cut_exactly_at_a_line_boundary_reads_as_a_complete_shorter_file(app, ops, path):
    """Every line of it is whole: its syntax cannot tell. That is what the comparison with the version it would
    supersede is for (tests/test_statements_confirmation.py): as a first version it is simply stored."""
    data = plain(lines(10))
    data = data[:data.index(b"\n", len(data) // 2) + 1]
    resp = upload(ops, URL, data, "s.csv")
    assert resp.status_code == 202 and resp.json["line_count"] < 10


# ---------------------------------------------------------------- rows of another width


@pytest.mark.parametrize("damage, cells, message", [
    ("comma in the total", 9, "The row has 9 cells but the header has 8: a cell too many (a comma inside an amount?). "
                              "Nothing of the row is read."),
    ("cell at the end", 9, None),
    ("short row", 7, "The row has 7 cells but the header has 8: cells are missing."),
])
def test_a_row_wider_or_shorter_than_the_header_is_refused_with_its_number(app, ops, path, damage, cells, message):
    """``...,7,00`` once stored a total of 7.00, the cell beyond the header dropped: now nothing of it is guessed."""
    rows = lines(30)
    if damage == "comma in the total":
        rows[12][5:] = ["7.00", "0.00", "7", "00"]
    elif damage == "cell at the end":
        rows[12].append("")
    else:
        rows[12] = rows[12][:7]
    problems = refused(upload(ops, URL, plain(rows), "s.csv"))
    assert [(r, c) for r, c, _ in problems] == [(14, None)]
    assert problems[0][2].startswith(f"The row has {cells} cells but the header has 8")
    if message:
        assert problems[0][2] == message
    nothing_stored(app)


def test_quoted_files_are_held_to_the_headers_width_too(app, ops):
    rows = lines(5)
    rows[2] = rows[2] + ["extra"]
    rows[3] = rows[3][:6]
    problems = refused(upload(ops, URL, quoted(rows), "q.csv"))
    assert [(r, c) for r, c, _ in problems] == [(4, None), (5, None)]
    assert problems[0][2].startswith("The row has 9 cells") and problems[1][2].startswith("The row has 6 cells")


def test_a_header_with_a_trailing_comma_wants_rows_with_one_too(app, ops, path):
    """The header's cells are the width, named or not: a consistent file with an empty last column is fine."""
    rows = [r + [""] for r in lines(4)]
    assert upload(ops, URL, plain(rows, header=EN + [""]), "s.csv").status_code == 202
    rows = [r + [""] for r in lines(4, start=10)]
    rows[1].pop()
    problems = refused(upload(ops, URL, plain(rows, header=EN + [""]), "t.csv"))
    assert problems == [(3, None, "The row has 8 cells but the header has 9: cells are missing.")]


def test_an_xlsx_row_with_a_value_beyond_the_header_is_refused(app, ops):
    """openpyxl pads every row to the sheet's width: empty cells beyond the header are fine, a value is not."""
    rows = [[r[0], int(r[1]), r[2], int(r[3]), int(r[4]), float(r[5]), float(r[6]), float(r[7])] for r in lines(5)]
    rows[1] = rows[1] + [None, None]  # empty cells beyond the header: the sheet is two columns wider
    assert upload(ops, URL, xlsx_bytes(EN, rows), "ok.xlsx").status_code == 202
    rows = [[r[0], int(r[1]), r[2], int(r[3]), int(r[4]), float(r[5]), float(r[6]), float(r[7])] for r in lines(5, start=20)]
    rows[3] = rows[3] + [None, 0]  # 7,00 split in two cells: 7 in the total, 0 beyond the header
    rows[3][7] = 7
    problems = refused(upload(ops, URL, xlsx_bytes(EN, rows), "wide.xlsx"))
    assert problems == [(5, None, "The row has a value in column 10, beyond the header's 8 columns.")]


# ---------------------------------------------------------------- the row limit


@pytest.fixture
def max_rows(app, monkeypatch):
    monkeypatch.setitem(app.config, "STATEMENT_MAX_ROWS", 6)
    return 6


def test_a_file_within_the_row_limit_is_read(app, ops, path, max_rows):
    rows = lines(5)
    rows.insert(2, [""] * 8)  # a blank row counts: it was read
    resp = upload(ops, URL, plain(rows), "s.csv")
    assert resp.status_code == 202 and resp.json["line_count"] == 5


@pytest.mark.parametrize("kind", ["plain", "quoted", "xlsx"])
def test_a_file_over_the_row_limit_is_refused_naming_the_limit(app, ops, path, max_rows, kind, monkeypatch):
    monkeypatch.setattr(statement_columns, "BLOCK", 64)  # the column check meets the limit a few blocks in
    rows = lines(7)
    if kind == "xlsx":
        data, name = xlsx_bytes(EN, rows), "s.xlsx"
    else:
        data, name = (plain(rows) if kind == "plain" else quoted(rows)), "s.csv"
    resp = upload(ops, URL, data, name)
    assert resp.status_code == 422
    message = "The file has more than 6 rows (the limit set by STATEMENT_MAX_ROWS); nothing was imported."
    assert resp.json["message"] == message and resp.json["errors"] == {"file": [message]}
    nothing_stored(app)


def test_the_default_row_limit_is_five_million(app):
    assert app.config["STATEMENT_MAX_ROWS"] == 5_000_000


# ---------------------------------------------------------------- every way in


def test_the_upload_page_shows_the_cut_row(app, ops):
    data = plain(lines(4))[:-3]
    resp = upload(ops, "/statements/upload", data, "cut.csv")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="import-errors"' in page and "<td>5</td>" in page and "cut short" in page
    nothing_stored(app)


def test_the_upload_page_refuses_a_row_of_another_width(app, ops):
    rows = lines(4)
    rows[1][7:] = ["21", "50"]
    resp = upload(ops, "/statements/upload", plain(rows), "wide.csv")
    assert resp.status_code == 422 and "The row has 9 cells but the header has 8" in resp.get_data(as_text=True)


def test_a_cut_file_in_the_drop_folder_is_refused_and_recorded(app, path):
    with app.app_context():
        storage().put("statements/china_mobile/2026-09.csv", plain(lines(6))[:-4])
        storage().put("statements/china_mobile/2026-10.csv", plain(lines(3, period="2026-10")))
        result = pick_up_dropped()
        assert result["failed"] == ["statements/china_mobile/2026-09.csv"] and len(result["ingested"]) == 1
        failure = db.session.scalar(select(Activity).where(Activity.entity_type == "statement_drop"))
        assert failure.after["rows"] == [{"row": 7, "column": None, "message": CUT}]
        assert db.session.scalars(select(Statement.period)).all() == ["2026-10"]


def test_a_drop_folder_file_over_the_row_limit_is_refused_naming_the_limit(app, max_rows):
    with app.app_context():
        storage().put("statements/china_mobile/2026-09.csv", plain(lines(8)))
        assert pick_up_dropped()["failed"] == ["statements/china_mobile/2026-09.csv"]
        failure = db.session.scalar(select(Activity).where(Activity.entity_type == "statement_drop"))
        assert "STATEMENT_MAX_ROWS" in failure.after["message"]


def test_an_api_upload_with_a_declared_carrier_is_checked_whole_too(app, ops):
    resp = ops.post(URL, data={"file": (io.BytesIO(plain(lines(3))[:-1]), "s.csv"), "carrier": "china_mobile"},
                    content_type="multipart/form-data")
    assert refused(resp) == [(4, None, CUT)]
