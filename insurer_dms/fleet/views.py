from flask import Blueprint

bp = Blueprint("fleet", __name__, template_folder="templates")
