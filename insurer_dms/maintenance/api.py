from flask_smorest import Blueprint

blp = Blueprint("maintenance_api", __name__, url_prefix="/api", description="Maintenance tickets and their SLAs")
