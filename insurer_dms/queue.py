"""Background jobs: RQ on Redis when REDIS_URL is set, inline in the request otherwise."""
import importlib

from flask import current_app


def redis_connection():
    from redis import Redis

    url = current_app.config.get("REDIS_URL")
    return Redis.from_url(url) if url else None


def get_queue():
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection())


def resolve(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


# Options meant for RQ (retries, job description...), dropped when the job runs inline.
RQ_OPTIONS = ("retry", "description", "job_timeout", "result_ttl", "failure_ttl", "job_id", "depends_on")


def enqueue(func_path, *args, **kwargs):
    """Run ``jobs.<module>.<function>(*args)`` on the queue, or now when no Redis is configured.

    Returns the RQ job, or the function's result when run inline. RQ's own options (``retry=``...) may be passed
    either way. Redis being down raises redis.exceptions.ConnectionError for the caller to decide.
    """
    if current_app.config.get("REDIS_URL"):
        return get_queue().enqueue(func_path, *args, **kwargs)
    return resolve(func_path)(*args, **{k: v for k, v in kwargs.items() if k not in RQ_OPTIONS})
