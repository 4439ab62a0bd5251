from flask_smorest import Blueprint

blp = Blueprint("maintenance_road_checks_api", __name__, url_prefix="/api", description="Road-check findings imports")
