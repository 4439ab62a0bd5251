"""statement lines note repeated ICCIDs; lighter indexes on statement lines and ledger entries; statements say when
they were booked

All make uploading and reconciling a million-line statement cheaper: the upload notes each line's earlier row with
the same ICCID while the rows stream past (no grouping pass over a million ICCIDs later); a statement's lines are
found by a block-range (BRIN) index of statement_id instead of a unique B-tree of (statement_id, row_no) (the upload
numbers rows itself); booking a million entries no longer builds a text B-tree of their sources (statement lines'
entries are found through their month) nor a B-tree of a million equal months (a BRIN index: entries are appended
roughly in month order); statement.booked_at says the statement's lines are in the ledger, so a re-run does not
look for them. SQLite, which has no BRIN, gets B-trees.

Revision ID: 0007_line_repeats_ledger_indexes
Revises: 0006_ledger
Create Date: 2026-12-07 02:10:00
"""
from alembic import op
import sqlalchemy as sa

import insurer_dms.types


# revision identifiers, used by Alembic.
revision = '0007_line_repeats_ledger_indexes'
down_revision = '0006_ledger'
branch_labels = None
depends_on = None

OTHERS = sa.text("source_type <> 'statement_line'")


def upgrade():
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_row', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_statement_line_statement_row', type_='unique')
        batch_op.create_index('ix_statement_line_statement_id', ['statement_id'], unique=False, postgresql_using='brin')
    # Lines stored before: their repeats, as the upload now notes them.
    op.execute("""
        UPDATE statement_line SET first_row = f.first_row
        FROM (SELECT statement_id, iccid, MIN(row_no) AS first_row FROM statement_line
              GROUP BY statement_id, iccid HAVING COUNT(*) > 1) f
        WHERE statement_line.statement_id = f.statement_id AND statement_line.iccid = f.iccid
          AND statement_line.row_no > f.first_row
    """)

    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked_at", insurer_dms.types.UTCDateTime(timezone=True), nullable=True))
    # Statements booked before: those whose lines have ledger entries.
    op.execute("""
        UPDATE statement SET booked_at = COALESCE(finished_at, created_at)
        WHERE EXISTS (SELECT 1 FROM ledger_entry e JOIN statement_line l ON CAST(e.source_id AS INTEGER) = l.id
                      WHERE e.source_type = 'statement_line' AND e.period = statement.period
                        AND l.statement_id = statement.id)
    """)

    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_source')
        batch_op.drop_index('ix_ledger_entry_period')
        batch_op.create_index('ix_ledger_entry_source', ['source_type', 'source_id'], unique=False,
                              postgresql_where=OTHERS, sqlite_where=OTHERS)
        batch_op.create_index('ix_ledger_entry_period', ['period'], unique=False, postgresql_using='brin')


def downgrade():
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_period')
        batch_op.drop_index('ix_ledger_entry_source')
        batch_op.create_index('ix_ledger_entry_period', ['period'], unique=False)
        batch_op.create_index('ix_ledger_entry_source', ['source_type', 'source_id'], unique=False)

    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_column('booked_at')

    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_line_statement_id')
        batch_op.create_unique_constraint('uq_statement_line_statement_row', ['statement_id', 'row_no'])
        batch_op.drop_column('first_row')
