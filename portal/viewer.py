"""Who is looking at the page: the one question every template, the language and the time zone
ask, answered without the database when the database is what just failed."""

from __future__ import annotations

from flask import g
from flask_login import current_user


def mark_database_unavailable() -> None:
    """The error page about an unreachable database renders for an anonymous visitor: loading
    the signed-in session would need the database again."""
    g.database_unavailable = True


def database_reachable() -> bool:
    return not g.get("database_unavailable")


def signed_in():
    """Flask-Login's user when someone is signed in, else None."""
    if not database_reachable():
        return None
    return current_user if current_user.is_authenticated else None
