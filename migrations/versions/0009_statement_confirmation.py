"""statements: a version much smaller than the one it would supersede is held (needs_confirmation) until operations
confirm it, or rejected

The status column grows to 20 characters for ``needs_confirmation`` and its check constraint names the two new states.
No existing row changes: every stored statement keeps its state.

Revision ID: 0009_statement_confirmation
Revises: 0008_sessions
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_statement_confirmation'
down_revision = '0008_sessions'
branch_labels = None
depends_on = None

BEFORE = ('queued', 'running', 'done', 'failed', 'superseded')
AFTER = BEFORE + ('needs_confirmation', 'rejected')


def _states(states):
    return "status IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def upgrade():
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_statement_status_known'), type_='check')
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_statement_status_known'), _states(AFTER))


def downgrade():
    # A held or rejected version has no state to go back to: superseded is the one that never counts.
    op.execute("UPDATE statement SET status = 'superseded' WHERE status IN ('needs_confirmation', 'rejected')")
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_statement_status_known'), type_='check')
        batch_op.alter_column('status', existing_type=sa.String(length=20), type_=sa.String(length=12),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_statement_status_known'), _states(BEFORE))
