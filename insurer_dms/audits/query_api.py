from flask_smorest import Blueprint

blp = Blueprint("audits_queries_api", __name__, url_prefix="/api", description="Reviewers' queries on audit findings")
