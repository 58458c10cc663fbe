"""All models, imported here so that Alembic and the app see one complete metadata."""

from portal.models.account import Account, AccountAdjustment, AccountStatus
from portal.models.audit import AuditEvent
from portal.models.borrower import Borrower
from portal.models.collection import (
    CollectionChannel,
    CollectionContact,
    ContactDirection,
    ContactOutcome,
    ContactParty,
)
from portal.models.complaint import (
    AnswerBy,
    ComplainantRole,
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintDraft,
    ComplaintMessage,
    ComplaintStatus,
    DesiredOutcome,
    Resolution,
)
from portal.models.contact import ContactPause, PauseReason
from portal.models.evidence import EvidenceBlob, EvidenceFile, EvidenceOwner
from portal.models.integration import (
    ApiClient,
    ApiScope,
    DeliveryStatus,
    IdempotentRequest,
    OutboxDelivery,
    OutboxEvent,
)
from portal.models.lender import Lender
from portal.models.login_session import BorrowerSession, SignInMethod
from portal.models.otp import OtpChallenge, OtpPurpose
from portal.models.payment import Payment, PaymentMethod, PaymentPurpose, PaymentStatus, ProcessedStripeEvent
from portal.models.plan import (
    HardshipReason,
    PlanFrequency,
    PlanInstalment,
    PlanKind,
    PlanPayment,
    PlanPolicy,
    PlanStatus,
    RejectionReason,
    RepaymentPlan,
)
from portal.models.reminder_link import LINK_LIFETIME_DAYS, LinkChannel, ReminderLink
from portal.models.rights import (
    ContactChannel,
    ContactPreference,
    Dispute,
    DisputeReason,
    DisputeStatus,
    DocumentKind,
    DocumentRequest,
    DocumentRequestStatus,
)
from portal.models.sms import SmsMessage, SmsPurpose, SmsStatus
from portal.models.staff import StaffRecoveryCode, StaffRole, StaffSession, StaffUser
from portal.models.verification import CounterKind, VerificationCounter

__all__ = [
    "AnswerBy",
    "Complaint",
    "ComplaintCategory",
    "ComplaintChannel",
    "ComplaintDraft",
    "ComplaintMessage",
    "ComplaintStatus",
    "ComplainantRole",
    "DesiredOutcome",
    "Resolution",
    "CollectionChannel",
    "CollectionContact",
    "ContactDirection",
    "ContactOutcome",
    "ContactParty",
    "ContactChannel",
    "ContactPreference",
    "Dispute",
    "DisputeReason",
    "DisputeStatus",
    "DocumentKind",
    "DocumentRequest",
    "DocumentRequestStatus",
    "RepaymentPlan",
    "RejectionReason",
    "PlanStatus",
    "PlanPolicy",
    "PlanPayment",
    "PlanKind",
    "PlanInstalment",
    "PlanFrequency",
    "HardshipReason",
    "VerificationCounter",
    "LINK_LIFETIME_DAYS",
    "Account",
    "AccountAdjustment",
    "AccountStatus",
    "ApiClient",
    "ApiScope",
    "AuditEvent",
    "Borrower",
    "BorrowerSession",
    "ContactPause",
    "CounterKind",
    "DeliveryStatus",
    "EvidenceBlob",
    "EvidenceFile",
    "EvidenceOwner",
    "IdempotentRequest",
    "Lender",
    "LinkChannel",
    "OtpChallenge",
    "OtpPurpose",
    "OutboxDelivery",
    "OutboxEvent",
    "PauseReason",
    "Payment",
    "PaymentMethod",
    "PaymentPurpose",
    "PaymentStatus",
    "ProcessedStripeEvent",
    "ReminderLink",
    "SignInMethod",
    "SmsMessage",
    "StaffRecoveryCode",
    "StaffRole",
    "StaffSession",
    "StaffUser",
    "SmsPurpose",
    "SmsStatus",
]
