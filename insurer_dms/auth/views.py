from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..errors import error_response
from ..extensions import db
from . import login_limits, service
from .access import ANY_ROLE, SESSION_SECRET_KEY, public, require

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _safe_next(target):
    return target if target and target.startswith("/") and not target.startswith("//") else url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
@public
@login_limits.per_address
@login_limits.per_account
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user:
            session[SESSION_SECRET_KEY] = service.start_session(user)
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong email or password."), "error")
        status = 401  # counted by login_limits
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(429)
def too_many_logins(error):
    """The login limit is spent: the one error body for the API, the login page with the reason for a browser."""
    seconds = login_limits.seconds_to_wait()
    message = _("Too many failed logins. Try again in %(seconds)s seconds.", seconds=seconds)
    headers = {"Retry-After": str(seconds)}
    if request.accept_mimetypes.best == "application/json":
        return error_response(429, "Too Many Requests", message, headers=headers)
    flash(message, "error")
    return render_template("auth/login.html", form=LoginForm()), 429, headers


@bp.route("/logout", methods=["POST"])
@require(*ANY_ROLE)
def logout():
    service.end_session(session.pop(SESSION_SECRET_KEY, None))
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def language():
    """Choose the page language; kept on the user when logged in, else in the session."""
    locale = request.form.get("locale")
    if locale in ("en", "zh_CN"):
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
