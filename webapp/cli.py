"""The ``flask --app webapp`` commands: database schema, API keys, admins, experiments."""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from webapp import migrate
from webapp.auth import create_api_key, set_password
from webapp.db import session_factory, session_scope
from webapp.experiments.cli import experiment_cli
from webapp.models import ApiKey, User, utcnow
from webapp.passwords import WeakPassword, check_strength

db_cli = AppGroup("db", help="Database schema commands.")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(revision: str) -> None:
    """Apply migrations up to REVISION; existing rows are kept."""
    url = current_app.config["SAFECANVAS_DATABASE_URL"]
    migrate.upgrade(url, revision)
    click.echo(f"database at revision {migrate.current_revision(url)}")


@db_cli.command("current")
def current_command() -> None:
    """Print the database's revision and the newest one the code knows."""
    url = current_app.config["SAFECANVAS_DATABASE_URL"]
    click.echo(f"current={migrate.current_revision(url)} head={migrate.head_revision()}")


@click.command("create-api-key")
@click.argument("name")
@click.option("--admin", is_flag=True, help="The key may call the admin API.")
@with_appcontext
def create_api_key_command(name: str, admin: bool) -> None:
    """Create an API key and print it once, on the last line (only its hash is stored)."""
    with session_scope(session_factory()) as session:
        row, key = create_api_key(session, name, is_admin=admin)
        click.echo(f"created {'admin ' if admin else ''}key {row.id} ({name}); it is shown once:")
    click.echo(key)


@click.command("revoke-api-key")
@click.argument("key_id", type=int)
@with_appcontext
def revoke_api_key_command(key_id: int) -> None:
    """Revoke the key with id KEY_ID; requests with it get 401 from now on."""
    with session_scope(session_factory()) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise click.ClickException(f"no API key with id {key_id}")
        row.revoked_at = row.revoked_at or utcnow()
    click.echo(f"revoked key {key_id}")


@click.command("list-api-keys")
@with_appcontext
def list_api_keys_command() -> None:
    """List keys: id, name, prefix, admin, created, last used, revoked."""
    with session_scope(session_factory()) as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
        click.echo("id\tname\tprefix\tadmin\tcreated\tlast_used\trevoked")
        for r in rows:
            click.echo(
                f"{r.id}\t{r.name}\t{r.prefix}…\t{'yes' if r.is_admin else 'no'}\t"
                f"{_when(r.created_at)}\t{_when(r.last_used_at)}\t{_when(r.revoked_at)}"
            )


@click.command("create-admin")
@click.argument("username")
@click.option("--password", help="Prompted for (hidden, twice) when omitted.")
@with_appcontext
def create_admin_command(username: str, password: str | None) -> None:
    """Create an admin user, or reset an existing user's password and make them admin.

    A reset ends the user's sessions. The password needs 12 characters or more, must not
    contain the username and must not be one of the 30,000 most common passwords.
    """
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_strength(username, password)  # before any row is written
    except WeakPassword as exc:
        raise click.ClickException(str(exc)) from None
    with session_scope(session_factory()) as session:
        user = session.scalar(select(User).where(User.username == username))
        created = user is None
        if created:
            user = User(username=username, password_hash="")
            session.add(user)
        user.is_admin = True
        set_password(user, password)
    click.echo(f"{'created' if created else 'updated'} admin {username}")


def _when(value: datetime | None) -> str:
    """A timestamp for the listing, or '-'."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@click.command("worker")
@click.option("--name", default=None, help="Celery node name (default gen<pid>@<host>).")
@with_appcontext
def worker_command(name: str | None) -> None:
    """Run a GPU worker: load the model once, then generate jobs from the broker.

    Needs SAFECANVAS_QUEUE=celery and SAFECANVAS_BROKER_URL; pin the device with
    SAFECANVAS_DEVICE=cuda:N or CUDA_VISIBLE_DEVICES. One worker process per GPU.
    """
    app = current_app._get_current_object()
    if app.config["SAFECANVAS_QUEUE"] != "celery":
        raise click.UsageError("set SAFECANVAS_QUEUE=celery (and SAFECANVAS_BROKER_URL)")
    from webapp.jobs.celery_worker import GenerationWorker

    GenerationWorker(app).serve(name, app.config["SAFECANVAS_WORKER_METRICS"])


COMMANDS = (
    db_cli,
    experiment_cli,
    worker_command,
    create_api_key_command,
    revoke_api_key_command,
    list_api_keys_command,
    create_admin_command,
)


def init_app(app: Flask) -> None:
    """Register every command with the app's CLI."""
    for command in COMMANDS:
        app.cli.add_command(command)
