"""The README's "Who can do what" table states figures and powers that come from the code; this
fails when one changes without the other."""

from __future__ import annotations

import hashlib
from pathlib import Path

from portal import config
from portal.access import service as access
from portal.models import ApiScope
from portal.payments.gateway import WEBHOOK_TOLERANCE_SECONDS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def table_row(who: str) -> str:
    table = README.split("## Who can do what", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith(f"| {who} |")]
    assert len(rows) == 1, f"one row for {who!r} in the table"
    return rows[0]


def test_reminder_link_row_matches_the_code(tmp_path):
    row = table_row("anyone with a reminder link")
    assert f"{access.CODE_BYTES * 8} random bits" in row
    assert "stored only as SHA-256" in row
    assert access.hash_code("abc") == hashlib.sha256(b"abc").hexdigest()
    days = config.load({}, tmp_path)["LINK_DEFAULT_EXPIRY_DAYS"]
    assert f"{days} days, revocable" in row


def test_lender_system_row_names_every_scope():
    row = table_row("lender's system")
    for scope in ApiScope:
        assert f"`{scope.value}`" in row


def test_stripe_row_states_the_signature_tolerance():
    assert f"{WEBHOOK_TOLERANCE_SECONDS} s tolerance" in table_row("Stripe")
