from flask_smorest import Blueprint

blp = Blueprint("maintenance_sla_api", __name__, url_prefix="/api", description="Ticket SLA and maintenance reports")
