"""Every sentence the plan pages say about a vocabulary or a problem, defined once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.models import HardshipReason, PlanFrequency, PlanKind, PlanStatus, RejectionReason

KIND_LABELS = {
    PlanKind.INSTALMENTS: _l("Pay in instalments"),
    PlanKind.SETTLEMENT: _l("One-off settlement with a reduction"),
    PlanKind.DEFERRAL: _l("Payment deferral"),
}
FREQUENCY_LABELS = {
    PlanFrequency.WEEKLY: _l("Every week"),
    PlanFrequency.FORTNIGHTLY: _l("Every two weeks"),
    PlanFrequency.MONTHLY: _l("Every month"),
}
STATUS_LABELS = {
    PlanStatus.DRAFT: _l("Waiting for your code"),
    PlanStatus.PENDING: _l("Being reviewed"),
    PlanStatus.OFFERED: _l("Your lender suggests another plan"),
    PlanStatus.COUNTERED: _l("Replaced by your lender's suggestion"),
    PlanStatus.ACTIVE: _l("Agreed"),
    PlanStatus.REJECTED: _l("Not agreed"),
    PlanStatus.WITHDRAWN: _l("Withdrawn"),
    PlanStatus.COMPLETED: _l("Completed"),
    PlanStatus.BROKEN: _l("Ended after missed payments"),
    PlanStatus.REPLACED: _l("Replaced by your new plan"),
}
HARDSHIP_LABELS = {
    HardshipReason.JOB_LOSS: _l("I lost my job or my income fell"),
    HardshipReason.ILLNESS: _l("Illness or injury"),
    HardshipReason.FAMILY_EMERGENCY: _l("A family emergency"),
    HardshipReason.BUSINESS_DIFFICULTY: _l("My business is struggling"),
    HardshipReason.OTHER: _l("Something else"),
}
REJECTION_LABELS = {
    RejectionReason.OUTSIDE_POLICY: _l("The plan is outside what your lender can agree to."),
    RejectionReason.TERM_TOO_LONG: _l("The plan would take too long to finish."),
    RejectionReason.INSTALMENTS_TOO_SMALL: _l("The instalments are smaller than your lender can accept."),
    RejectionReason.RECENT_BROKEN_PLAN: _l("An earlier plan on this loan ended after missed payments."),
    RejectionReason.OTHER: _l("Another reason, explained in the note below."),
}

# Why a proposal cannot be approved at once (portal/plans/arithmetic.py problem codes). The
# placeholder "limit" is the broken limit, already formatted (a date, an amount or a count).
PROBLEMS = {
    "nothing_to_plan": _l("There is nothing overdue on this loan to plan."),
    "kind_not_offered": _l("Your lender does not offer this kind of plan online."),
    "date_in_past": _l("Choose a date from today on."),
    "date_too_far": _l("Choose a date up to %(limit)s."),
    "settlement_too_late": _l("A settlement can be agreed at once if it is paid by %(limit)s."),
    "deferral_too_long": _l("A deferral can be agreed at once up to %(limit)s."),
    "amount_above_total": _l("An instalment cannot be more than the whole amount, %(limit)s."),
    "too_few_instalments": _l("A plan needs at least %(limit)s instalments. To pay in one go, use Pay."),
    "frequency_not_allowed": _l("This frequency cannot be agreed at once."),
    "too_many_instalments": _l("At most %(limit)s instalments can be agreed at once."),
    "beyond_any_schedule": _l(
        "That would be far too many payments. At most %(limit)s instalments can be agreed at once."
    ),
    "first_date_too_late": _l("The first payment can be agreed at once up to %(limit)s."),
    "term_too_long": _l("The last payment can be agreed at once up to %(limit)s."),
    "instalment_too_small": _l("Each instalment needs to be at least %(limit)s to be agreed at once."),
    "broken_before": _l("An earlier plan on this loan ended after missed payments, so a person looks at this one."),
}
LIMIT_KINDS = {
    "date": (
        "date_in_past",
        "date_too_far",
        "settlement_too_late",
        "deferral_too_long",
        "first_date_too_late",
        "term_too_long",
    ),
    "money": ("amount_above_total", "instalment_too_small"),
}

OFFER_REASONS = {
    "share": _l("About %(share)s%% of what is left each month after your expenses and other repayments."),
    "smallest": _l("The smallest payments your lender can agree to at once."),
    "quicker": _l("Finishes sooner, with larger payments."),
    "settlement": _l("Pay %(total)s by %(date)s and %(waived)s is taken off what you owe."),
    "deferral": _l("Nothing to pay until %(date)s, then the whole amount at once."),
}

REFUSALS = {
    "not_plannable": _l(
        "A plan cannot be proposed for this loan right now: nothing is overdue, or it is being checked."
    ),
    "open_plan": _l("This loan already has a proposal waiting for an answer. You can see it on your loan page."),
    "no_policy": _l("Plans for this loan can only be agreed by phone for now. Please call your lender."),
    "figures_changed": _l("The figures of your loan changed since you chose this plan. Please choose again."),
    "not_a_draft": _l("This plan has already been sent."),
    "not_offered": _l("This suggestion is no longer open."),
    "not_pending": _l("This proposal is no longer waiting for a review."),
    "bad_option": _l("That option is not available any more. Please choose one of the options below."),
}

# The parts of an overdue amount a settlement can reduce (keys of RepaymentPlan.waived).
PART_LABELS = {
    "penalty_interest": _l("Penalty interest"),
    "fees": _l("Fees"),
    "interest": _l("Interest"),
}
