"""The `portal` command: the Flask CLI of the app, plus the operators' commands.

`portal --help` works without --app; every command calls a service, never a view.
"""

from __future__ import annotations

import functools
import io
import signal
import sys

import click
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from sqlalchemy import select

from portal.database import command_transaction
from portal.extensions import db
from portal.i18n import LOCALES
from portal.models import LINK_LIFETIME_DAYS, ApiScope, Resolution


def _create_app(*_args):
    from portal import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Sunshine Portal: operators' commands."""


def transactional(command):
    """Run the command as one transaction: committed if it succeeds (portal/database.py)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with command_transaction():
            return command(*args, **kwargs)

    return wrapper


# Files from this size show progress (rows per second and the time left) while they import.
PROGRESS_FROM_BYTES = 256 * 1024
# Problems printed; the rest are counted (``--errors FILE.csv`` writes them all).
PRINTED_PROBLEMS = 100


class _Progress:
    """Rows read against bytes of the file: a bar with rows per second and an estimate of the
    time left, for a file whose number of rows is not known until it has been read."""

    def __init__(self, stream, size: int, label: str) -> None:
        import time

        self._clock = time.monotonic
        self.started = self._clock()
        self.rows = 0
        self.stream = stream
        self.bar = click.progressbar(
            length=size,
            label=label,
            file=sys.stderr,
            show_eta=True,
            item_show_func=self._describe_item,
        )

    def _describe_item(self, _item: int | None) -> str:
        return self.describe()

    def describe(self) -> str:
        elapsed = max(self._clock() - self.started, 1e-6)
        return f"{self.rows:,} rows, {self.rows / elapsed:,.0f} rows/s"

    def lines(self):
        read = 0
        for number, line in enumerate(self.stream):
            read += len(line.encode("utf-8"))
            if number % 1000 == 999:  # the bar redraws every thousand lines, not every line
                self.bar.update(read)
                read = 0
            yield line
        self.bar.update(read)

    def row(self) -> None:
        self.rows += 1


def _write_problems(path: str, problems) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("line", "column", "reason"))
        for problem in problems:
            writer.writerow((problem.line, problem.field, problem.message))


@click.command("import")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--dry-run", is_flag=True, help="Check the file and report every problem; write nothing.")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, writable=True),
    help=f"Write every problem to this CSV file (line, column, reason); the screen shows the first {PRINTED_PROBLEMS}.",
)
@with_appcontext
@transactional
def import_command(csv_file, dry_run: bool, errors_path: str | None) -> None:
    """Import or update accounts from a CSV file (all rows or none).

    The optional as_of column says when the loan core took the figures (default: now); see
    README, "Figures and payments".
    """
    import os

    from portal.imports.service import stage_csv
    from portal.imports.upsert import Staging

    try:
        size = os.fstat(csv_file.fileno()).st_size
    except (OSError, io.UnsupportedOperation):
        size = 0
    staging = Staging()
    progress = _Progress(csv_file, size, "Importing") if size >= PROGRESS_FROM_BYTES else None
    try:
        if progress:
            with progress.bar:
                stage_csv(progress.lines(), staging, on_row=progress.row)
        else:
            stage_csv(csv_file, staging)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"the file is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    problems = staging.problem_count()
    if problems:
        if errors_path:
            _write_problems(errors_path, staging.problems())
        for shown, problem in enumerate(staging.problems()):
            if shown == PRINTED_PROBLEMS:
                rest = problems - PRINTED_PROBLEMS
                where = f" (all of them are in {errors_path})" if errors_path else " (--errors FILE.csv lists them all)"
                click.echo(f"… and {rest} more problem(s){where}.", err=True)
                break
            click.echo(str(problem), err=True)
        click.echo(f"Nothing imported: {problems} problem(s) found.", err=True)
        sys.exit(1)
    if errors_path:
        _write_problems(errors_path, [])
    if dry_run:
        click.echo(f"No problems in {staging.rows} row(s); nothing written (--dry-run).")
        staging.close()
        return
    if progress:
        with click.progressbar(length=staging.rows, label="Writing", file=sys.stderr, show_eta=True) as bar:
            result = staging.write(actor_type="cli", on_chunk=bar.update)
    else:
        result = staging.write(actor_type="cli")
    staging.close()
    for stale in result.stale:
        click.echo(str(stale), err=True)
    if errors_path and result.stale:
        _write_problems(errors_path, result.stale)
    click.echo(result.summary())


@click.command("import-contacts")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
@click.option("--lender", "lender_code", required=True, help="The lender whose collection platform made the file.")
@with_appcontext
@transactional
def import_contacts_command(csv_file, lender_code: str) -> None:
    """Import collection contacts from a CSV file (all rows or none), each evaluated against the
    contact rules. Columns: the fields of POST /api/v1/contacts (phone_number and
    duration_seconds may be empty)."""
    import csv

    from portal.collection import service as contacts
    from portal.models import Lender

    lender = db.session.execute(select(Lender).where(Lender.code == lender_code)).scalar_one_or_none()
    if lender is None:
        raise click.ClickException(f"no lender with the code {lender_code}")
    reader = csv.DictReader(csv_file)
    missing = [c for c in contacts.REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise click.ClickException(f"the file lacks the column(s) {', '.join(missing)}")
    reports, problems, lines = [], [], []
    for row in reader:
        line = reader.line_num
        item: dict[str, object] = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if isinstance(item.get("duration_seconds"), str):
            text = str(item["duration_seconds"])
            item["duration_seconds"] = int(text) if text.isdigit() else text
        report, found = contacts.parse(item, f"line {line}", lender.jurisdiction)
        problems += found
        if report is not None:
            reports.append(report)
            lines.append(line)
    if not problems and not reports:
        raise click.ClickException("the file has no contacts")
    if not problems:
        try:
            outcome = contacts.record(lender, reports, actor_type="cli")
            problems = [
                contacts.Problem(f"line {lines[i]}/account_number", "is not an account of this lender")
                for i in outcome.missing_accounts
            ]
        except contacts.ContactRace as race:
            raise click.ClickException("another import reported some of these contacts at this moment; retry") from race
        except contacts.ContactConflict as conflict:
            problems = [
                contacts.Problem(f"line {lines[int(i)]}/contact_id", "was reported before with different details")
                for i in conflict.pointers
            ]
    if problems:
        for problem in problems[:PRINTED_PROBLEMS]:
            click.echo(f"{problem.pointer}: {problem.detail}", err=True)
        click.echo(f"Nothing imported: {len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    breaking = sum(1 for c in outcome.contacts if not c.compliant)
    click.echo(
        f"{outcome.created} contact(s) recorded, {outcome.replayed} already known; {breaking} break a contact rule."
    )


@click.group("link")
def link_group() -> None:
    """Reminder links."""


def _find_account(account_number: str, lender_code: str | None):
    from portal.models import Account, Lender

    query = select(Account).where(Account.account_number == account_number)
    if lender_code:
        query = query.join(Lender).where(Lender.code == lender_code)
    matches = db.session.execute(query).scalars().all()
    if not matches:
        raise click.ClickException(
            f"no account {account_number!r}" + (f" at lender {lender_code!r}" if lender_code else "")
        )
    if len(matches) > 1:
        raise click.ClickException("that account number exists at several lenders: add --lender")
    return matches[0]


@link_group.command("create")
@click.argument("account_number")
@click.option("--lender", "lender_code", help="Lender code, if the number is not unique.")
@click.option(
    "--lang",
    type=click.Choice(LOCALES),
    help="Language the page opens in (default: the borrower's own).",
)
@click.option(
    "--expires-days",
    type=click.IntRange(LINK_LIFETIME_DAYS.start, LINK_LIFETIME_DAYS.stop - 1),
    default=None,
    help="Days until the link stops working (default: LINK_DEFAULT_EXPIRY_DAYS).",
)
@with_appcontext
@transactional
def link_create(account_number: str, lender_code: str | None, lang: str | None, expires_days: int | None) -> None:
    """Mint a reminder link for an account and print its URL."""
    from portal.access.service import create_link, link_url

    account = _find_account(account_number, lender_code)
    _, code = create_link(account, locale=lang, expires_days=expires_days, actor_type="cli")
    click.echo(link_url(code))


@link_group.command("revoke")
@click.argument("url_or_code")
@with_appcontext
@transactional
def link_revoke(url_or_code: str) -> None:
    """Stop a reminder link from working."""
    from portal.access.service import look_up_link, revoke_link

    found = look_up_link(url_or_code.rstrip("/").rsplit("/", 1)[-1])
    if found.link is None:
        raise click.ClickException("no such link")
    revoke_link(found.link, actor_type="cli")
    click.echo("revoked")


@click.group("access")
def access_group() -> None:
    """Verification counters and locks (failed sign-in answers)."""


def _show_lock(status) -> None:
    from portal.access import throttle

    account = status.account
    rule = throttle.PER_ACCOUNT
    until = f"locked until {status.locked_until:%Y-%m-%d %H:%M} UTC" if status.locked_until else "not locked"
    click.echo(f"{account.lender.code} {account.account_number}: {until}")
    click.echo(f"  unsuccessful tries for this account: {status.account_failures} of {rule.max_failures}")
    click.echo(f"  unsuccessful tries for this person (all accounts): {status.person_failures} of {rule.max_failures}")


@access_group.command("status")
@click.argument("account_number")
@click.option("--lender", "lender_code", help="Lender code, if the number is not unique.")
@with_appcontext
def access_status(account_number: str, lender_code: str | None) -> None:
    """Whether checking is paused for an account, until when, and the failure counts."""
    from portal.access.service import lock_status

    _show_lock(lock_status(_find_account(account_number, lender_code)))


@access_group.command("unlock")
@click.argument("account_number")
@click.option("--lender", "lender_code", help="Lender code, if the number is not unique.")
@click.option("--reason", required=True, help="Why, e.g. 'identity checked by phone, ticket 123' (audited).")
@click.option("--by", "by_whom", default=None, help="Who clears the lock (default: the shell user).")
@with_appcontext
@transactional
def access_unlock(account_number: str, lender_code: str | None, reason: str, by_whom: str | None) -> None:
    """Clear an account's lock and failure counts (and its person's) after checking identity."""
    import getpass

    from portal.access.service import unlock

    account = _find_account(account_number, lender_code)
    try:
        before = unlock(account, by_whom or getpass.getuser(), reason, actor_type="cli")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    was = f"was locked until {before.locked_until:%Y-%m-%d %H:%M} UTC" if before.locked_until else "was not locked"
    click.echo(f"{account.lender.code} {account.account_number}: cleared ({was}).")


@access_group.command("prune")
@with_appcontext
@transactional
def access_prune() -> None:
    """Delete counters whose window and lock are over (safe from cron at any time)."""
    from portal.access import throttle

    click.echo(f"{throttle.prune()} expired counter(s) deleted.")


@click.command("demo")
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Prepare the data and print the links, then exit.")
@with_appcontext
def demo_command(port: int, host: str, no_serve: bool) -> None:
    """Create the demo database, seed it, print reminder links, and serve."""
    from portal import demo

    base_url = f"http://{host}:{port}"
    demo.migrate()
    with command_transaction():
        demo.prepare(base_url=base_url)
    if no_serve:
        return
    fake_stripe = demo.start_fake_stripe(base_url)
    # SIGTERM (e.g. `kill`) must still run the clean-up below that stops the fake server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # Flask refuses app.run() inside its own CLI; werkzeug's server is what it would use.
        from werkzeug.serving import run_simple

        click.echo(f"Serving on {base_url} (Ctrl+C to stop)")
        run_simple(host, port, click.get_current_context().ensure_object(ScriptInfo).load_app(), threaded=True)
    finally:
        if fake_stripe:
            fake_stripe.stop()


@click.group("payments")
def payments_group() -> None:
    """Payments that need a look."""


@payments_group.command("stale")
@with_appcontext
def payments_stale() -> None:
    """List payments Stripe has not confirmed within PAYMENT_CONFIRMATION_MINUTES."""
    from portal.money import format_major_plain
    from portal.payments.service import stale_payments

    stale = stale_payments()
    for payment in stale:
        click.echo(
            f"{payment.public_id}  {payment.account.account_number}  "
            f"{format_major_plain(payment.amount_minor, payment.currency)} {payment.currency}  "
            f"sent {payment.submitted_at:%Y-%m-%d %H:%M} UTC  "
            f"stripe: {payment.provider_reference or '-'} ({payment.provider_status or '-'})"
        )
    click.echo(f"{len(stale)} unconfirmed payment(s).")


@payments_group.command("reconcile")
@with_appcontext
@transactional
def payments_reconcile() -> None:
    """Settle payments unconfirmed after PAYMENT_CONFIRMATION_MINUTES.

    Records what Stripe says; a payment whose bank check was never finished is cancelled at
    Stripe and its amount released. Safe to run from cron on several machines at once.
    """
    from portal.payments.service import reconcile

    left = reconcile()
    click.echo(f"Reconciled; {len(left)} still unconfirmed.")


@click.group("api-client")
def api_client_group() -> None:
    """Credentials for lenders' systems."""


