"""CLI for API keys and admins: ``flask --app webapp create-api-key NAME [--admin]``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from webapp.auth import create_api_key, set_password
from webapp.db import session_factory, session_scope
from webapp.models import ApiKey, User, utcnow


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
    """Create an admin user, or reset an existing user's password and make them admin."""
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    with session_scope(session_factory()) as session:
        user = session.scalar(select(User).where(User.username == username))
        created = user is None
        if created:
            user = User(username=username, password_hash="")
            session.add(user)
        user.is_admin = True
        set_password(user, password)
    click.echo(f"{'created' if created else 'updated'} admin {username}")


def _when(value) -> str:
    """A timestamp for the listing, or '-'."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"
