"""``flask statements ...``: the pending sweep and the drop-folder pick-up, by hand (cron.py runs them too)."""
import click
from flask.cli import AppGroup

from ..activity import set_system_actor

statements_cli = AppGroup("statements", help="Carrier statements.")


@statements_cli.command("sweep")
def sweep():
    """Enqueue the reconciliation of every statement still queued (after Redis was down)."""
    from .statements import sweep_queued

    set_system_actor("cli")
    counts = sweep_queued()
    click.echo(f"pending {counts['pending']}, enqueued {counts['enqueued']}, already in the queue {counts['in_queue']}"
               + (" (Redis is down: try again later)" if counts["redis_down"] else ""))
    if counts["redis_down"]:
        raise SystemExit(1)


@statements_cli.command("pick-up")
def pick_up():
    """Ingest statement files dropped at statements/<carrier>/<YYYY-MM>.<csv|xlsx> in object storage."""
    from .statements import pick_up_dropped

    set_system_actor("cli")
    result = pick_up_dropped()
    click.echo(f"ingested {len(result['ingested'])}, skipped {result['skipped']}, failed {len(result['failed'])}")
    for key in result["failed"]:
        click.echo(f"  refused: {key}")
