"""The words for every reason a payment cannot go ahead, in one place."""

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from portal.models import PaymentMethod, PaymentStatus
from portal.payments.service import ABANDONED

# %(example)s is an amount written in the account's currency (500.00, or 500 in yen).
AMOUNT_PROBLEMS = {
    "missing": _l("Enter the amount you want to pay, for example %(example)s."),
    "malformed": _l("Enter the amount in numbers only, for example %(example)s."),
    "negative": _l("Enter an amount greater than zero."),
    "not_positive": _l("Enter an amount greater than zero."),
    "too_large": _l("You can pay at most %(maximum)s now, which is everything still overdue."),
    "above_balance": _l("You can pay at most %(maximum)s now, which is everything still overdue."),
    "below_minimum": _l(
        "If you pay part of the overdue amount, the smallest payment is %(minimum)s. There is no minimum if you "
        "pay all of it."
    ),
    "unknown_currency": _l("Enter the amount you want to pay, for example %(example)s."),
}
# Its words depend on the currency's decimal places: decimal_places_problem().
TOO_MANY_DECIMALS = "too_many_decimals"
# Codes whose message belongs next to the amount field (the others concern the attempt).
AMOUNT_CODES = frozenset({*AMOUNT_PROBLEMS, TOO_MANY_DECIMALS})


def decimal_places_problem(places: int, example: str) -> str:
    """The amount has more decimal places than its currency (2 for CNY, none for JPY, 3 for KWD)."""
    if places == 0:
        return gettext("Enter a whole amount, without decimals, for example %(example)s.", example=example)
    return ngettext(
        "Enter the amount with at most %(num)d decimal place, for example %(example)s.",
        "Enter the amount with at most %(num)d decimal places, for example %(example)s.",
        places,
        example=example,
    )


ATTEMPT_PROBLEMS = {
    "in_flight": _l(
        "A payment for this loan is still being confirmed. Please wait a few minutes "
        "and check your loan page before paying again, so that you are not charged "
        "twice."
    ),
    "amount_changed": _l(
        "The amount overdue on this loan has changed since you chose to pay %(chosen)s: it is now "
        "%(owed)s. No money was taken. Please choose the amount again."
    ),
    "nothing_due": _l("There is nothing overdue on this loan right now."),
    "method_unavailable": _l("This way of paying is not available for this loan. Please pay by card."),
}
FAILURE_REASONS = {
    "card_declined": _l("Your bank declined the card. You may want to try another card or contact your bank."),
    "insufficient_funds": _l(
        "Your bank declined the card because there was not enough money available. You could pay a smaller amount "
        "now, or propose a repayment plan."
    ),
    "expired_card": _l("The card has expired. Please try another card."),
    "incorrect_cvc": _l("The security code (CVC) was not correct. Please check it and try again."),
    "payment_intent_authentication_failure": _l("The security check with your bank was not completed."),
    # The page says above it that no money was taken.
    ABANDONED: _l(
        "You did not finish confirming the payment with your bank or payment app, so it was "
        "cancelled. You can pay again whenever you are ready."
    ),
}
GENERIC_FAILURE = _l("The payment could not be completed.")
PAYMENT_LABELS = {
    PaymentStatus.CREATED: _l("Not started"),
    PaymentStatus.PENDING: _l("Being confirmed"),
    PaymentStatus.SUCCEEDED: _l("Paid"),
    PaymentStatus.FAILED: _l("Did not go through"),
    PaymentStatus.REFUNDED: _l("Refunded"),
}
# Only the wallets: cards have a page of their own.
WALLET_NAMES_COVER = (PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY)
WALLET_NAMES = {
    PaymentMethod.ALIPAY: _l("Pay with Alipay"),
    PaymentMethod.WECHAT_PAY: _l("Pay with WeChat Pay"),
}
