"""The evidence pack for escalation: one printable page (the complaint, its timeline and the
replies the complainant received) and the original files, in a ZIP.

Every file is read back with its SHA-256 checked (portal/evidence): a pack never carries a file
that differs from what arrived. Internal notes stay out: the pack may leave the company (to a
regulator or mediator). Nothing here writes to the database.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from portal.complaints import labels, service
from portal.evidence import service as evidence
from portal.extensions import db
from portal.models import AuditEvent, Complaint, Lender


def timeline(complaint: Complaint) -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent)
            .where(AuditEvent.subject_type == "complaint", AuditEvent.subject_id == str(complaint.id))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).scalars()
    )


def build(complaint: Complaint, *, locale: str) -> bytes:
    """The ZIP: ``<reference>.html``, ``evidence/<n>-<name>`` and ``SHA256SUMS``.

    Raises ``evidence.EvidenceCorrupted`` if a stored file no longer matches its hash."""
    lender = db.session.get_one(Lender, complaint.lender_id)
    zone = ZoneInfo(lender.timezone)

    def moment(value: datetime | None) -> str:
        return format_datetime(value, "yyyy-MM-dd HH:mm", tzinfo=zone, locale=locale) if value else ""

    files = service.files_of(complaint)
    stored = [
        (f"evidence/{n:02d}-{file.original_filename}", file, evidence.read_original(file))
        for n, file in enumerate(files, 1)
    ]
    with force_locale(locale):
        page = render_template(
            "complaints/pack.html",
            complaint=complaint,
            lender=lender,
            zone=lender.timezone,
            moment=moment,
            files=[(name, file) for name, file, _ in stored],
            events=timeline(complaint),
            replies=service.replies(complaint),
            labels=labels,
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{complaint.reference}.html", page)
        for name, _file, data in stored:
            archive.writestr(name, data)
        archive.writestr("SHA256SUMS", "".join(f"{file.sha256}  {name}\n" for name, file, _ in stored))
    return out.getvalue()
