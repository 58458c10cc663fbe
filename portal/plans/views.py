"""The borrower's side of repayment plans. Works without JavaScript: every step is a plain form.

Steps: (optional) affordability → up to three offers → adjust and preview the whole schedule →
hardship reason → one-time code → agreed at once (the agreement page) or being reviewed.
Only ``submit`` (a draft and its code), ``confirm`` and ``withdraw`` write.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.database import get_without_transaction
from portal.models import AccountStatus, HardshipReason, PlanFrequency, PlanKind, PlanStatus
from portal.money import MoneyError, format_major_plain, format_money, parse_major
from portal.otp import service as otp
from portal.otp.forms import too_many_message
from portal.plans import arithmetic as calc
from portal.plans import messages, service
from portal.plans.forms import AffordabilityForm, ConfirmForm, ProposalForm, WithdrawForm
from portal.signed_in import own_account
from portal.templating import long_date

bp = Blueprint("plans", __name__)

AMOUNT_MESSAGE = _l("Enter an amount like %(example)s, or leave it empty.")
COUNT_MESSAGE = _l("Enter a whole number of instalments, for example 6.")
DATE_MESSAGE = _l("Enter a date like %(example)s.")
FREQUENCY_MESSAGE = _l("Choose how often you will pay.")
REASON_MESSAGE = _l("Choose what has made paying difficult. It helps your lender understand.")
MAX_COUNT = 999
# Which field a problem with the proposal is shown next to.
PROBLEM_FIELDS = {
    "date_in_past": "first_date",
    "date_too_far": "first_date",
    "settlement_too_late": "first_date",
    "deferral_too_long": "first_date",
    "first_date_too_late": "first_date",
    "term_too_long": "instalments",
    "too_many_instalments": "instalments",
    "beyond_any_schedule": "amount",
    "too_few_instalments": "instalments",
    "amount_above_total": "amount",
    "instalment_too_small": "amount",
    "frequency_not_allowed": "frequency",
}
CHALLENGE_KEY = "plan_challenge"


def _account_or_404(account_id: int):
    account = own_account(current_user.borrower, account_id)
    if account is None:
        abort(404)
    return account


def _plan_or_404(public_id: str):
    plan = service.own_plan(current_user.borrower.id, public_id)
    if plan is None or plan.status == PlanStatus.WITHDRAWN and plan.proposed_at is None:
        abort(404)
    return plan


def _today() -> date:
    return service.local_today(current_user.borrower.timezone)


def _money(minor: int, currency: str) -> str:
    return format_money(minor, currency, get_locale())


def _refused_page(account, code: str, status: int = 409):
    return render_template("plans/unavailable.html", account=account, message=messages.REFUSALS[code]), status


def problem_text(problem: calc.Problem, currency: str) -> str:
    limit = problem.limit
    if problem.code in messages.LIMIT_KINDS["date"] and isinstance(limit, date):
        limit = long_date(limit)
    elif problem.code in messages.LIMIT_KINDS["money"] and isinstance(limit, int):
        limit = _money(limit, currency)
    return str(messages.PROBLEMS[problem.code]) % {"limit": limit}


def _parse_affordability(form) -> tuple[dict | None, int | None, bool]:
    """(answers in minor units, what is left each month, ok). All three or none."""
    fields = (form.income, form.expenses, form.debts)
    if not any(field.data for field in fields):
        return None, None, True
    account_currency = form.currency
    values = {}
    for field in fields:
        try:
            values[field.name] = parse_major(field.data or "0", account_currency)
        except MoneyError:
            field.errors = [*field.errors, _amount_message(account_currency)]
    if len(values) != len(fields):
        return None, None, False
    left = values["income"] - values["expenses"] - values["debts"]
    return values, left, True


def _amount_message(currency: str) -> str:
    return str(AMOUNT_MESSAGE) % {"example": format_major_plain(50000, currency)}


def _offer_views(offers: list[calc.Offer], policy, account) -> list[dict]:
    balance = service.balance_of(account)
    views = []
    for index, offer in enumerate(offers):
        proposal = offer.proposal
        total = calc.total_to_pay(policy, balance, proposal.kind)
        schedule = calc.schedule(total, proposal)
        waived = sum(calc.waiver(policy, balance, proposal.kind).values())
        reason = str(messages.OFFER_REASONS[offer.reason]) % {
            "share": offer.share_percent,
            "total": _money(total, account.currency),
            "date": long_date(proposal.first_date),
            "waived": _money(waived, account.currency),
        }
        views.append({"index": index, "offer": offer, "schedule": schedule, "total": total, "reason": reason})
    return views


@bp.get("/accounts/<int:account_id>/plan")
@get_without_transaction
@login_required
def start(account_id: int):
    account = _account_or_404(account_id)
    if account.status in service.NOT_PLANNABLE or account.overdue_minor <= 0:
        return _refused_page(account, "not_plannable", 200)
    return render_template("plans/start.html", account=account, form=AffordabilityForm())


def _options_page(account, form, status: int = 200, problem: str | None = None):
    version = service.current_policy(account.lender.id)
    answers, left, ok = _parse_affordability(form)
    if not ok:
        return render_template("plans/start.html", account=account, form=form), 400
    offers = calc.offers(version.policy, service.balance_of(account), _today(), left)
    return render_template(
        "plans/options.html",
        account=account,
        form=form,
        offers=_offer_views(offers, version.policy, account),
        left=left,
        problem=problem,
        kind_labels=messages.KIND_LABELS,
        frequency_labels=messages.FREQUENCY_LABELS,
        default_first=calc.default_first_date(version.policy, _today()),
    ), status


def _guard(account):
    if account.status in service.NOT_PLANNABLE or account.overdue_minor <= 0:
        return _refused_page(account, "not_plannable", 409)
    try:
        service.current_policy(account.lender.id)
    except service.PlanRefused as refused:
        return _refused_page(account, refused.code, 409)
    return None


@bp.get("/accounts/<int:account_id>/plan/options")
@get_without_transaction
@login_required
def options(account_id: int):
    account = _account_or_404(account_id)
    form = AffordabilityForm(formdata=None)
    form.currency = account.currency
    return _guard(account) or _options_page(account, form)


@bp.post("/accounts/<int:account_id>/plan/options")
@login_required
def options_submit(account_id: int):
    account = _account_or_404(account_id)
    form = AffordabilityForm()
    form.currency = account.currency
    if not form.validate():
        return render_template("plans/start.html", account=account, form=form), 400
    return _guard(account) or _options_page(account, form)


def _carried_affordability(form, account) -> AffordabilityForm:
    """The affordability answers a proposal form carries in hidden fields."""
    carried = AffordabilityForm(formdata=None, income=form.income.data, expenses=form.expenses.data)
    carried.debts.data = form.debts.data
    carried.currency = account.currency
    return carried


def _proposal_from_offer(form, account, version) -> calc.Proposal | None:
    affordability = _carried_affordability(form, account)
    _, left, ok = _parse_affordability(affordability)
    offers = calc.offers(version.policy, service.balance_of(account), _today(), left if ok else None)
    try:
        index = int(form.option.data)
    except ValueError:
        return None
    return offers[index].proposal if 0 <= index < len(offers) else None


def _proposal_from_fields(form, account) -> calc.Proposal | None:
    """The adjusted proposal, or None with a message next to each wrong field."""
    try:
        kind = PlanKind(form.kind.data)
    except ValueError:
        form.form_errors.append(str(messages.REFUSALS["bad_option"]))
        return None
    first = _parse_date(form.first_date.data)
    if first is None:
        form.first_date.errors = [str(DATE_MESSAGE) % {"example": _today().isoformat()}]
    if kind is not PlanKind.INSTALMENTS:
        return None if first is None else calc.Proposal(kind, first)
    count_text = form.instalments.data or ""
    count = int(count_text) if count_text.isascii() and count_text.isdigit() else 0
    if not 1 <= count <= MAX_COUNT:
        form.instalments.errors = [str(COUNT_MESSAGE)]
    try:
        frequency = PlanFrequency(form.frequency.data)
    except ValueError:
        frequency = None
        form.frequency.errors = [str(FREQUENCY_MESSAGE)]
    amount = None
    if form.amount.data:
        try:
            amount = parse_major(form.amount.data, account.currency)
        except MoneyError:
            form.amount.errors = [_amount_message(account.currency)]
        if amount == 0:
            form.amount.errors = [_amount_message(account.currency)]
    if first is None or form.instalments.errors or frequency is None or form.amount.errors:
        return None
    return calc.Proposal(kind, first, count, frequency, amount)


def _parse_date(text: str | None) -> date | None:
    digits = "".join(ch for ch in (text or "") if ch.isascii() and ch.isdigit())
    if len(digits) != 8 or len(text or "") not in (8, 10):
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _fill(form, proposal: calc.Proposal, currency: str) -> None:
    form.option.data = ""
    form.kind.data = str(proposal.kind)
    form.first_date.data = proposal.first_date.isoformat()
    form.instalments.data = str(proposal.instalments)
    form.frequency.data = str(proposal.frequency or PlanFrequency.MONTHLY)
    form.amount.data = format_major_plain(proposal.amount_minor, currency) if proposal.amount_minor else ""


def _preview_page(account, form, proposal: calc.Proposal | None, status: int = 200):
    version = service.current_policy(account.lender.id)
    policy = version.policy
    balance = service.balance_of(account)
    today = _today()
    context: dict = {"account": account, "form": form, "proposal": proposal, "policy": policy}
    if proposal is not None:
        problems = service.evaluate(policy, account, proposal, today)
        for problem in problems:
            field = PROBLEM_FIELDS.get(problem.code)
            text = problem_text(problem, account.currency)
            if calc.is_input_error(problems) and field:
                getattr(form, field).errors = [*getattr(form, field).errors, text]
        total = calc.total_to_pay(policy, balance, proposal.kind)
        nearby = calc.nearby(policy, balance, proposal, today) if problems else None
        buildable = calc.instalment_count(total, proposal) <= calc.MAX_SCHEDULE and not any(
            problem.code == "date_too_far" for problem in problems
        )
        context.update(
            schedule=calc.schedule(total, proposal) if buildable else [],
            total=total,
            waived=calc.waiver(policy, balance, proposal.kind),
            problems=[problem_text(problem, account.currency) for problem in problems],
            input_error=calc.is_input_error(problems),
            nearby=nearby,
            nearby_schedule=calc.schedule(calc.total_to_pay(policy, balance, nearby.kind), nearby) if nearby else None,
        )
        if context["input_error"] and status == 200:
            status = 400
    return render_template(
        "plans/preview.html",
        **context,
        kind_labels=messages.KIND_LABELS,
        frequency_labels=messages.FREQUENCY_LABELS,
        hardship_labels=messages.HARDSHIP_LABELS,
        frequencies=policy.frequencies,
        today=today,
    ), status


def _proposal(form, account):
    version = service.current_policy(account.lender.id)
    if form.option.data:
        proposal = _proposal_from_offer(form, account, version)
        if proposal is None:
            return None, True
        _fill(form, proposal, account.currency)
        return proposal, False
    return _proposal_from_fields(form, account), False


@bp.post("/accounts/<int:account_id>/plan/preview")
@login_required
def preview(account_id: int):
    account = _account_or_404(account_id)
    guard = _guard(account)
    if guard:
        return guard
    form = ProposalForm()
    form.validate()
    proposal, bad_option = _proposal(form, account)
    if bad_option:
        affordability = _carried_affordability(form, account)
        return _options_page(account, affordability, 400, problem=str(messages.REFUSALS["bad_option"]))
    return _preview_page(account, form, proposal, 200 if proposal else 400)


@bp.post("/accounts/<int:account_id>/plan/submit")
@login_required
def submit(account_id: int):
    account = _account_or_404(account_id)
    guard = _guard(account)
    if guard:
        return guard
    form = ProposalForm()
    valid = form.validate()
    proposal, _ = _proposal(form, account) if not form.option.data else (None, True)
    try:
        reason = HardshipReason(form.hardship_reason.data)
    except ValueError:
        reason = None
        form.hardship_reason.errors = [str(REASON_MESSAGE)]
    if proposal is None or reason is None or not valid:
        return _preview_page(account, form, proposal, 400)
    affordability = _carried_affordability(form, account)
    answers, _, _ = _parse_affordability(affordability)
    try:
        plan, challenge = service.draft(
            account.id,
            proposal,
            hardship_reason=reason,
            hardship_note=form.hardship_note.data,
            affordability=answers,
            locale=str(get_locale()),
        )
    except service.PlanRefused as refused:
        if refused.code == "input":
            return _preview_page(account, form, proposal, 400)
        return _refused_page(account, refused.code)
    except otp.TooManyCodes as error:
        form.form_errors.append(too_many_message(error))
        return _preview_page(account, form, proposal, 429)
    session[CHALLENGE_KEY] = [plan.public_id, challenge.public_id]
    return redirect(url_for("plans.confirm", public_id=plan.public_id), code=303)


def _challenge_for(plan) -> str:
    stored = session.get(CHALLENGE_KEY) or ["", ""]
    return stored[1] if stored[0] == plan.public_id else ""


def _confirm_page(plan, form, status: int = 200):
    return render_template(
        "plans/confirm.html",
        plan=plan,
        account=plan.account,
        form=form,
        phone_ending=otp.phone_ending(plan.account.borrower.phone_e164),
        kind_labels=messages.KIND_LABELS,
        frequency_labels=messages.FREQUENCY_LABELS,
    ), status


@bp.get("/plans/<public_id>/confirm")
@get_without_transaction
@login_required
def confirm(public_id: str):
    plan = _plan_or_404(public_id)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.OFFERED):
        return redirect(url_for("plans.show", public_id=public_id), code=303)
    return _confirm_page(plan, ConfirmForm(formdata=None))


@bp.post("/plans/<public_id>/confirm")
@login_required
def confirm_submit(public_id: str):
    plan = _plan_or_404(public_id)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.OFFERED):
        return redirect(url_for("plans.show", public_id=public_id), code=303)
    form = ConfirmForm()
    if form.wants_new_code:
        try:
            challenge = service.resend_code(plan, locale=str(get_locale()))
        except otp.TooManyCodes as error:
            form.show_too_many(error)
            return _confirm_page(plan, form, 429)
        session[CHALLENGE_KEY] = [plan.public_id, challenge.public_id]
        return redirect(url_for("plans.confirm", public_id=public_id), code=303)
    if not form.validate():
        return _confirm_page(plan, form, 400)
    outcome = otp.verify(
        _challenge_for(plan), form.code.data, purpose=service.code_purpose(plan), subject=f"account:{plan.account_id}"
    )
    if form.show_outcome(outcome):
        return _confirm_page(plan, form, 400)
    session.pop(CHALLENGE_KEY, None)
    try:
        if plan.status == PlanStatus.OFFERED:
            service.accept_counter(plan, actor_id=current_user.borrower.id)
        else:
            service.confirm(plan, actor_id=current_user.borrower.id)
    except service.PlanRefused as refused:
        code = refused.code if refused.code in messages.REFUSALS else "figures_changed"
        return _refused_page(plan.account, code)
    return redirect(url_for("plans.show", public_id=public_id), code=303)


@bp.get("/plans/<public_id>")
@get_without_transaction
@login_required
def show(public_id: str):
    plan = _plan_or_404(public_id)
    if plan.status in (PlanStatus.DRAFT, PlanStatus.OFFERED):
        return redirect(url_for("plans.confirm", public_id=public_id), code=303)
    account = plan.account
    policy = service.policies.by_id(plan.policy_id)
    reasons = []
    if plan.status == PlanStatus.PENDING:
        reasons = [
            problem_text(calc.Problem(code, _limit_of(code, policy, plan)), plan.currency)
            for code in plan.review_reasons
            if code in messages.PROBLEMS
        ]
    suggestion = suggestion_schedule = None
    if plan.status == PlanStatus.REJECTED and account.status not in service.NOT_PLANNABLE:
        # The reviewer's reasons come with a plan that would be agreed at once today.
        current = service.current_policy(account.lender_id).policy
        balance = service.balance_of(account)
        suggestion = calc.nearby(current, balance, service.proposal_of(plan), _today())
        if suggestion is not None:
            suggestion_schedule = calc.schedule(calc.total_to_pay(current, balance, suggestion.kind), suggestion)
    return render_template(
        "plans/show.html",
        suggestion=suggestion,
        suggestion_schedule=suggestion_schedule,
        plan=plan,
        account=account,
        lender=account.lender,
        policy=policy,
        reasons=reasons,
        next_instalment=service.next_instalment(plan),
        today=_today(),
        status_labels=messages.STATUS_LABELS,
        kind_labels=messages.KIND_LABELS,
        frequency_labels=messages.FREQUENCY_LABELS,
        hardship_labels=messages.HARDSHIP_LABELS,
        rejection_labels=messages.REJECTION_LABELS,
        part_labels=messages.PART_LABELS,
        withdraw_form=WithdrawForm(formdata=None),
    )


def _limit_of(code: str, policy, plan) -> object:
    """The limit a stored review reason refers to, for its sentence (as of the proposal)."""
    proposed = (plan.proposed_at or plan.created_at).astimezone(ZoneInfo(plan.account.borrower.timezone)).date()
    limits = {
        "too_many_instalments": policy.max_instalments,
        "first_date_too_late": proposed + timedelta(days=policy.max_days_to_first_payment),
        "term_too_long": proposed + timedelta(days=policy.max_term_days),
        "settlement_too_late": proposed + timedelta(days=policy.settlement_deadline_days),
        "deferral_too_long": proposed + timedelta(days=policy.max_deferral_days),
        "instalment_too_small": calc.minimum_instalment(policy, plan.total_minor),
        "broken_before": policy.broken_plans_before_review,
    }
    return limits.get(code)


@bp.post("/plans/<public_id>/withdraw")
@login_required
def withdraw(public_id: str):
    plan = _plan_or_404(public_id)
    form = WithdrawForm()
    if not form.validate():
        abort(400)
    try:
        service.withdraw(plan, actor_id=current_user.borrower.id)
    except service.PlanRefused:
        pass  # already decided: its page says what happened
    return redirect(url_for("plans.show", public_id=public_id), code=303)


@bp.get("/plans/<public_id>/certificate")
@get_without_transaction
@login_required
def certificate(public_id: str):
    """The settlement certificate (结清证明): what was paid and waived, to keep."""
    plan = _plan_or_404(public_id)
    account = plan.account
    if plan.status != PlanStatus.COMPLETED or account.status != AccountStatus.SETTLED:
        abort(404)
    return render_template(
        "plans/certificate.html",
        plan=plan,
        account=account,
        lender=account.lender,
        payments=service.payments_during(plan),
        part_labels=messages.PART_LABELS,
        kind_labels=messages.KIND_LABELS,
    )
