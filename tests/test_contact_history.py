"""The borrower's contact history: every contact, newest first, in their language and time zone,
with each breach explained and linked to their rights; counters against the limits; a report
link carrying the contact's details; and nobody else sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from portal.collection import service
from portal.models.types import utcnow
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import sign_in_through_link
from tests.pages import text_of


def contact_id(account, platform_id: str) -> int:
    return next(c.id for c in service.history(account.id) if c.contact_id == platform_id)


def report(account, n, when, **overrides) -> service.Report:
    values = {
        "contact_id": f"K-{n}",
        "account_number": account.account_number,
        "occurred_at": when,
        "channel": "call",
        "direction": "outbound",
        "outcome": "answered",
        "party": "borrower",
        "phone_number": account.borrower.phone_e164,
        "agent_id": "A-17",
        "agency_code": "SUNNY-COLLECT",
        "duration_seconds": 60,
        **overrides,
    }
    return service.Report(**values)


def test_history_newest_first_in_the_borrowers_zone_with_breaches_explained(client, db):
    lender = LenderFactory()
    account = AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR2024000777")
    service.record(
        lender,
        [
            report(account, 1, datetime(2026, 11, 20, 2, 0, tzinfo=UTC)),  # 10:00 Shanghai
            report(account, 2, datetime(2026, 11, 20, 14, 30, tzinfo=UTC), channel="sms"),  # 22:30 Shanghai
            report(account, 3, datetime(2026, 11, 21, 3, 0, tzinfo=UTC), party="relative", phone_number=None),
        ],
        actor_type="test",
    )
    sign_in_through_link(client, account)
    page = client.get(f"/accounts/{account.id}/contacts")
    assert page.status_code == 200
    items = page.soup.select("ol.contacts > li")
    assert len(items) == 3
    texts = [" ".join(item.get_text(" ").split()) for item in items]
    # Newest first, in local time and Simplified Chinese.
    assert "2026年11月21日 11:00" in texts[0] and "您的亲友" in texts[0]
    assert "2026年11月20日 22:30" in texts[1] and "短信" in texts[1]
    assert "2026年11月20日 10:00" in texts[2] and "您本人" in texts[2]
    assert all("SUNNY-COLLECT" in t and "A-17" in t for t in texts)
    # The relative was contacted while the borrower was reachable; the text came at night.
    assert "只有联系不上您时才可以联系其他人" in texts[0]
    assert "晚上 22:00 至次日早上 08:00 之间不得联系您" in texts[1]
    assert "不符合规定" not in texts[2]
    rights = {a["href"] for a in items[1].select(".notice a")}
    assert rights == {"/rights/collectors"}
    report_link = items[1].select_one(".contact-item__report a")["href"]
    assert urlsplit(report_link).path == "/complaint"
    assert parse_qs(urlsplit(report_link).query) == {"contact": [str(contact_id(account, "K-2"))]}
    # The account page leads here.
    assert f"/accounts/{account.id}/contacts" in {
        a["href"] for a in client.get(f"/accounts/{account.id}").soup.select("a")
    }


def test_counters_against_todays_and_this_weeks_limits(client, db):
    lender = LenderFactory()
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    now = utcnow()
    service.record(
        lender,
        [report(account, n, now - timedelta(minutes=n)) for n in range(2)]
        + [report(account, 9, now - timedelta(days=3), outcome="no_answer")],
        actor_type="test",
    )
    sign_in_through_link(client, account)
    text = text_of(client.get(f"/accounts/{account.id}/contacts"))
    # Both calls may fall on yesterday if the test runs just after local midnight; the week has all 3.
    assert "今天与您通话" in text and "（上限 3 次）" in text
    assert "最近 7 天来电 3 次" in text


def test_in_english_and_for_a_us_lender(client, db):
    lender = LenderFactory(jurisdiction="US")
    account = AccountFactory(
        borrower=BorrowerFactory(lender=lender, locale="en", timezone="America/New_York", phone_e164="+12025550143")
    )
    service.record(
        lender,
        [report(account, 1, datetime(2026, 11, 20, 2, 30, tzinfo=UTC), phone_number="+12025550143")],  # 21:30 in NY
        actor_type="test",
    )
    sign_in_through_link(client, account)
    page = client.get(f"/accounts/{account.id}/contacts?lang=en")
    text = text_of(page)
    assert "Collectors may not contact you before 8 a.m. or after 9 p.m. your time." in text
    assert "of 7 calls in the last 7 days" in text


def test_nobody_but_the_signed_in_borrower_sees_it(client, db):
    lender = LenderFactory()
    mine = AccountFactory(borrower=BorrowerFactory(lender=lender))
    theirs = AccountFactory(borrower=BorrowerFactory(lender=lender))
    service.record(lender, [report(theirs, 1, datetime(2026, 11, 20, 2, 0, tzinfo=UTC))], actor_type="test")
    anonymous = client.get(f"/accounts/{theirs.id}/contacts")
    assert anonymous.status_code in (302, 401)
    sign_in_through_link(client, mine)
    assert client.get(f"/accounts/{theirs.id}/contacts").status_code == 404
    assert "没有报送" in text_of(client.get(f"/accounts/{mine.id}/contacts"))


def test_report_this_contact_starts_a_complaint_filled_in_with_what_the_lender_reported(client, db):
    lender = LenderFactory()
    account = AccountFactory(borrower=BorrowerFactory(lender=lender))
    other = AccountFactory(borrower=BorrowerFactory(lender=lender))
    service.record(
        lender,
        [
            report(account, 1, datetime(2026, 11, 20, 14, 30, tzinfo=UTC), phone_number="+8613800138000"),
            report(other, 2, datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
        ],
        actor_type="test",
    )
    sign_in_through_link(client, account)
    history = client.get(f"/accounts/{account.id}/contacts")
    start = client.get(history.soup.select_one(".contact-item__report a")["href"])
    assert "请您核对" in text_of(start)
    form = start.soup.select_one("form[action='/complaint/start']")
    fields = {i["name"]: i.get("value") for i in form.select("input")}
    assert fields["contact"] == str(contact_id(account, "K-1"))
    what = client.post("/complaint/start", data=fields, follow_redirects=True)
    assert what.soup.select_one("input[value=night_or_too_often]").has_attr("checked")
    when = client.get("/complaint/when")
    assert when.soup.select_one("#incident_date")["value"] == "2026-11-20"
    assert when.soup.select_one("#incident_time")["value"] == "22:30"  # the borrower's time zone
    assert when.soup.select_one("input[name=channel][value=call]").has_attr("checked")
    assert when.soup.select_one("#collector_name")["value"] == "A-17"
    assert when.soup.select_one("#collector_agency")["value"] == "SUNNY-COLLECT"
    assert when.soup.select_one("#caller_number")["value"] == "+8613800138000"

    # Someone else's contact fills in nothing.
    stranger = client.get(f"/complaint?contact={contact_id(other, 'K-2')}")
    assert stranger.soup.select_one("input[name=contact]") is None
