from flask import Blueprint

bp = Blueprint("sims", __name__, template_folder="templates")
from . import reconciliation_views, statement_views  # noqa: E402,F401  (more pages on this blueprint)
