"""``flask --app wsgi ...`` commands: users, tokens, demo data, the RQ worker."""
import click
from flask import current_app
from flask.cli import AppGroup

from .activity import set_system_actor

users_cli = AppGroup("users", help="Manage users.")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
demo_cli = AppGroup("demo", help="Demo data.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["ops", "contractor", "reviewer"]), required=True)
@click.option("--company", default=None, help="Contractor company name (contractors only).")
@click.option("--password", default=None, help="Generated and printed when omitted.")
def users_create(email, role, company, password):
    """Create a user."""
    from .auth.service import create_user
    from .errors import DomainError

    set_system_actor("cli")
    try:
        user, password_used = create_user(email, role, password, company)
    except DomainError as err:
        raise click.ClickException(err.message)
    click.echo(f"created {user.email} ({role})" + ("" if password else f" password: {password_used}"))


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", default=None, help="Generated and printed when omitted.")
def users_set_password(email, password):
    """Give EMAIL a new password and end every login session of theirs."""
    from .auth.service import set_password, user_by_email
    from .errors import DomainError

    set_system_actor("cli")
    try:
        password_used = set_password(user_by_email(email), password)
    except DomainError as err:
        raise click.ClickException(str(err.message))
    click.echo(f"new password set for {email}; its sessions are ended" + ("" if password else f"; password: {password_used}"))


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="cli")
def tokens_create(email, name):
    """Issue an API token for EMAIL and print only the token."""
    from .auth.service import create_token, user_by_email
    from .errors import DomainError

    set_system_actor("cli")
    try:
        _, token = create_token(user_by_email(email), name)
    except DomainError as err:
        raise click.ClickException(err.message)
    click.echo(token)


@demo_cli.command("load")
@click.option("--trucks", default=2000, show_default=True)
@click.option("--seed", default=2021, show_default=True)
def demo_load(trucks, seed):
    """Load realistic Chaozhou demo data (idempotent: does nothing if already loaded)."""
    from .demo import load_demo

    set_system_actor("demo")
    for line in load_demo(trucks=trucks, seed=seed):
        click.echo(line)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--with-scheduler", is_flag=True, help="Also run RQ's scheduler for delayed jobs.")
def worker(burst, with_scheduler):
    """Run an RQ worker for this app's queue."""
    from rq import Worker

    from .queue import get_queue, redis_connection

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed.")
    set_system_actor("worker")
    Worker([get_queue()], connection=redis_connection()).work(burst=burst, with_scheduler=with_scheduler)


def register_cli(app):
    for command in (users_cli, tokens_cli, demo_cli, worker):
        app.cli.add_command(command)
    from .sims.cli import statements_cli; app.cli.add_command(statements_cli)  # noqa: E702
