"""What a reconciliation found: the summary, the filterable results and the discrepancy export for the carrier.

Every line and every missing SIM has one result. A plain match (matched to the fen, no flag, booked by its run) is
not stored: the line itself and its ledger entry (the truck it was booked to) say everything about it, and a
million-line statement is mostly plain matches. The queries here add them back, so the API, pages and exports see
every result; only their ``id`` is None.
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, exists, false, func, literal, null, or_, select, text

from .. import labels
from ..errors import Conflict, NotFound
from ..exports import Sheet, csv_bytes, xlsx_bytes
from ..extensions import db
from ..fleet.models import Truck
from ..ledger.models import STATEMENT_LINE, LedgerEntry, statement_line_id
from ..types import Money
from . import charges
from .models import OUTCOMES, ReconciliationResult, Sim, Statement, StatementLine

FLAGS = ("zero_usage_installed", "over_allowance")
R = ReconciliationResult


def get_statement(statement_id):
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(_l("No statement %(id)s.", id=statement_id))
    return statement


def _fen_sum(column):
    return func.coalesce(func.sum(text(charges.fen_sql(f"reconciliation_result.{column}"))), 0)


def finished_statement(statement_id):
    """The statement, if a reconciliation of it has finished (else 409)."""
    statement = get_statement(statement_id)
    if statement.finished_at is None:
        raise Conflict(_l("Statement %(id)s is not reconciled yet (status %(status)s).", id=statement_id, status=statement.status),
                       {"status": [statement.status]})
    return statement


def summary(statement_id):
    """Lines, billed and expected totals, and per outcome: count, billed, expected and the difference in dispute."""
    statement = finished_statement(statement_id)
    rows = db.session.execute(
        select(R.outcome, func.count(), _fen_sum("billed"), _fen_sum("expected"), _fen_sum("difference"),
               func.sum(case((R.zero_usage_installed, 1), else_=0)), func.sum(case((R.over_allowance, 1), else_=0)))
        .where(R.statement_id == statement.id).group_by(R.outcome)
    ).all()
    outcomes = {o: {"count": 0, "billed": charges.cny(0), "expected": charges.cny(0), "difference": charges.cny(0)}
                for o in OUTCOMES}
    flags = dict.fromkeys(FLAGS, 0)
    disputed_fen = stored_lines = stored_billed_fen = 0
    for outcome, count, billed, expected, difference, zero_usage, over in rows:
        outcomes[outcome] = {"count": count, "billed": charges.cny(billed), "expected": charges.cny(expected),
                             "difference": charges.cny(difference)}
        flags["zero_usage_installed"] += int(zero_usage or 0)
        flags["over_allowance"] += int(over or 0)
        if outcome != "missing":
            stored_lines += count
            stored_billed_fen += int(billed)
        if outcome != "matched" and difference > 0:
            disputed_fen += int(difference)
    # The plain matches not stored: every other line, billed exactly what was expected.
    plain_fen = charges.fen(statement.billed_total) - stored_billed_fen
    matched = outcomes["matched"]
    matched["count"] += statement.line_count - stored_lines
    matched["billed"] += charges.cny(plain_fen)
    matched["expected"] += charges.cny(plain_fen)
    return {
        "statement_id": statement.id, "carrier": statement.carrier, "period": statement.period,
        "version": statement.version, "status": statement.status, "lines": statement.line_count,
        "billed_total": statement.billed_total, "expected_total": statement.expected_total,
        # what the carrier billed beyond what is owed: the amount to claim back
        "amount_in_dispute": charges.cny(disputed_fen),
        "outcomes": outcomes, "flags": flags, "finished_at": statement.finished_at,
    }


def _stored(statement_id):
    """The stored results with their row, MSISDN and plate."""
    return (
        select(R.id, R.line_id, StatementLine.row_no.label("row"), R.sim_id, R.iccid,
               func.coalesce(StatementLine.msisdn, Sim.msisdn).label("msisdn"), R.truck_id, Truck.plate, R.outcome,
               R.billed, R.expected, R.difference, R.zero_usage_installed, R.over_allowance)
        .outerjoin(StatementLine, StatementLine.id == R.line_id)
        .outerjoin(Sim, Sim.id == R.sim_id)
        .outerjoin(Truck, Truck.id == R.truck_id)
        .where(R.statement_id == statement_id)
    )


def _plain_matches(statement_id):
    """Lines without a stored result: plain matches, their truck the one their ledger entry was booked to."""
    L, E = StatementLine, LedgerEntry
    category = case((L.plan_fee != 0, "sim_plan_fee"), else_="sim_overage")
    month = select(Statement.period).where(Statement.id == statement_id).scalar_subquery()
    booked = and_(E.source_type == STATEMENT_LINE, E.period == month, statement_line_id() == L.id,
                  E.category == category, E.reverses_id.is_(None))
    return (
        select(cast(null(), Integer).label("id"), L.id.label("line_id"), L.row_no.label("row"), Sim.id.label("sim_id"),
               L.iccid, func.coalesce(L.msisdn, Sim.msisdn).label("msisdn"), E.truck_id, Truck.plate,
               literal("matched").label("outcome"), L.total_fee.label("billed"), L.total_fee.label("expected"),
               cast(literal(0), Money()).label("difference"), false().label("zero_usage_installed"),
               false().label("over_allowance"))
        .select_from(L).join(E, booked)
        .outerjoin(Sim, Sim.iccid == L.iccid)
        .outerjoin(Truck, Truck.id == E.truck_id)
        .where(L.statement_id == statement_id,
               ~exists().where(R.statement_id == statement_id, R.line_id == L.id))
    )


def results_query(statement_id, outcome=None, flag=None, q=None, discrepancies_only=False):
    """Every result as a row (id, line_id, row, sim_id, iccid, msisdn, truck_id, plate, outcome, billed, expected,
    difference, zero_usage_installed, over_allowance), in statement row order, missing SIMs last."""
    parts = []
    for part in (_stored(statement_id), _plain_matches(statement_id)):
        cols = part.selected_columns
        if outcome:
            part = part.where(cols.outcome == outcome)
        if flag:
            part = part.where(cols[flag].is_(True))
        if q:
            part = part.where(cols.iccid.contains(q.strip(), autoescape=True))
        if discrepancies_only:
            part = part.where(or_(cols.outcome != "matched", cols.zero_usage_installed.is_(True),
                                  cols.over_allowance.is_(True)))
        parts.append(part)
    if outcome not in (None, "matched") or flag or discrepancies_only:
        parts = parts[:1]  # plain matches have neither another outcome nor a flag
    every = parts[0].union_all(*parts[1:]).subquery() if len(parts) > 1 else parts[0].subquery()
    return select(every).order_by(case((every.c.row.is_(None), 1), else_=0), every.c.row, every.c.iccid)


def _item(row):
    item = dict(row._mapping)
    item["reason"] = reason(row)
    return item


def results_page(statement_id, outcome=None, flag=None, q=None, page=1, page_size=50):
    """One page of results as the list envelope ``{items, total, page, page_size, pages}``."""
    from flask import current_app

    finished_statement(statement_id)
    stmt = results_query(statement_id, outcome, flag, q)
    page_size = min(page_size, current_app.config["PAGE_SIZE_MAX"])
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(page_size).offset((page - 1) * page_size)).all()
    return {"items": [_item(r) for r in rows], "total": total, "page": page, "page_size": page_size,
            "pages": max(1, -(-total // page_size))}


outcome_labels = labels.reconciliation_outcome_labels
flag_labels = labels.reconciliation_flag_labels


def reason(result):
    """A sentence the carrier can read, for the outcome and flags of one result."""
    amounts = {"billed": result.billed, "expected": result.expected}
    texts = {
        "matched": "",
        "overbilled": _("Billed %(billed)s, but %(expected)s is due for this month.", **amounts),
        "underbilled": _("Billed %(billed)s, but %(expected)s is due for this month.", **amounts),
        "unknown_sim": _("This SIM is not one of ours."),
        "inactive_billed": _("The SIM was not in service in this month."),
        "missing": _("Our SIM was in service but is not on the statement; %(expected)s expected.", **amounts),
        "duplicate_line": _("The ICCID was already billed on an earlier row."),
        "line_inconsistent": _("Plan fee plus overage fee is not the total fee."),
    }
    parts = [texts[result.outcome]] if texts[result.outcome] else []
    if result.zero_usage_installed:
        parts.append(_("No data used although the device is installed on a truck."))
    if result.over_allowance:
        parts.append(_("More than 1.5 times the plan's allowance used."))
    return " ".join(parts)


def _export_header():
    return [_("Row"), "ICCID", "MSISDN", _("Billed (CNY)"), _("Expected (CNY)"), _("Difference (CNY)"), _("Outcome"),
            _("Flags"), _("Reason")]


def discrepancy_rows(statement_id):
    """Every result that is not a clean match (outcome other than matched, or a flag), as export rows."""
    for result in db.session.execute(
            results_query(statement_id, discrepancies_only=True).execution_options(yield_per=2000)):
        codes = [f for f in FLAGS if getattr(result, f)]
        flags = [labels.cell("reconciliation_flag", f) for f in codes]  # codes in English, labels otherwise
        yield [result.row, result.iccid, result.msisdn, result.billed, result.expected, result.difference,
               labels.cell("reconciliation_outcome", result.outcome), (" " if flags == codes else "、").join(flags),
               reason(result)]


def discrepancies_csv(statement_id):
    """The discrepancy export as UTF-8 CSV with a byte-order mark (Excel opens it with the Chinese intact)."""
    finished_statement(statement_id)
    return csv_bytes([_export_header(), *discrepancy_rows(statement_id)])


def discrepancies_xlsx(statement_id):
    """The discrepancy export as an XLSX workbook (amounts as numbers with two decimals), streamed row by row."""
    finished_statement(statement_id)
    return xlsx_bytes([Sheet(_("Discrepancies"), _with_header(discrepancy_rows(statement_id)))])


def _with_header(rows):
    yield _export_header()
    yield from rows
