"""Statement pages on the sims blueprint: the list with filters, the upload page and one statement with its progress."""
import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import activity, fields
from ..auth.access import OPS, require
from ..errors import Conflict, DomainError, ImportFailed
from ..imports import read_upload
from ..labels import statement_state_labels
from ..paging import PageArgs
from ..web.pages import exportable, listing, pager_args
from . import statements
from .models import CARRIERS, STATEMENT_STATES
from .views import bp
from .lists import STATEMENTS


class StatementPageArgs(PageArgs):
    carrier = fields.String(validate=ma.validate.OneOf(CARRIERS))
    period = fields.String(validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    status = fields.String(validate=ma.validate.OneOf(STATEMENT_STATES))


@bp.context_processor
def _statement_choices():
    return {"statement_states": statement_state_labels(), "statement_carriers": CARRIERS}


@bp.route("/statements")
@require(OPS)
@exportable(STATEMENTS.args(StatementPageArgs), STATEMENTS)
def list_statements():
    result, args = listing(STATEMENTS.args(StatementPageArgs)(), STATEMENTS)
    return render_template("sims/statement_list.html", result=result, args=args, query=pager_args())


def _upload():
    """Read the posted file and ingest it; returns (statement, created) or (None, rows to fix) after flashing why."""
    try:
        data, filename = read_upload(request.files.get("file"), max_bytes=current_app.config["MAX_CONTENT_LENGTH"])
        carrier = request.form.get("carrier") or None
        return statements.ingest_statement(data, filename, carrier=carrier, user_id=current_user.id), None
    except ImportFailed as err:
        flash(err.message, "error")
        return None, err.rows
    except DomainError as err:
        message = str(err.message)  # a message id (lazy string) until the error body translates it
        flash("; ".join([message, *[str(m) for msgs in err.errors.values() for m in msgs if str(m) != message]]), "error")
        return None, None


@bp.route("/statements/upload", methods=["GET", "POST"])
@require(OPS)
def upload_statement():
    if request.method == "GET":
        return render_template("sims/statement_upload.html", rows=None)
    result, rows = _upload()
    if result is None:
        return render_template("sims/statement_upload.html", rows=rows), 422
    statement, created = result
    if created and statement.status == "needs_confirmation":
        flash(_("Statement stored (version %(version)s), but it has far fewer lines than the current version: it "
                "counts only once you confirm it.", version=statement.version), "error")
    elif created:
        flash(_("Statement stored (version %(version)s); the reconciliation is queued.", version=statement.version), "success")
    else:
        flash(_("This file was uploaded before; here is that statement."), "success")
    return redirect(url_for("sims.statement_detail", statement_id=statement.id))


@bp.route("/statements/<int:statement_id>")
@require(OPS)
def statement_detail(statement_id):
    statement = statements.get_statement(statement_id)
    return render_template("sims/statement_detail.html", statement=statement, versions=statements.versions_of(statement),
                           comparison=statements.comparison(statement),
                           history=activity.history("statement", statement.id))


def _decide(statement_id, decide, done_message):
    """Confirm or reject a held version from its page; a refusal is flashed."""
    try:
        statement = decide(statement_id)
    except Conflict as err:  # no longer waiting (confirmed, rejected or superseded meanwhile)
        flash(str(err.message), "error")
    else:
        flash(done_message(statement), "success")
    return redirect(url_for("sims.statement_detail", statement_id=statement_id))


@bp.route("/statements/<int:statement_id>/confirm", methods=["POST"])
@require(OPS)
def confirm_statement(statement_id):
    return _decide(statement_id, statements.confirm_statement, lambda s: _(
        "Version %(version)s confirmed: it replaces the earlier versions and is being reconciled.", version=s.version))


@bp.route("/statements/<int:statement_id>/reject", methods=["POST"])
@require(OPS)
def reject_statement(statement_id):
    return _decide(statement_id, statements.reject_statement, lambda s: _(
        "Version %(version)s rejected: it will never count.", version=s.version))
