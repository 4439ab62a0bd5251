from flask_smorest import Blueprint

blp = Blueprint("catalogue_api", __name__, url_prefix="/api", description="catalogue")
