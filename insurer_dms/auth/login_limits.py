"""How many failed logins an account and an address may make (Flask-Limiter), and the answer when they are spent.

Only failed attempts count (a login answered 401), so the staff of a branch behind one address are not locked out by
their own successful logins; the limit is checked before the password, so a blocked attempt costs no hash work.
"""
import hashlib
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter


def _account_key():
    """The e-mail being tried, as its digest (rate-limit keys sit in Redis; e-mail addresses need not)."""
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def _address_key():
    return "address:" + (get_remote_address() or "")


def _failed(response):
    return response.status_code == 401


per_account = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_account_key,
                            methods=["POST"], deduct_when=_failed)
per_address = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], key_func=_address_key,
                            methods=["POST"], deduct_when=_failed)


def seconds_to_wait():
    """Whole seconds until the breached limit lets this client try again (at least 1)."""
    spent = limiter.current_limit
    return max(1, int(spent.reset_at - time.time()) + 1) if spent else 60
