"""The append-only activity log: who did what, when, with the state before and after."""
import datetime as dt
import decimal
import enum

from flask import has_request_context
from flask_babel.speaklater import LazyString
from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Index, String, Text, event, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from .types import UTCDateTime, utcnow


class Activity(db.Model):
    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


_system_actor = {"label": "system"}


def set_system_actor(label):
    """Name the actor for work done outside a request (CLI, jobs)."""
    _system_actor["label"] = label


def actor_label():
    """Who is acting now: the logged-in user's email, or the system actor's name."""
    return _actor()[1]


def _actor():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.email
    return None, _system_actor["label"]


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, LazyString):  # a message id carried by a domain error: its text
        return str(value)
    return value


def snapshot(obj, fields=None):
    """The column values of a model instance, as JSON-safe data."""
    names = fields or [c.key for c in obj.__table__.columns]
    return jsonable({n: getattr(obj, n) for n in names})


def record(action, entity, before=None, after=None, note=None, entity_type=None, entity_id=None):
    """Append one activity entry in the current transaction (flushes ``entity`` to get its id)."""
    if entity is not None and getattr(entity, "id", None) is None:
        db.session.flush()
    actor_id, actor = _actor()
    entry = Activity(
        actor_id=actor_id,
        actor=actor,
        action=action,
        entity_type=entity_type or entity.__tablename__,
        entity_id=str(entity_id if entity_id is not None else entity.id),
        before=jsonable(before),
        after=jsonable(after) if after is not None else (snapshot(entity) if entity is not None and action == "create" else None),
        note=note,
    )
    db.session.add(entry)
    return entry


def record_many(entries, note=None):
    """Append many entries in one INSERT (file imports): ``entries`` are (action, entity, before, after)."""
    db.session.flush()  # ids for new entities
    actor_id, actor = _actor()
    at = utcnow()
    rows = [
        {
            "at": at,
            "actor_id": actor_id,
            "actor": actor,
            "action": action,
            "entity_type": entity.__tablename__,
            "entity_id": str(entity.id),
            "before": jsonable(before),
            "after": jsonable(after) if after is not None else (snapshot(entity) if action == "create" else None),
            "note": note,
        }
        for action, entity, before, after in entries
    ]
    if rows:
        db.session.execute(insert(Activity), rows)


def changes(obj, data):
    """Apply ``data`` to ``obj``; return (before, after) of the fields that changed."""
    before, after = {}, {}
    for key, value in data.items():
        old = getattr(obj, key)
        if old != value:
            before[key], after[key] = old, value
            setattr(obj, key, value)
    return jsonable(before), jsonable(after)


def history(entity_type, entity_id):
    return db.session.scalars(
        select(Activity).where(Activity.entity_type == entity_type, Activity.entity_id == str(entity_id)).order_by(Activity.id)
    ).all()


@event.listens_for(Session, "before_flush")
def _activity_is_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Activity) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("the activity log is append-only")
