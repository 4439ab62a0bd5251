from flask_smorest import Blueprint

blp = Blueprint("installs_evidence_api", __name__, url_prefix="/api", description="installs: evidence")
