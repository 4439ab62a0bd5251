from flask import Blueprint

bp = Blueprint("audits", __name__, template_folder="templates")
