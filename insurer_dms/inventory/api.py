from flask_smorest import Blueprint

blp = Blueprint("inventory_api", __name__, url_prefix="/api", description="inventory")
