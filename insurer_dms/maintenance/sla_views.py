from flask import Blueprint

bp = Blueprint("maintenance_sla", __name__, template_folder="templates")
