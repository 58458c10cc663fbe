from datetime import UTC, datetime

import pytest

from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import sign_in_through_link
from tests.pages import text_of


def test_dashboard_shows_every_figure_the_borrower_needs(client, db):
    lender = LenderFactory(
        name="晨光消费金融有限公司", contact_phone="400-820-1234", service_opens="08:30", service_closes="20:00"
    )
    borrower = BorrowerFactory(lender=lender, name="李强")
    account = AccountFactory(
        borrower=borrower,
        account_number="SR2024000102",
        product="随心借",
        principal_minor=850000,
        interest_minor=42000,
        penalty_interest_minor=38975,
        fees_minor=5000,
        days_past_due=95,
        last_synced_at=datetime(2026, 11, 28, 1, 30, tzinfo=UTC),
    )
    sign_in_through_link(client, account)
    page = client.get("/dashboard")
    text = text_of(page)
    assert "李强" in text
    assert "¥9,359.75" in text  # overdue = 8500 + 420 + 389.75 + 50
    for part in ("¥8,500.00", "¥420.00", "¥389.75", "¥50.00"):
        assert part in text
    assert "•••• 0102" in text and "SR2024000102" not in text
    assert "95" in text
    assert account.due_date.strftime("%Y年%-m月%-d日") in text
    # 01:30 UTC is 09:30 in Shanghai, the borrower's time zone.
    assert "2026年11月28日 09:30" in text
    assert "400-820-1234" in text and "08:30" in text and "20:00" in text
    links = {a["href"] for a in page.soup.select("ul.actions a")}
    # "Your rights" leads to the rights centre (mainland China content for this CN lender).
    assert links == {f"/accounts/{account.id}/plan", "/rights", "/complaint"}
    assert page.soup.find("a", href=f"/accounts/{account.id}/pay")
    assert page.soup.find("a", href=f"/accounts/{account.id}")


@pytest.mark.parametrize("feature", ["rights"])
def test_next_steps_lead_to_a_page_that_says_it_is_coming(client, db, feature):
    account = AccountFactory()
    sign_in_through_link(client, account)
    page = client.get(f"/coming-soon/{feature}")
    assert page.status_code == 200
    assert account.lender.contact_phone in text_of(page)


def test_unknown_feature_is_a_404(client, db):
    sign_in_through_link(client, AccountFactory())
    assert client.get("/coming-soon/nothing").status_code == 404
