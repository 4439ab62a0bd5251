"""Ending a service's unit of work."""
from sqlalchemy.exc import IntegrityError

from .errors import Conflict
from .extensions import db


def commit_or_conflict(message, field=None):
    """Commit; when a database constraint refuses it (a race lost after our checks), roll back and answer 409."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message, {field: [message]} if field else None) from None
