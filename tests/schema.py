"""Building the test database schema: only through the Alembic migrations, as in production."""
from flask_migrate import upgrade
from sqlalchemy import MetaData, text

from insurer_dms.extensions import db


def drop_everything():
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        meta = MetaData()
        meta.reflect(bind=db.engine)
        meta.drop_all(bind=db.engine)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def build_schema():
    """Drop everything and run every migration (tests/test_migrations.py checks they match the models)."""
    drop_everything()
    upgrade()
