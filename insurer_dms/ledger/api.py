from flask_smorest import Blueprint

blp = Blueprint("ledger_api", __name__, url_prefix="/api", description="The cost ledger (its reports come with the ledger issue)")
