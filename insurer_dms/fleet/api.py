from flask_smorest import Blueprint

blp = Blueprint("fleet_api", __name__, url_prefix="/api", description="fleet")
