from flask import Blueprint

bp = Blueprint("audits_reviewer", __name__, template_folder="templates")
