from flask_smorest import Blueprint

blp = Blueprint("sims_statement_api", __name__, url_prefix="/api", description="sims: statement")
