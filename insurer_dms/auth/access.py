"""Who may call what: the ``require`` decorator, session and bearer-token loading, CSRF for sessions."""
from functools import wraps

from flask import g, request
from flask_babel import gettext, pgettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from ..extensions import csrf, db, login
from .models import Role, User

OPS, CONTRACTOR, REVIEWER = Role.OPS.value, Role.CONTRACTOR.value, Role.REVIEWER.value
ANY_ROLE = (OPS, CONTRACTOR, REVIEWER)


def require(*roles):
    """Declare the roles that may call a view: 401 when anonymous, 403 for any other role.

    The roles are kept on the view as ``access_roles`` so a test can prove every endpoint declares them.
    """
    roles = tuple(r.value if isinstance(r, Role) else r for r in roles)
    if not roles:
        raise ValueError("require() needs at least one role")

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthorized(_l("Log in or send an Authorization: Bearer token."))
            if current_user.role.value not in roles:
                raise Forbidden(_l("This needs the role %(roles)s.", roles=LazyString(_role_names, roles)))
            return view(*args, **kwargs)

        wrapper.access_roles = roles
        return wrapper

    return decorate


def _role_names(roles):
    """The roles of a refusal as the user reads them ("ops or contractor")."""
    names = {OPS: pgettext("role in a refusal", "ops"), CONTRACTOR: pgettext("role in a refusal", "contractor"),
             REVIEWER: pgettext("role in a refusal", "reviewer")}
    return gettext(" or ").join(names.get(role, role) for role in roles)


def public(view):
    """Mark a view as open to anonymous users (login page, health)."""
    view.access_roles = ("public",)
    return view


def company_id():
    """The contractor company of the current user, or None for insurer staff."""
    return current_user.company_id if current_user.role is Role.CONTRACTOR else None


@login.user_loader
def _load_user(user_id):
    user = db.session.get(User, int(user_id))
    return user if user and user.active else None


@login.request_loader
def _load_user_from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    from .service import user_for_token

    user = user_for_token(header[7:].strip())
    if user is not None:
        g.token_auth = True
    return user


def bearer_request():
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def protect_session_requests():
    """CSRF applies to requests authenticated by the session cookie, not to bearer-token calls."""
    if request.method in ("GET", "HEAD", "OPTIONS") or bearer_request():
        return
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return  # no session to forge with; the view answers 401
    csrf.protect()
