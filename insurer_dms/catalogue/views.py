from flask import Blueprint

bp = Blueprint("catalogue", __name__, template_folder="templates")
