"""Who may do what: the one permission table of the staff console.

Every staff view names its permission (``views.requires``) and every staff service function
checks it again (``check``), so a route added without one fails the role-matrix test and a
service called from elsewhere cannot skip the rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.models import StaffRole


class Permission(enum.StrEnum):
    CONSOLE = "console"  # the start page: anyone signed in
    SEARCH = "search"  # find borrowers (masked results)
    VIEW_BORROWER = "view_borrower"  # the borrower view and its audit trail
    ASSIST = "assist"  # assisted actions: clear a lockout, send a fresh link
    DECIDE_PLANS = "decide_plans"  # the plan review queue
    RECONCILE = "reconcile"  # payments Stripe has not confirmed in time
    AUDIT = "audit"  # the audit log, its filters and its CSV export
    MANAGE_STAFF = "manage_staff"  # staff accounts: list, end sessions, disable


_AGENT = {Permission.CONSOLE, Permission.SEARCH, Permission.VIEW_BORROWER, Permission.ASSIST, Permission.RECONCILE}
GRANTS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.AGENT: frozenset(_AGENT),
    StaffRole.SUPERVISOR: frozenset(_AGENT | {Permission.DECIDE_PLANS}),
    # Compliance is independent of collection: it may look, never act on an account's collection.
    StaffRole.COMPLIANCE: frozenset(
        {Permission.CONSOLE, Permission.SEARCH, Permission.VIEW_BORROWER, Permission.AUDIT}
    ),
    StaffRole.ADMIN: frozenset({Permission.CONSOLE, Permission.MANAGE_STAFF}),
}

ROLE_LABELS = {
    StaffRole.AGENT: _l("Customer service agent"),
    StaffRole.SUPERVISOR: _l("Supervisor"),
    StaffRole.COMPLIANCE: _l("Compliance officer"),
    StaffRole.ADMIN: _l("Administrator"),
}


@dataclass(frozen=True)
class Actor:
    """The member of staff a service acts for: who (for the audit) and with which role."""

    staff_id: int
    username: str
    role: StaffRole
    ip: str | None = None

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


class NotAllowed(Exception):
    """The actor's role does not grant this permission (views answer 403)."""


def check(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise NotAllowed(f"{actor.role} may not {permission}")
