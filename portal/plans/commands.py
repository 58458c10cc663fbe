"""`portal policy …` and `portal plans …`: the administrators' and reviewers' commands.

Each command is one transaction (portal/cli.py) and calls the plan services, never a view.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.cli import transactional
from portal.extensions import db
from portal.models import Lender, PlanFrequency, PlanKind, RejectionReason
from portal.plans import arithmetic as calc
from portal.plans import policy as policies
from portal.plans import service

DECISIONS = ("approve", "reject", "counter")
REASONS = [member.value for member in RejectionReason]
KINDS = [member.value for member in PlanKind]


def _lender(code: str) -> Lender:
    lender = db.session.execute(select(Lender).where(Lender.code == code)).scalar_one_or_none()
    if lender is None:
        raise click.ClickException(f"no lender with code {code!r}")
    return lender


@click.group("policy")
def policy_group() -> None:
    """Repayment-plan policies (one versioned policy per lender)."""


@policy_group.command("show")
@click.argument("lender_code")
@with_appcontext
@transactional
def policy_show(lender_code: str) -> None:
    """Print the lender's current policy as TOML (the format `policy set` reads)."""
    version = policies.current(_lender(lender_code).id)
    if version is None:
        raise click.ClickException(f"{lender_code} has no plan policy yet: plans can only be agreed by phone")
    click.echo(f"# {lender_code} plan policy, version {version.version}, set {version.created_at:%Y-%m-%d %H:%M} UTC")
    click.echo(policies.to_toml(version.policy), nl=False)


@policy_group.command("set")
@click.argument("lender_code")
@click.argument("policy_file", type=click.File("r", encoding="utf-8"))
@with_appcontext
@transactional
def policy_set(lender_code: str, policy_file) -> None:
    """Store a TOML (or .json) policy file as the lender's next policy version."""
    lender = _lender(lender_code)
    try:
        policy = policies.load_file(policy_file.read(), filename=policy_file.name)
    except policies.InvalidPolicy as invalid:
        for problem in invalid.problems:
            click.echo(f"- {problem}", err=True)
        raise click.ClickException(f"policy refused: {len(invalid.problems)} problem(s), nothing changed") from None
    version = policies.set_policy(lender, policy, actor_type="cli")
    click.echo(f"{lender_code}: policy version {version.version} saved")


@click.group("plans")
def plans_group() -> None:
    """Repayment plans waiting for a person."""


@plans_group.command("pending")
@with_appcontext
@transactional
def plans_pending() -> None:
    """List proposals waiting for review, the earliest promised answer first."""
    found = service.pending()
    for plan in found:
        schedule = ", ".join(f"{i.due_date} {i.amount_minor}" for i in plan.instalments[:3])
        more = f" … ({len(plan.instalments)} payments)" if len(plan.instalments) > 3 else ""
        click.echo(
            f"{plan.public_id}  {plan.account.account_number}  {plan.kind}  total {plan.total_minor} {plan.currency}  "
            f"answer by {plan.review_due_at:%Y-%m-%d %H:%M} UTC  reasons: {','.join(plan.review_reasons) or '-'}  "
            f"hardship: {plan.hardship_reason}\n    {schedule}{more}"
        )
    click.echo(f"{len(found)} proposal(s) waiting")


@plans_group.command("decide")
@click.argument("plan_id")
@click.argument("decision", type=click.Choice(DECISIONS))
@click.option("--staff", default="cli", show_default=True, help="Who decides (recorded in the audit log).")
@click.option("--reason", "reasons", multiple=True, type=click.Choice(REASONS), help="Why (reject).")
@click.option("--note", help="A note the borrower reads, in their language.")
@click.option("--kind", type=click.Choice(KINDS), default=PlanKind.INSTALMENTS.value, show_default=True)
@click.option("--instalments", type=click.IntRange(1, 999), default=1, help="Counter-offer: number of payments.")
@click.option("--frequency", type=click.Choice([m.value for m in PlanFrequency]), help="Counter-offer: how often.")
@click.option("--first-date", type=click.DateTime(["%Y-%m-%d"]), help="Counter-offer: first payment date.")
@with_appcontext
@transactional
def plans_decide(plan_id, decision, staff, reasons, note, kind, instalments, frequency, first_date) -> None:
    """Approve, reject (with --reason) or counter (with --instalments, --frequency, --first-date) a proposal."""
    try:
        if decision == "approve":
            plan = service.approve(plan_id, staff=staff, note=note)
        elif decision == "reject":
            plan = service.reject(plan_id, staff=staff, reasons=[RejectionReason(r) for r in reasons], note=note)
        else:
            if first_date is None:
                raise click.ClickException("a counter-offer needs --first-date")
            proposal = calc.Proposal(
                PlanKind(kind),
                date.fromisoformat(first_date.date().isoformat()),
                instalments,
                PlanFrequency(frequency) if frequency else None,
            )
            plan = service.counter(plan_id, proposal, staff=staff, note=note)
    except service.PlanRefused as refused:
        details = "; ".join(p.code for p in refused.problems)
        raise click.ClickException(f"{refused.code}{': ' + details if details else ''}") from None
    click.echo(f"{plan.public_id}: {plan.status}")


@plans_group.command("sweep")
@with_appcontext
@transactional
def plans_sweep() -> None:
    """Reminders, missed-payment notes and plans ended after the grace days (cron, any machines)."""
    from portal.plans.sweep import sweep

    result = sweep()
    click.echo(result.summary())
    for plan_id in result.broken:
        click.echo(f"ended: {plan_id}")


COMMANDS = (policy_group, plans_group)
