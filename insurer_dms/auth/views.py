from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..extensions import db
from . import service
from .access import ANY_ROLE, public, require

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _safe_next(target):
    return target if target and target.startswith("/") and not target.startswith("//") else url_for("web.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = service.authenticate(form.email.data, form.password.data)
        if user:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Wrong email or password."), "error")
        status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@require(*ANY_ROLE)
def logout():
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
