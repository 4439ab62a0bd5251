"""The install due date of a truck: one rule, for one truck in Python and for counts in SQL.

The programme goes on after its first deadline: every heavy truck we insure must carry its device by its due date.

- A truck insured by us on or before ``PROGRAMME_DEADLINE`` (its first policy of ours starts that day or before)
  is due on the deadline.
- Any other truck is due ``INSTALL_DUE_DAYS`` days after the start of its first policy of ours.
- Its *first start* is the earliest start date of its policies of ours. Heaviness is what the truck is now (the
  fleet keeps no history of it), so the first policy is the one that made it eligible.
- A truck is **overdue** on a day when it is in the programme's population that day (heavy, a policy of ours in
  force: what progress counts as insured), its due date is before that day, and it has no device on it (no
  current installation: what progress counts as installed; connection is not required). It is overdue by
  ``day - due`` days: due on D, it is overdue by 1 on D + 1, not on D.

The due date never falls when the first start rises, so "due on or before X" is "first start on or before
``latest_start(X)``": SQL compares the first start with a date computed here, with no date arithmetic in SQL (the
same query on PostgreSQL and SQLite), and ``anchor`` groups trucks by a date whose ``due_date`` is theirs.
"""
import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import case, false, func, literal, select

from ..fleet.models import Policy

ONE_DAY = dt.timedelta(days=1)


def deadline():
    """PROGRAMME_DEADLINE as a date."""
    value = current_app.config["PROGRAMME_DEADLINE"]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class DueRule:
    deadline: dt.date
    days: int

    def due_date(self, first_start):
        """The due date of a truck whose first policy of ours starts on ``first_start`` (None: not insured)."""
        if first_start is None:
            return None
        return self.deadline if first_start <= self.deadline else first_start + dt.timedelta(days=self.days)

    def latest_start(self, day):
        """The latest first start whose due date is on or before ``day``; None when no truck is due by then."""
        if day < self.deadline:
            return None
        return max(self.deadline, day - dt.timedelta(days=self.days))

    def due_by(self, first_start, day):
        """Whether the due date is on or before ``day``: ``first_start`` a date (Python) or a column (SQL)."""
        bound = self.latest_start(day)
        if isinstance(first_start, dt.date) or first_start is None:
            return first_start is not None and bound is not None and first_start <= bound
        return false() if bound is None else first_start <= bound

    def past_due(self, first_start, day):
        """Whether the due date is before ``day`` (overdue then unless a device is on the truck); Python or SQL."""
        return self.due_by(first_start, day - ONE_DAY)

    def anchor(self, first_start):
        """SQL: a date whose ``due_date`` is the truck's (the deadline, or the first start after it), to group by."""
        return case((first_start <= self.deadline, literal(self.deadline)), else_=first_start)

    def overdue_days(self, first_start, day):
        """Days past the due date on ``day`` (0 when not yet past it); the caller knows whether a device is on."""
        due = self.due_date(first_start)
        return (day - due).days if due is not None and due < day else 0


def rule():
    """The rule with this application's settings (PROGRAMME_DEADLINE, INSTALL_DUE_DAYS)."""
    return DueRule(deadline(), int(current_app.config["INSTALL_DUE_DAYS"]))


def first_starts():
    """SQL: per truck with a policy of ours, the start of its first one (``truck_id``, ``first_start``)."""
    return (
        select(Policy.truck_id.label("truck_id"), func.min(Policy.start_date).label("first_start"))
        .group_by(Policy.truck_id).subquery("first_policy")
    )


def truck_due(truck, installed, day):
    """One truck's due date and days overdue on ``day``, from its loaded policies; None when it is not heavy or has
    no policy of ours. ``installed``: whether a device is on it now. Overdue only while a policy is in force."""
    if not truck.is_heavy or not truck.policies:
        return None
    current = rule()
    first = min(p.start_date for p in truck.policies)
    in_force = any(p.in_force_on(day) for p in truck.policies)
    late = in_force and not installed and current.past_due(first, day)
    return {"first_start": first, "due_on": current.due_date(first),
            "overdue_days": current.overdue_days(first, day) if late else 0}
