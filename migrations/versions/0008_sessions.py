"""user_session: one row per login, so logging out (or a password change) ends a session on the server

Revision ID: 0008_sessions
Revises: 0007_line_repeats_ledger_indexes
Create Date: 2026-12-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa

import insurer_dms.types


# revision identifiers, used by Alembic.
revision = '0008_sessions'
down_revision = '0007_line_repeats_ledger_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', insurer_dms.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', insurer_dms.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_session_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_user_session_secret_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))

    op.drop_table('user_session')
