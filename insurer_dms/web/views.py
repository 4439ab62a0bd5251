from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..auth.access import ANY_ROLE, OPS, public, require
from . import service

bp = Blueprint("web", __name__)


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("web.home"))


@bp.route("/home")
@require(*ANY_ROLE)
def home():
    if current_user.role.value != OPS:
        return render_template("home.html", figures=None)
    return render_template("home.html", figures=service.home_figures())


@bp.route("/healthz")
@public
def healthz():
    return {"status": "ok"}
