from flask import Blueprint

bp = Blueprint("maintenance_road_checks", __name__, template_folder="templates")
