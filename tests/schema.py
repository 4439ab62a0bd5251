"""Building the test database schema."""
from insurer_dms.extensions import db


def build_schema():
    """Create every table from the models (the migration test checks Alembic yields the same)."""
    db.drop_all()
    db.create_all()
