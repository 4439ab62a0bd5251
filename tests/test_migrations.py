"""The Alembic migrations produce exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from insurer_dms.extensions import db


def test_migrations_match_the_models(ctx):
    # The session's database was built by `flask db upgrade` (tests/schema.py), never by create_all.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_activity_log_is_append_only_in_the_database(ctx, ops):
    """On PostgreSQL a trigger refuses UPDATE and DELETE of activity rows, whatever the code does."""
    import pytest
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; the ORM guard is tested on every backend")
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE activity SET note = 'tampered'"))
    with pytest.raises(Exception, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM activity"))


def test_orm_refuses_to_edit_activity(ctx, ops):
    import pytest

    from insurer_dms.activity import Activity

    entry = db.session.scalars(db.select(Activity)).first()
    entry.note = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
