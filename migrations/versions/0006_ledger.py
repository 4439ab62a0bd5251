"""the cost ledger is append-only: PostgreSQL refuses UPDATE and DELETE of ledger_entry

Revision ID: 0006_ledger
Revises: 0005_reconcile_speed
Create Date: 2026-11-25 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006_ledger'
down_revision = '0005_reconcile_speed'
branch_labels = None
depends_on = None


def upgrade():
    # A ledger entry is never changed or removed: a correction is a reversing entry plus a new one
    # (insurer_dms/ledger/service.py). The ORM refuses it too; the trigger holds for every other client.
    # TRUNCATE (a whole-database reset, as the tests do between cases) is not a row change and stays possible.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger entry % cannot be changed or deleted: post a correction instead', OLD.id;
            END;
            $$;
            CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
                FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();
            """
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry")
        op.execute("DROP FUNCTION IF EXISTS ledger_entry_append_only()")
