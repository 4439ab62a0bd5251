"""Ending a service's unit of work, and a second transaction beside it."""
import threading
from contextlib import ContextDecorator

from sqlalchemy.exc import IntegrityError

from . import constraints
from .extensions import db


class race_guard(ContextDecorator):
    """Around a unit of work (``with race_guard(): ...`` or ``@race_guard()`` on a service function): a database
    constraint refusing it, at any flush or the commit (a race lost after the service's checks), rolls the session
    back and raises the refusal: 409 with the constraint's friendly message from ``constraints.GUARDS`` (422 for a
    NOT NULL or CHECK violation). ``message`` and ``field``: this unit's own words for any race it loses instead."""

    def __init__(self, message=None, field=None):
        self.message, self.field = message, field

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None or not issubclass(exc_type, IntegrityError):
            return False
        db.session.rollback()
        raise constraints.refusal(exc, self.message, self.field) from None


def commit_or_conflict(message=None, field=None):
    """Commit; when a database constraint refuses it (a race lost after our checks), roll back and answer 409
    (``race_guard``: the constraint's own message unless ``message`` is given)."""
    with race_guard(message, field):
        db.session.commit()


class Beside:
    """``work(connection)`` on a second connection, in a thread, beside the session's transaction; its transaction is
    committed only when told.

        with Beside(db.engine, work) as other:
            ...                      # the session's own writes, at the same time
            answer = other.answer()  # waits for work; re-raises its error
            other.commit()
        db.session.commit()

    Leaving the block without ``commit()`` (an error on either side) rolls the other transaction back. The two
    commits are two: if the process dies between them, the other transaction's writes stay and the session's do
    not, so ``work`` must be something a re-run replaces (derived rows), never the record of what was done.
    """

    def __init__(self, engine, work):
        self._engine, self._work = engine, work
        self._ready, self._decided = threading.Event(), threading.Event()
        self._commit, self._answer, self._error = False, None, None
        self._thread = threading.Thread(target=self._run, name="beside", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def _run(self):
        try:
            with self._engine.connect() as connection:
                try:
                    self._answer = self._work(connection)
                except BaseException as err:
                    self._error = err
                    return
                finally:
                    self._ready.set()
                self._decided.wait()
                if self._commit:
                    connection.commit()  # else the connection's close rolls it back
        except BaseException as err:  # connecting or committing failed
            self._error = err
        finally:
            self._ready.set()

    def answer(self):
        """What ``work`` returned, once it has (its error is raised here)."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self._answer

    def commit(self):
        self.answer()
        self._commit = True
        self._decided.set()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def __exit__(self, *exc):
        self._decided.set()  # not committed by now: rolled back
        self._thread.join()
        return False