@api_client_group.command("create")
@click.argument("name")
@click.option("--lender", "lender_code", required=True, help="Lender code the client acts for.")
@click.option("--scopes", required=True, help=f"Comma-separated: {', '.join(ApiScope)}.")
@click.option("--webhook-url", help="Where outbound events are POSTed (https in production).")
@with_appcontext
@transactional
def api_client_create(name: str, lender_code: str, scopes: str, webhook_url: str | None) -> None:
    """Create a client and print its bearer token (shown once, never stored)."""
    from portal.api.clients import create_client
    from portal.models import Lender

    lender = db.session.execute(select(Lender).where(Lender.code == lender_code)).scalar_one_or_none()
    if lender is None:
        raise click.ClickException(f"no lender {lender_code!r}")
    try:
        client, token = create_client(
            name, lender, [s.strip() for s in scopes.split(",") if s.strip()], webhook_url=webhook_url
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Client {client.name} for {lender.code} with scopes {client.scopes}.")
    click.echo(f"Bearer token (shown once; store it safely): {token}")
    if client.webhook_secret:
        click.echo(f"Webhook signing secret: {client.webhook_secret}")


@api_client_group.command("disable")
@click.argument("name")
@with_appcontext
@transactional
def api_client_disable(name: str) -> None:
    """Stop a client's token from working and its webhooks from being sent."""
    from portal.api.clients import disable_client
    from portal.models import ApiClient

    client = db.session.execute(select(ApiClient).where(ApiClient.name == name)).scalar_one_or_none()
    if client is None:
        raise click.ClickException(f"no client {name!r}")
    disable_client(client)
    click.echo("disabled")


@click.group("api")
def api_group() -> None:
    """The API for lenders' systems: maintenance."""


@api_group.command("prune-idempotency")
@with_appcontext
@transactional
def api_prune_idempotency() -> None:
    """Delete Idempotency-Key replay records older than IDEMPOTENCY_KEEP (run daily from cron)."""
    from portal.api.idempotency import IDEMPOTENCY_KEEP, prune

    click.echo(f"{prune()} replay record(s) older than {IDEMPOTENCY_KEEP} deleted.")


@click.group("outbox")
def outbox_group() -> None:
    """Outbound events for lenders' systems."""


@outbox_group.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@with_appcontext
def outbox_run(once: bool) -> None:
    """Deliver events to clients' webhooks until stopped (SIGTERM / Ctrl+C)."""
    import signal

    from portal.outbox import delivery

    if once:
        result = delivery.deliver_due()
        click.echo(f"{result.delivered} delivered, {result.failed} to retry, {result.dead} dead.")
        return
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo("Delivering outbox events (Ctrl+C to stop).")
    try:
        delivery.run(stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass


@outbox_group.command("dead")
@with_appcontext
def outbox_dead() -> None:
    """List deliveries that were given up on."""
    from portal.outbox import delivery

    dead = delivery.dead_letters()
    for item in dead:
        click.echo(
            f"{item.id}  {item.event.event_id}  {item.event.type}  to {item.client.name}  "
            f"after {item.attempts} attempts: {item.last_error}"
        )
    click.echo(f"{len(dead)} dead delivery(ies).")


@outbox_group.command("retry")
@click.argument("delivery_ids", nargs=-1, type=int)
@with_appcontext
@transactional
def outbox_retry(delivery_ids: tuple[int, ...]) -> None:
    """Queue dead deliveries again (all of them, or the ids given)."""
    from portal.outbox import delivery

    click.echo(f"{delivery.retry_dead(list(delivery_ids) or None)} queued again.")


@click.group("sms")
def sms_group() -> None:
    """Text messages (one-time codes, reminders)."""


@sms_group.command("retry")
@with_appcontext
def sms_retry() -> None:
    """Send again what failed or was left unsent; expire what is too old to be useful.

    Safe to run from cron every minute on several machines at once.
    """
    from portal.sms.service import MAX_ATTEMPTS, given_up, retry_due

    result = retry_due()
    click.echo(f"{result.sent} sent, {result.failed} failed again, {result.expired} expired.")
    stuck = given_up()
    if stuck:
        click.echo(f"{len(stuck)} message(s) failed {MAX_ATTEMPTS} times and are no longer retried:", err=True)
        for message in stuck:
            click.echo(f"  {message.public_id}  {message.purpose}  {message.last_error}", err=True)


@click.group("calendar")
def calendar_group() -> None:
    """Holiday calendars that count business days."""


@calendar_group.command("check")
@click.option("--year", type=int, default=None, help="The year to treat as this year (default: today's).")
@with_appcontext
def calendar_check(year: int | None) -> None:
    """Say whether the installed holidays package knows this year's and next year's official
    schedules; exit 1 if this year's is unknown anywhere."""
    from datetime import date

    from portal.business_days import calendar_is_current, installed_version
    from portal.jurisdiction import Jurisdiction

    year = year or date.today().year
    missing_now = False
    click.echo(f"holidays {installed_version()}")
    for jurisdiction in Jurisdiction:
        for checked in (year, year + 1):
            known = calendar_is_current(jurisdiction, checked)
            missing_now |= checked == year and not known
            click.echo(f"{jurisdiction} {checked}: {'official schedule known' if known else 'NOT KNOWN'}")
    if missing_now:
        click.echo(
            "Business days this year are miscounted: run `pip install --upgrade holidays` "
            "(and redeploy) once the official schedule is published.",
            err=True,
        )
        sys.exit(1)


@click.group("i18n")
def i18n_group() -> None:
    """Translation catalogs (see README: adding a string)."""


@i18n_group.command("update")
def i18n_update() -> None:
    """Extract messages, merge them into every catalog, and fill the English one."""
    from portal import catalogs

    added = catalogs.update()
    click.echo(
        f"Catalogs updated; {added} English entries filled. Now translate the empty "
        "entries in zh_Hans and zh_Hant, then run `portal i18n compile`."
    )


@i18n_group.command("compile")
def i18n_compile() -> None:
    """Compile the catalogs (.po) into the files the app reads (.mo)."""
    from portal import catalogs

    catalogs.compile_all()
    click.echo("Catalogs compiled.")


@click.group("complaints")
def complaints_group() -> None:
    """Complaints about improper collection (compliance staff, until the staff console)."""


def _complaint(reference: str):
    from portal.complaints import service

    found = service.find(reference)
    if found is None:
        raise click.ClickException(f"no complaint {reference!r}")
    return found


def _handling(action):
    """Run a handling step; a step that does not fit the complaint's state is a clear error."""
    from portal.complaints.service import HandlingError

    try:
        action()
    except HandlingError as exc:
        raise click.ClickException(str(exc)) from exc


def _staff(by: str | None) -> str:
    import getpass

    return by or getpass.getuser()


@complaints_group.command("pending")
@with_appcontext
def complaints_pending() -> None:
    """Open complaints, urgent first, then by the nearest deadline (times in UTC)."""
    from portal.complaints import service

    rows = service.pending()
    for c in rows:
        due, what = (
            (c.acknowledge_due_at, "acknowledge") if c.acknowledged_at is None else (c.decision_due_at, "decide")
        )
        flag = "URGENT " if c.urgent else ""
        click.echo(f"{c.reference}  {flag}{c.status}  {what} by {due:%Y-%m-%d %H:%M}  {','.join(c.categories)}")
    click.echo(f"{len(rows)} open complaint(s).")


@complaints_group.command("show")
@click.argument("reference")
@with_appcontext
def complaints_show(reference: str) -> None:
    """Everything about one complaint: details, files (with SHA-256), messages and notes."""
    from portal.complaints import service

    c = _complaint(reference)
    click.echo(f"{c.reference}  {c.status}{'  URGENT' if c.urgent else ''}  filed {c.filed_at:%Y-%m-%d %H:%M} UTC")
    click.echo(f"  by {c.role}: {c.complainant_name} {c.complainant_phone_e164} (answer by {c.answer_by})")
    click.echo(f"  categories: {', '.join(c.categories)}{' (' + c.category_other + ')' if c.category_other else ''}")
    click.echo(f"  channel {c.channel}; collector {c.collector_name or '-'}; agency {c.collector_agency or '-'}")
    click.echo(f"  number {c.caller_number or '-'}; incident {c.incident_at or '-'} ({c.incident_timezone})")
    click.echo(
        f"  acknowledge by {c.acknowledge_due_at:%Y-%m-%d %H:%M}, decide by {c.decision_due_at:%Y-%m-%d %H:%M} UTC"
    )
    click.echo(f"  wants: {', '.join(c.desired_outcomes)}")
    click.echo("  " + c.description.replace("\n", "\n  "))
    for file in service.files_of(c):
        click.echo(f"  file {file.original_filename} {file.content_type} {file.size} B sha256 {file.sha256}")
    for m in service.messages(c):
        kind = "note" if m.internal else "reply"
        click.echo(f"  [{kind} {m.created_at:%Y-%m-%d %H:%M} {m.author}] {m.body}")


@complaints_group.command("ack")
@click.argument("reference")
@click.option("--message", help="A message to the complainant (shown on the status page).")
@click.option("--by", "by_whom", help="Who handles it (default: the shell user).")
@with_appcontext
@transactional
def complaints_ack(reference: str, message: str | None, by_whom: str | None) -> None:
    """Acknowledge a received complaint."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(lambda: service.acknowledge(c, staff=_staff(by_whom), message=message))
    click.echo(f"{c.reference}: acknowledged.")


@complaints_group.command("investigate")
@click.argument("reference")
@click.option("--by", "by_whom", help="Who handles it (default: the shell user).")
@with_appcontext
@transactional
def complaints_investigate(reference: str, by_whom: str | None) -> None:
    """Mark a complaint as being investigated."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(lambda: service.investigate(c, staff=_staff(by_whom)))
    click.echo(f"{c.reference}: investigating.")


@complaints_group.command("escalate")
@click.argument("reference")
@click.option("--reason", required=True, help="Why more time is needed (the complainant sees it).")
@click.option("--days", type=int, required=True, help="Business days added to the decision deadline.")
@click.option("--by", "by_whom", help="Who handles it (default: the shell user).")
@with_appcontext
@transactional
def complaints_escalate(reference: str, reason: str, days: int, by_whom: str | None) -> None:
    """Extend the decision deadline of a complex case, once, with a reason."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(lambda: service.extend(c, staff=_staff(by_whom), reason=reason, business_days_more=days))
    click.echo(f"{c.reference}: extended; decide by {c.decision_due_at:%Y-%m-%d %H:%M} UTC.")


@complaints_group.command("answer")
@click.argument("reference")
@click.option("--message", required=True, help="The reply (or note) text.")
@click.option("--internal", is_flag=True, help="An internal note: never shown to the complainant.")
@click.option("--by", "by_whom", help="Who writes it (default: the shell user).")
@with_appcontext
@transactional
def complaints_answer(reference: str, message: str, internal: bool, by_whom: str | None) -> None:
    """Write to the complainant (shown on the status page), or add an internal note."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(lambda: service.reply(c, staff=_staff(by_whom), body=message, internal=internal))
    click.echo(f"{c.reference}: {'note' if internal else 'reply'} added.")


@complaints_group.command("resolve")
@click.argument("reference")
@click.option("--outcome", type=click.Choice([r.value for r in Resolution]), required=True)
@click.option("--message", required=True, help="The decision as the complainant reads it.")
@click.option("--remedy", help="What will be done (apology, refund, records corrected...).")
@click.option("--by", "by_whom", help="Who decides (default: the shell user).")
@with_appcontext
@transactional
def complaints_resolve(reference: str, outcome: str, message: str, remedy: str | None, by_whom: str | None) -> None:
    """Decide a complaint; a pause of contact it caused is lifted."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(
        lambda: service.resolve(c, staff=_staff(by_whom), resolution=Resolution(outcome), answer=message, remedy=remedy)
    )
    click.echo(f"{c.reference}: resolved ({outcome}).")


@complaints_group.command("reopen")
@click.argument("reference")
@click.option("--reason", required=True, help="What the complainant's appeal says (audited).")
@click.option("--by", "by_whom", help="Who reopens it (default: the shell user).")
@with_appcontext
@transactional
def complaints_reopen(reference: str, reason: str, by_whom: str | None) -> None:
    """Reopen a decided complaint on appeal (within the appeal window); a new deadline starts."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(lambda: service.reopen(c, staff=_staff(by_whom), reason=reason))
    click.echo(f"{c.reference}: reopened; decide by {c.decision_due_at:%Y-%m-%d %H:%M} UTC.")


@complaints_group.command("pack")
@click.argument("reference")
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
@click.option("--lang", type=click.Choice(LOCALES), default="zh_Hans", show_default=True)
@with_appcontext
def complaints_pack(reference: str, output: str, lang: str) -> None:
    """Write the evidence pack for escalation: a printable page and the original files (ZIP)."""
    from portal.complaints import pack
    from portal.evidence.service import EvidenceCorrupted

    c = _complaint(reference)
    try:
        data = pack.build(c, locale=lang)
    except EvidenceCorrupted as exc:
        raise click.ClickException(f"not written: {exc}") from exc
    with open(output, "wb") as f:
        f.write(data)
    click.echo(f"{c.reference}: evidence pack written to {output} ({len(data)} bytes).")


@complaints_group.command("close")
@click.argument("reference")
@click.option("--by", "by_whom", help="Who closes it (default: the shell user).")
@with_appcontext
@transactional
def complaints_close(reference: str, by_whom: str | None) -> None:
    """Close a resolved complaint."""
    from portal.complaints import service

    c = _complaint(reference)
    _handling(lambda: service.close(c, staff=_staff(by_whom)))
    click.echo(f"{c.reference}: closed.")


@click.group("disputes")
def disputes_group() -> None:
    """Disputes raised by borrowers (staff answer here until the staff console has a screen)."""


@disputes_group.command("pending")
@with_appcontext
@transactional
def disputes_pending() -> None:
    """Open disputes, the nearest answer deadline first."""
    from portal.rights.service import pending_disputes

    found = pending_disputes()
    for dispute in found:
        due = dispute.answer_due_at.isoformat() if dispute.answer_due_at else "-"
        click.echo(f"{dispute.reference}\taccount {dispute.account_id}\t{dispute.reason}\tdue {due}")
    click.echo(f"{len(found)} open dispute(s).", err=True)


@disputes_group.command("show")
@click.argument("reference")
@with_appcontext
@transactional
def disputes_show(reference: str) -> None:
    """What the borrower wrote, and the evidence files' names, sizes and SHA-256."""
    from portal.evidence.service import files_of
    from portal.models import EvidenceOwner
    from portal.rights.service import find_dispute

    dispute = find_dispute(reference)
    if dispute is None:
        raise click.ClickException(f"no dispute {reference}")
    click.echo(f"{dispute.reference}  {dispute.status}  account {dispute.account_id}  reason {dispute.reason}")
    if dispute.answer_due_at:
        click.echo(f"answer due {dispute.answer_due_at.isoformat()}")
    click.echo(dispute.explanation)
    for file in files_of(EvidenceOwner.DISPUTE, dispute.reference):
        click.echo(f"  {file.original_filename}  {file.content_type}  {file.size} B  sha256 {file.sha256}")
    if dispute.answer:
        click.echo(
            f"answered {dispute.answered_at.isoformat() if dispute.answered_at else ''} by {dispute.answered_by}"
        )
        click.echo(dispute.answer)


@disputes_group.command("answer")
@click.argument("reference")
@click.option("--text", "text", required=True, help="The answer the borrower reads, in their language.")
@click.option("--by", "by_whom", required=True, help="Who answers (staff user name), for the audit trail.")
@with_appcontext
@transactional
def disputes_answer(reference: str, text: str, by_whom: str) -> None:
    """Answer an open dispute: the borrower sees the answer and collection contact may resume."""
    from portal.rights.service import DisputeNotOpen, answer_dispute

    try:
        dispute = answer_dispute(reference, text, staff=by_whom)
    except DisputeNotOpen as exc:
        raise click.ClickException(f"no open dispute {reference}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{dispute.reference} answered.")


def register(app) -> None:
    from portal.plans.commands import COMMANDS as plan_commands
    from portal.staff.commands import staff_group

    for command in (
        *plan_commands,
        import_command,
        link_group,
        access_group,
        import_contacts_command,
        demo_command,
        payments_group,
        api_client_group,
        api_group,
        outbox_group,
        sms_group,
        calendar_group,
        disputes_group,
        i18n_group,
        complaints_group,
        staff_group,
    ):
        app.cli.add_command(command)
