"""Which language a page is in, and how money and dates look in each."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.support import Translations
from flask import render_template
from flask_babel import force_locale

from portal.config import ROOT
from portal.i18n import negotiate
from portal.money import format_money
from portal.templating import long_date, money
from tests.factories import AccountFactory, BorrowerFactory
from tests.helpers import make_link, sign_in_through_link


@pytest.mark.parametrize(
    "header,expected",
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans-CN", "zh_Hans"),
        ("zh", "zh_Hans"),
        ("zh-TW", "zh_Hant"),
        ("zh-HK,en;q=0.5", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR,en;q=0.5", "en"),
        ("en;q=0.3,zh-TW;q=0.8", "zh_Hant"),
        ("de-DE", None),
        ("", None),
        ("zh-TW;q=abc,en", "en"),
    ],
)
def test_browser_languages_map_to_the_right_script(header, expected):
    assert negotiate(header) == expected


def html_lang(response):
    return response.soup.html["lang"]


def test_default_is_simplified_chinese(client, db):
    assert html_lang(client.get("/")) == "zh-Hans"


@pytest.mark.parametrize(
    "header,lang,heading",
    [
        ("zh-TW", "zh-Hant", "查詢您的借款"),
        ("en-GB", "en", "Check your loan"),
        ("zh-CN", "zh-Hans", "查询您的借款"),
    ],
)
def test_accept_language_is_followed_when_nothing_else_is_known(client, db, header, lang, heading):
    page = client.get("/", headers={"Accept-Language": header})
    assert html_lang(page) == lang
    assert page.soup.h1.get_text(strip=True) == heading


def test_link_language_wins_over_the_browser(client, db):
    account = AccountFactory(borrower__locale="zh_Hans")
    code = make_link(account, locale="en")
    page = client.get(f"/r/{code}", headers={"Accept-Language": "zh-CN"}, follow_redirects=True)
    assert html_lang(page) == "en"


def test_borrower_locale_wins_over_the_browser_after_sign_in(client, db):
    account = AccountFactory(borrower=BorrowerFactory(locale="zh_Hant"))
    sign_in_through_link(client, account)
    page = client.get("/dashboard", headers={"Accept-Language": "en"})
    assert html_lang(page) == "zh-Hant"


def test_language_switch_is_remembered_in_cookie_and_profile(client, db):
    account = AccountFactory()
    sign_in_through_link(client, account)
    response = client.submit("/dashboard", form_index=0, button=("lang", "en"))
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/dashboard")
    assert client.get_cookie("portal_lang").value == "en"
    db.session.refresh(account.borrower)
    assert account.borrower.locale == "en"
    page = client.get("/dashboard")
    assert html_lang(page) == "en" and "Overdue amount" in page.soup.get_text()


def test_language_switch_works_before_sign_in_and_returns_to_the_same_page(client, db):
    response = client.submit("/sign-in", form_index=1, button=("lang", "zh_Hant"))
    assert response.headers["Location"].startswith("/sign-in")
    assert html_lang(client.get("/sign-in")) == "zh-Hant"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_language_switch_never_redirects_off_site(client, db, target):
    page = client.get("/")
    token = page.soup.find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_language_switch_refuses_unknown_languages_and_missing_csrf(client, db):
    page = client.get("/")
    token = page.soup.find("input", attrs={"name": "csrf_token"})["value"]
    assert client.post("/language", data={"csrf_token": token, "lang": "fr"}).status_code == 400
    assert client.post("/language", data={"lang": "en"}).status_code == 400


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("zh_Hans", "¥1,234.56"),
        ("zh_Hant", "CN¥1,234.56"),
        ("en", "CN¥1,234.56"),
    ],
)
def test_yuan_in_each_locale(locale, expected):
    assert format_money(123456, "CNY", locale) == expected


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("zh_Hans", "HK$12,750.00"),
        ("zh_Hant", "HK$12,750.00"),
        ("en", "HK$12,750.00"),
    ],
)
def test_hong_kong_dollars_in_each_locale(locale, expected):
    assert format_money(1275000, "HKD", locale) == expected


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("zh_Hans", "2025年3月9日"),
        ("zh_Hant", "2025年3月9日"),
        ("en", "9 March 2025"),  # British order: the readers are in Hong Kong and beyond, not the US
    ],
)
def test_dates_in_each_locale(app, locale, expected):
    with app.test_request_context(), force_locale(locale):
        assert long_date(date(2025, 3, 9)) == expected


def test_dashboard_in_english_reads_naturally(client, db):
    account = AccountFactory(borrower__locale="en", days_past_due=1)
    sign_in_through_link(client, account)
    text = client.get("/dashboard").soup.get_text(" ")
    assert "CN¥2,040.70" in text and "1 day" in text and "1 days" not in text


def test_link_language_carries_on_after_sign_in(client, db):
    account = AccountFactory(borrower__locale="zh_Hans")
    client.get(f"/r/{make_link(account, locale='en')}")
    from tests.helpers import verify

    assert verify(client, account).status_code == 303
    assert html_lang(client.get("/dashboard")) == "en"


def test_each_language_gets_its_own_compiled_page(client, db):
    # Templates are compiled once per language with fixed strings translated in (templating.py):
    # three languages in a row from one worker must each read exactly as their catalog says.
    note = "This service never asks for your card PIN or password, your full ID number or a code from your bank."
    for header, locale in [("zh-CN", "zh_Hans"), ("en", "en"), ("zh-TW", "zh_Hant"), ("zh-CN", "zh_Hans")]:
        page = client.get("/", headers={"Accept-Language": header})
        catalog = Translations.load(str(ROOT / "translations"), [locale])
        assert page.soup.find(class_="footer__note").get_text(strip=True) == catalog.ugettext(note)
        assert page.soup.find(class_="skip").get_text(strip=True) == catalog.ugettext("Skip to main content")


def test_force_locale_renders_a_whole_page_in_that_language(app, db):
    # What code writing to a borrower in their own language (not the viewer's) relies on.
    note = "This service never asks for your card PIN or password"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        chinese = render_template("access/signed_out.html", reason="signed_out")
        with force_locale("en"):
            english = render_template("access/signed_out.html", reason="signed_out")
            amount = money(123456, "CNY")
        again = render_template("access/signed_out.html", reason="signed_out")
    assert note not in chinese and '<html lang="zh-Hans">' in chinese
    assert note in english and '<html lang="en">' in english and amount == "CN¥1,234.56"
    assert again == chinese.replace(csrf_of(chinese), csrf_of(again))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else ""
