from flask import Blueprint

bp = Blueprint("sims", __name__, template_folder="templates")
