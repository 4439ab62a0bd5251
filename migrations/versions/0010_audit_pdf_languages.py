"""audits: the report PDF in two languages, ``pdf`` (Chinese) and ``pdf_en`` (English), both frozen at publishing

``audit_file.format`` grows to 10 characters for ``pdf_en`` and its check constraint names it. No existing row
changes: an audit published before keeps its three files (its ``pdf`` is the former English one).

Revision ID: 0010_audit_pdf_languages
Revises: 0009_statement_confirmation
Create Date: 2026-12-14 09:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_audit_pdf_languages'
down_revision = '0009_statement_confirmation'
branch_labels = None
depends_on = None

BEFORE = ('csv', 'xlsx', 'pdf')
AFTER = BEFORE + ('pdf_en',)


def _formats(formats):
    return "format IN (" + ", ".join(f"'{f}'" for f in formats) + ")"


def upgrade():
    with op.batch_alter_table('audit_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_file_format_known'), type_='check')
        batch_op.alter_column('format', existing_type=sa.String(length=5), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_audit_file_format_known'), _formats(AFTER))


def downgrade():
    # A published audit's files never change (the triggers of 0004 refuse it): an English PDF cannot be dropped, so
    # a database that holds one cannot go back.
    count = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_file WHERE format = 'pdf_en'")).scalar()
    if count:
        raise RuntimeError(f"{count} published audits have an English PDF (pdf_en); their files never change, "
                           "so this database cannot be downgraded below 0010_audit_pdf_languages.")
    with op.batch_alter_table('audit_file', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_audit_file_format_known'), type_='check')
        batch_op.alter_column('format', existing_type=sa.String(length=10), type_=sa.String(length=5),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_audit_file_format_known'), _formats(BEFORE))
