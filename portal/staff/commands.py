"""`portal staff …`: staff accounts from the command line (passwords from a prompt or stdin)."""

from __future__ import annotations

import getpass
import sys

import click
from flask.cli import with_appcontext

from portal.cli import transactional
from portal.models import StaffRole
from portal.staff import accounts


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _password() -> str:
    # A prompt on a terminal (asked twice), else the first line of stdin: never an argument,
    # which would sit in the shell's history and the process list.
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


@click.group("staff")
def staff_group() -> None:
    """Staff accounts: create, disable, reset a password."""


@staff_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in StaffRole]))
@with_appcontext
@transactional
def staff_create(username: str, role: str) -> None:
    """Create a staff account; the password comes from a prompt (or stdin). The person sets up
    an authenticator app at their first sign-in."""
    try:
        staff = accounts.create(username, StaffRole(role), _password(), by=_operator())
    except accounts.StaffError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{staff.username} ({staff.role}) created; the authenticator is set up at first sign-in.")


@staff_group.command("disable")
@click.argument("username")
@with_appcontext
@transactional
def staff_disable(username: str) -> None:
    """Disable a staff account and end its sessions at once."""
    try:
        staff = accounts.disable(username, by=_operator())
    except accounts.StaffError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{staff.username} disabled; its sessions have ended.")


@staff_group.command("reset-password")
@click.argument("username")
@with_appcontext
@transactional
def staff_reset_password(username: str) -> None:
    """A new password (prompt or stdin) and a new authenticator set-up; sessions end."""
    try:
        staff = accounts.reset_password(username, _password(), by=_operator())
    except accounts.StaffError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{staff.username}: password reset; the authenticator is set up again at the next sign-in.")
