from flask_smorest import Blueprint

blp = Blueprint("audits_api", __name__, url_prefix="/api", description="No-premium-increase audits and their review")
