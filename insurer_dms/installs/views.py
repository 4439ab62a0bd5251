from flask import Blueprint

bp = Blueprint("installs", __name__, template_folder="templates")
