"""All models, imported here so that Alembic and the app see one complete metadata."""

from portal.models.account import ACCOUNT_STATUSES, Account
from portal.models.audit import AuditEvent
from portal.models.borrower import Borrower
from portal.models.contact import ContactPause, PauseReason
from portal.models.integration import SCOPES, ApiClient, IdempotentRequest, OutboxDelivery, OutboxEvent
from portal.models.lender import Lender
from portal.models.login_session import BorrowerSession
from portal.models.payment import PAYMENT_STATUSES, Payment, ProcessedStripeEvent
from portal.models.reminder_link import ReminderLink

__all__ = [
    "ACCOUNT_STATUSES",
    "SCOPES",
    "Account",
    "ApiClient",
    "IdempotentRequest",
    "OutboxDelivery",
    "OutboxEvent",
    "AuditEvent",
    "Borrower",
    "ContactPause",
    "PauseReason",
    "BorrowerSession",
    "Lender",
    "PAYMENT_STATUSES",
    "Payment",
    "ProcessedStripeEvent",
    "ReminderLink",
]
