"""RQ entry points: thin functions that take ids and call services inside an app context.

Each job is wrapped by ``job``: on an RQ worker it runs in the worker's app context (built once per
process when there is none) as actor "job:<module>.<function>"; inline (no Redis) it runs in the
caller's context as the caller.
"""
import contextlib
import os
from functools import wraps

from flask import has_app_context

_app = {"pid": None, "app": None}


def _worker_app():
    if _app["app"] is None or _app["pid"] != os.getpid():
        from insurer_dms import create_app

        _app.update(app=create_app(), pid=os.getpid())
    return _app["app"]


def job(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        from rq import get_current_job

        in_worker = get_current_job() is not None
        if has_app_context() and not in_worker:
            return fn(*args, **kwargs)
        from insurer_dms.activity import set_system_actor
        from insurer_dms.extensions import db

        # `flask worker` already holds an app context (inherited by the forked job process).
        with contextlib.nullcontext() if has_app_context() else _worker_app().app_context():
            set_system_actor(f"job:{fn.__module__}.{fn.__name__}")
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper
