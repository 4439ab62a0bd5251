"""Who may call what: the ``require`` decorator, session and bearer-token loading, CSRF for sessions."""
from functools import wraps

from flask import g, request, session
from flask_babel import gettext, pgettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.exceptions import Forbidden, Unauthorized

from ..extensions import csrf, login
from .models import Role

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


# The Flask session key holding the login session's secret (see models.UserSession).
SESSION_SECRET_KEY = "login_session"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@login.user_loader
def _load_user(user_id):
    """The user of the session cookie, while its login session lives on the server."""
    from .service import user_for_session

    user = user_for_session(user_id, session.get(SESSION_SECRET_KEY))
    if user is not None:
        g.authenticated_by = "session"
    return user


@login.request_loader
def _load_user_from_token(req):
    """The user of a valid bearer token; Flask-Login asks only when the session cookie authenticated no one."""
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    from .service import user_for_token

    user = user_for_token(header[7:].strip())
    if user is not None:
        g.authenticated_by = "token"
    return user


def authenticated_by_token():
    """True when a valid bearer token, not the session cookie, authenticated this request."""
    return current_user.is_authenticated and g.get("authenticated_by") == "token"


def protect_session_requests():
    """CSRF on every unsafe request except those authenticated by a valid bearer token alone.

    A browser adds the session cookie to a forged request by itself, and a forger may add any header it likes, so
    an ``Authorization`` header proves nothing until its token is valid; and when the cookie authenticates the
    request (a cookie and a token together: the session wins in Flask-Login), CSRF applies.
    """
    if request.method in SAFE_METHODS or authenticated_by_token():
        return
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return  # no session to forge with; the view answers 401
    csrf.protect()
