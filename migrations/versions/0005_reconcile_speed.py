"""reconciliation speed: statement lines, results and ledger entries without per-row foreign key checks

Only the indexes queries use, partial where most rows have no value (a carrier statement writes a million lines
and a million ledger entries).

Revision ID: 0005_reconcile_speed
Revises: 0004_maintenance_audits
Create Date: 2026-11-25 14:40:00

Why each change is safe is written on the models (sims/models.py StatementLine and ReconciliationResult,
ledger/models.py LedgerEntry): every row of these tables is written by code that read the referenced rows in the
same transaction, and none of the referenced rows is ever deleted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_reconcile_speed'
down_revision = '0004_maintenance_audits'
branch_labels = None
depends_on = None

PARTIAL = ("truck_id", "device_id", "company_id")


def upgrade():
    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_line_statement_iccid')
        batch_op.drop_constraint('fk_statement_line_statement_id_statement', type_='foreignkey')

    with op.batch_alter_table('reconciliation_result', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliation_result_sim_id')
        batch_op.drop_constraint('uq_reconciliation_result_line_id', type_='unique')
        batch_op.drop_constraint('fk_reconciliation_result_line_id_statement_line', type_='foreignkey')
        batch_op.drop_constraint('fk_reconciliation_result_sim_id_sim', type_='foreignkey')
        batch_op.drop_constraint('fk_reconciliation_result_truck_id_truck', type_='foreignkey')
        batch_op.drop_constraint('fk_reconciliation_result_statement_id_statement', type_='foreignkey')

    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_category')
        batch_op.drop_constraint('uq_ledger_entry_reverses_id', type_='unique')
        batch_op.drop_constraint('fk_ledger_entry_reverses_id_ledger_entry', type_='foreignkey')
        batch_op.drop_constraint('fk_ledger_entry_company_id_contractor_company', type_='foreignkey')
        batch_op.drop_constraint('fk_ledger_entry_device_id_device', type_='foreignkey')
        batch_op.drop_constraint('fk_ledger_entry_truck_id_truck', type_='foreignkey')
        for column in PARTIAL:
            batch_op.drop_index(f'ix_ledger_entry_{column}')
            where = sa.text(f'{column} IS NOT NULL')
            batch_op.create_index(f'ix_ledger_entry_{column}', [column], unique=False, postgresql_where=where,
                                  sqlite_where=where)
        where = sa.text('reverses_id IS NOT NULL')
        batch_op.create_index('uq_ledger_entry_reverses_id', ['reverses_id'], unique=True, postgresql_where=where,
                              sqlite_where=where)


def downgrade():
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('uq_ledger_entry_reverses_id')
        for column in PARTIAL:
            batch_op.drop_index(f'ix_ledger_entry_{column}')
            batch_op.create_index(f'ix_ledger_entry_{column}', [column], unique=False)
        batch_op.create_foreign_key('fk_ledger_entry_truck_id_truck', 'truck', ['truck_id'], ['id'])
        batch_op.create_foreign_key('fk_ledger_entry_device_id_device', 'device', ['device_id'], ['id'])
        batch_op.create_foreign_key('fk_ledger_entry_company_id_contractor_company', 'contractor_company', ['company_id'], ['id'])
        batch_op.create_foreign_key('fk_ledger_entry_reverses_id_ledger_entry', 'ledger_entry', ['reverses_id'], ['id'])
        batch_op.create_unique_constraint('uq_ledger_entry_reverses_id', ['reverses_id'])
        batch_op.create_index('ix_ledger_entry_category', ['category'], unique=False)

    with op.batch_alter_table('reconciliation_result', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_reconciliation_result_statement_id_statement', 'statement', ['statement_id'], ['id'])
        batch_op.create_foreign_key('fk_reconciliation_result_truck_id_truck', 'truck', ['truck_id'], ['id'])
        batch_op.create_foreign_key('fk_reconciliation_result_sim_id_sim', 'sim', ['sim_id'], ['id'])
        batch_op.create_foreign_key('fk_reconciliation_result_line_id_statement_line', 'statement_line', ['line_id'], ['id'])
        batch_op.create_unique_constraint('uq_reconciliation_result_line_id', ['line_id'])
        batch_op.create_index('ix_reconciliation_result_sim_id', ['sim_id'], unique=False)

    with op.batch_alter_table('statement_line', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_statement_line_statement_id_statement', 'statement', ['statement_id'], ['id'])
        batch_op.create_index('ix_statement_line_statement_iccid', ['statement_id', 'iccid'], unique=False)
