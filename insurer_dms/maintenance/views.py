from flask import Blueprint

bp = Blueprint("maintenance", __name__, template_folder="templates")
