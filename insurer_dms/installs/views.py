from flask import Blueprint

bp = Blueprint("installs", __name__, template_folder="templates")
from . import contractor_views  # noqa: E402,F401  (contractor pages share this blueprint)
