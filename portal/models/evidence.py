"""Evidence files (screenshots, recordings, PDFs) for complaints and disputes: append-only."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, LargeBinary, String, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class EvidenceOwner(StrEnum):
    """What a file belongs to; features add their own members."""

    COMPLAINT = "complaint"
    COMPLAINT_DRAFT = "complaint_draft"
    DISPUTE = "dispute"


class EvidenceFile(Model):
    """One uploaded file as received (the original, never altered) and, for images, a copy
    re-encoded without metadata for viewing. Rows are never changed or deleted, except that a
    draft's files pass to the complaint made from it (portal/evidence/service.py ``adopt``)."""

    __table_args__ = (Index("ix_evidence_file_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    owner_type: Mapped[EvidenceOwner] = mapped_column(enum_column(EvidenceOwner))
    owner_id: Mapped[str] = mapped_column(String(64))
    # As the person named it, cleaned for display; never used as a path or to decide the type.
    original_filename: Mapped[str] = mapped_column(String(255))
    # Detected from the content (portal/evidence/detect.py).
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Which store holds the bytes (database or s3) and under which key.
    storage: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(200))
    viewable_content_type: Mapped[str | None] = mapped_column(String(64))
    viewable_size: Mapped[int | None] = mapped_column(BigInteger)
    viewable_sha256: Mapped[str | None] = mapped_column(String(64))
    viewable_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceBlob(Model):
    """The bytes of a file in the database store: written with its owner, never changed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceIsAppendOnly(RuntimeError):
    pass


# A draft's files may move to the complaint filed from it; nothing else about a file changes.
MOVABLE = frozenset({"owner_type", "owner_id"})


@event.listens_for(Session, "before_flush")
def _refuse_evidence_changes(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, EvidenceFile | EvidenceBlob):
            raise EvidenceIsAppendOnly("evidence is never deleted")
    for obj in session.dirty:
        if isinstance(obj, EvidenceBlob):
            raise EvidenceIsAppendOnly("evidence bytes are never changed")
        if isinstance(obj, EvidenceFile):
            state = inspect(obj)
            changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
            if changed - MOVABLE:
                raise EvidenceIsAppendOnly(f"evidence files are never changed ({', '.join(sorted(changed))})")
            owner = state.attrs.owner_type.history
            if changed and (owner.deleted or [obj.owner_type])[0] != EvidenceOwner.COMPLAINT_DRAFT:
                raise EvidenceIsAppendOnly("only a draft's files pass to another owner")
