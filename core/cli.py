"""Command-line commands: `flask --app app users create ...`, `flask --app app seed`."""

import os
import sys

import click
from flask.cli import AppGroup

from core.auth.models import Role
from core.extensions import db

users_cli = AppGroup("users", help="Manage staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", default="none", help="admin, edit, read-only or none")
@click.option("--name", default="", help="Display name")
def create_user_command(email: str, role: str, name: str) -> None:
    """Create a user; the password comes from TIDINGS_PASSWORD or standard input."""
    from core.auth.operations import UserError, create_user

    password = os.environ.get("TIDINGS_PASSWORD")
    if password is None:
        password = sys.stdin.readline().rstrip("\n")
    try:
        user = create_user(email, password, Role.parse(role), name)
    except (UserError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.email} ({user.role.label})")


@click.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users.")
def seed_command(if_empty: bool) -> None:
    """Load the demo business: clients, appointments and staff of every role."""
    from core.demo import seed_demo

    created = seed_demo(if_empty=if_empty)
    db.session.commit()
    click.echo(created)


def register(app) -> None:
    """Attach the commands to the app."""
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_command)
