"""Flask CLI commands for the database (``flask --app webapp db upgrade``)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp import migrate

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


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(db_cli)
