"""Creating users and tokens, checking passwords, tokens and login sessions."""
import hashlib
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import activity
from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..transactions import race_guard
from ..types import utcnow
from .models import ApiToken, ContractorCompany, Role, User, UserSession

TOKEN_PREFIX = "idms_"


def get_or_create_company(name):
    company = db.session.scalar(select(ContractorCompany).where(ContractorCompany.name == name))
    if company is None:
        company = ContractorCompany(name=name)
        db.session.add(company)
        activity.record("create", company)
    return company


@race_guard()  # the same e-mail (or a new company's name) registered at the same moment: 409
def create_user(email, role, password=None, company=None):
    """Create a user; contractors must belong to a company. Returns (user, password)."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise invalid("email", _l("Not a valid email address."))
    try:
        role = Role(role)
    except ValueError:
        raise invalid("role", _l("Role must be one of ops, contractor, reviewer."))
    if role is Role.CONTRACTOR and not company:
        raise invalid("company", _l("A contractor user needs a company."))
    if role is not Role.CONTRACTOR and company:
        raise invalid("company", _l("Only contractor users belong to a company."))
    if db.session.scalar(select(User).where(User.email == email)):
        raise Conflict(_l("User %(email)s already exists.", email=email), {"email": [_l("Already exists.")]})
    password = password or secrets.token_urlsafe(12)
    if len(password) < 8:
        raise invalid("password", _l("Use at least 8 characters."))
    user = User(email=email, role=role, password_hash=_hash_password(password))
    if company:
        user.company = get_or_create_company(company)
    db.session.add(user)
    activity.record("create", user, after={"email": email, "role": role.value, "company": company})
    db.session.commit()
    return user, password


def _hash_password(password):
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


_dummy_hashes = {}


def dummy_password_hash():
    """A hash of a random password made with the configured method, checked when the e-mail is unknown."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _dummy_hashes[method]


def authenticate(email, password):
    """The active user with this e-mail and password, or None.

    Every attempt checks exactly one password hash, made with the configured method (a dummy one for an
    unknown e-mail), and an inactive user's too: the answer takes as long whether the account exists or not.
    """
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    matches = check_password_hash(user.password_hash if user else dummy_password_hash(), password or "")
    return user if user is not None and matches and user.active else None


def set_password(user, password=None):
    """Give ``user`` a new password (generated when None) and end every session of theirs. Returns the password."""
    password = password or secrets.token_urlsafe(12)
    if len(password) < 8:
        raise invalid("password", _l("Use at least 8 characters."))
    user.password_hash = _hash_password(password)
    ended = end_all_sessions(user)
    activity.record("set_password", user, after={"sessions_ended": ended})
    db.session.commit()
    return password


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name=None):
    """Issue a bearer token for ``user``; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, token_hash=hash_token(token), prefix=token[:10], name=name)
    db.session.add(row)
    activity.record("create", row, after={"user": user.email, "name": name, "prefix": row.prefix})
    db.session.commit()
    return row, token


def user_by_email(email):
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(_l("No user %(email)s.", email=email))
    return user


def user_for_token(token):
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    # Touch at most once a minute so reads do not write on every request.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
        db.session.commit()
    return row.user


def revoke_token(user, token_id):
    row = db.session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role is not Role.OPS):
        raise NotFound(_l("No such token."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        activity.record("revoke", row, after={"revoked_at": row.revoked_at})
        db.session.commit()
    return row


# --- login sessions ---------------------------------------------------------------------------

def start_session(user):
    """Record a new login of ``user``; returns the secret the session cookie carries (only its hash is stored)."""
    secret = secrets.token_urlsafe(32)
    db.session.add(UserSession(user=user, secret_hash=hash_token(secret)))
    db.session.commit()
    return secret


def user_for_session(user_id, secret):
    """The active user of a live login session, or None once it was ended (logout, password change)."""
    if not isinstance(secret, str) or not secret or not str(user_id).isdigit():
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.secret_hash == hash_token(secret)))
    if row is None or row.user_id != int(user_id) or not row.user.active:
        return None
    now = utcnow()
    # Touch at most once a minute so reads do not write on every request.
    if (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        db.session.commit()
    return row.user


def end_session(secret):
    """Forget one login session (logout): its cookie, wherever a copy is kept, no longer authenticates."""
    if secret:
        db.session.execute(delete(UserSession).where(UserSession.secret_hash == hash_token(secret)))
        db.session.commit()


def end_all_sessions(user):
    """Forget every login session of ``user`` in the current transaction; returns how many there were."""
    return db.session.execute(delete(UserSession).where(UserSession.user_id == user.id)).rowcount
