"""The words for every reason a payment cannot go ahead, in one place."""

from flask_babel import lazy_gettext as _l

from portal.models import PaymentMethod, PaymentStatus

AMOUNT_PROBLEMS = {
    "missing": _l("Enter the amount you want to pay, for example 500.00."),
    "malformed": _l("Enter the amount in numbers only, for example 500.00."),
    "negative": _l("Enter an amount greater than zero."),
    "not_positive": _l("Enter an amount greater than zero."),
    "too_many_decimals": _l("Enter the amount with at most 2 decimal places, for example 500.50."),
    "too_large": _l("You can pay at most %(maximum)s now, which is everything still overdue."),
    "above_balance": _l("You can pay at most %(maximum)s now, which is everything still overdue."),
    "below_minimum": _l(
        "If you pay part of the overdue amount, the smallest payment is %(minimum)s. There is no minimum if you "
        "pay all of it."
    ),
    "unknown_currency": _l("Enter the amount you want to pay, for example 500.00."),
}
ATTEMPT_PROBLEMS = {
    "in_flight": _l(
        "A payment for this loan is still being confirmed. Please wait a few minutes "
        "and check your loan page before paying again, so that you are not charged "
        "twice."
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
