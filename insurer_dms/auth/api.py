from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select

from ..extensions import db
from ..paging import PageArgs, page_schema, paginate
from . import service
from .access import ANY_ROLE, OPS, require
from .models import ApiToken, User
from .schemas import NewTokenSchema, TokenCreateSchema, TokenSchema, UserCreateSchema, UserSchema

blp = Blueprint("auth_api", __name__, url_prefix="/api", description="Users and API tokens")


@blp.route("/me")
class Me(MethodView):
    @require(*ANY_ROLE)
    @blp.response(200, UserSchema)
    def get(self):
        """The user making the request."""
        return current_user


@blp.route("/users")
class Users(MethodView):
    @require(OPS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(UserSchema, "UserPage"))
    def get(self, args):
        """List users."""
        return paginate(select(User).order_by(User.email), **args)

    @require(OPS)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create a user (the password is set by the caller or generated)."""
        user, _ = service.create_user(data["email"], data["role"], data.get("password"), data.get("company"))
        return user


@blp.route("/tokens")
class Tokens(MethodView):
    @require(*ANY_ROLE)
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """My API tokens (hashes are never shown)."""
        return db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)).all()

    @require(*ANY_ROLE)
    @blp.arguments(TokenCreateSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        """Issue a new API token for myself; the token is in this answer only."""
        row, token = service.create_token(current_user, data.get("name"))
        # The response schema dumps it: hand it the row's values, not an already-dumped dict.
        return {**{name: getattr(row, name) for name in TokenSchema().fields}, "token": token}


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @require(*ANY_ROLE)
    @blp.response(200, TokenSchema)
    def delete(self, token_id):
        """Revoke a token (my own; operations staff may revoke anyone's)."""
        return service.revoke_token(current_user, token_id)
