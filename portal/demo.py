"""The demo: a realistic lender and about ten borrowers in different situations.

Seeded through the same import service the loan core uses, so the demo data obeys the
same rules as real data. Running it again changes nothing and prints fresh links.
"""

from __future__ import annotations

import dataclasses
import io
import secrets
from datetime import date, timedelta

import click
import flask_migrate
from flask import current_app
from sqlalchemy import select

from portal.access.service import create_link, link_url
from portal.extensions import db
from portal.imports.service import COLUMNS, import_csv
from portal.models import Account, Lender, PlanFrequency
from portal.payments.localstripe import LocalStripe
from portal.plans import policy as policies

LENDERS = {
    "SUNRISE": dict(
        name="晨光消费金融有限公司",
        jurisdiction="CN",
        contact_phone="400-820-1234",
        contact_email="care@sunrise-cf.example.cn",
        timezone="Asia/Shanghai",
    ),
    "HARBOUR": dict(
        name="Harbour Credit Limited",
        jurisdiction="HK",
        contact_phone="+852 2123 4567",
        contact_email="help@harbourcredit.example.hk",
        timezone="Asia/Hong_Kong",
        service_opens="09:00",
        service_closes="18:00",
    ),
}

# Each lender's repayment-plan policy (`portal policy show SUNRISE` prints it as TOML).
PLAN_POLICIES = {
    # A mainland consumer-finance company: up to a year, any frequency, penalty interest
    # waived in full and half the fees for a settlement within 30 days.
    "SUNRISE": policies.STANDARD,
    # A Hong Kong lender: shorter plans, monthly or fortnightly, HK$300 minimum instalments.
    "HARBOUR": dataclasses.replace(
        policies.STANDARD,
        frequencies=(PlanFrequency.MONTHLY, PlanFrequency.FORTNIGHTLY),
        max_instalments=6,
        max_term_days=190,
        min_instalment_minor=30000,
        max_waiver_basis_points={"penalty_interest": 5000, "fees": 0, "interest": 0},
        settlement_deadline_days=14,
        max_deferral_days=14,
        grace_days=3,
        review_business_days=2,
    ),
}

# account, product, name, phone, birth date, national ID, currency, principal, interest,
# penalty, fees, days past due, locale, time zone. The amounts add up by construction.
BORROWERS = [
    (
        "SR2024000101",
        "随心借",
        "王芳",
        "13800138001",
        "1990-05-12",
        "110101199005124527",
        "CNY",
        "2000.00",
        "36.50",
        "4.20",
        "0.00",
        3,
        "zh_Hans",
        "Asia/Shanghai",
    ),
    (
        "SR2024000102",
        "随心借",
        "李强",
        "13800138002",
        "1985-11-03",
        "310104198511031234",
        "CNY",
        "8500.00",
        "420.00",
        "389.75",
        "50.00",
        95,
        "zh_Hans",
        "Asia/Shanghai",
    ),
    (
        "SR2024000103",
        "家装分期",
        "张伟",
        "13800138003",
        "1978-02-28",
        "44030519780228561X",
        "CNY",
        "15000.00",
        "980.00",
        "1210.40",
        "100.00",
        182,
        "zh_Hans",
        "Asia/Shanghai",
    ),
    (
        "SR2024000104",
        "随心借",
        "张伟",
        "13800138003",
        "1978-02-28",
        "44030519780228561X",
        "CNY",
        "1200.00",
        "18.00",
        "2.40",
        "0.00",
        12,
        "zh_Hans",
        "Asia/Shanghai",
    ),
    (
        "SR2024000105",
        "教育分期",
        "陈静",
        "13800138005",
        "2001-09-17",
        "510107200109170021",
        "CNY",
        "3600.00",
        "54.00",
        "27.00",
        "0.00",
        31,
        "zh_Hans",
        "Asia/Shanghai",
    ),
    (
        "SR2024000106",
        "随心借",
        "林志明",
        "13800138006",
        "1993-07-21",
        "350102199307210518",
        "CNY",
        "5000.00",
        "150.00",
        "60.00",
        "30.00",
        45,
        "zh_Hant",
        "Asia/Shanghai",
    ),
    (
        "SR2024000107",
        "随心借",
        "David Chen",
        "13800138007",
        "1988-03-14",
        "320102198803140056",
        "CNY",
        "2800.00",
        "42.00",
        "8.40",
        "0.00",
        7,
        "en",
        "Asia/Shanghai",
    ),
    (
        "SR2024000108",
        "手机分期",
        "赵丽",
        "13800138008",
        "1969-12-01",
        "210102196912014428",
        "CNY",
        "699.00",
        "10.49",
        "1.05",
        "0.00",
        2,
        "zh_Hans",
        "Asia/Shanghai",
    ),
    (
        "HB0000451",
        "Personal Loan",
        "陳美玲",
        "+85291234567",
        "1982-06-30",
        "A1234567",
        "HKD",
        "12000.00",
        "360.00",
        "240.00",
        "150.00",
        61,
        "zh_Hant",
        "Asia/Hong_Kong",
    ),
    (
        "HB0000452",
        "Personal Loan",
        "Michael Wong",
        "+85298765432",
        "1975-01-09",
        "B7654321",
        "HKD",
        "30000.00",
        "900.00",
        "1500.00",
        "300.00",
        120,
        "en",
        "Asia/Hong_Kong",
    ),
]


def _csv(today: date) -> str:
    out = io.StringIO()
    out.write(",".join(COLUMNS) + "\n")
    for (
        number,
        product,
        name,
        phone,
        dob,
        national_id,
        currency,
        principal,
        interest,
        penalty,
        fees,
        days,
        locale,
        tz,
    ) in BORROWERS:
        lender = "HARBOUR" if number.startswith("HB") else "SUNRISE"
        total = sum(int(x.replace(".", "")) for x in (principal, interest, penalty, fees))
        overdue = f"{total // 100}.{total % 100:02d}"
        due = (today - timedelta(days=days)).isoformat()
        out.write(
            ",".join(
                [
                    lender,
                    LENDERS[lender]["name"],
                    number,
                    product,
                    name,
                    phone,
                    dob,
                    national_id,
                    currency,
                    principal,
                    interest,
                    penalty,
                    fees,
                    overdue,
                    due,
                    str(days),
                    locale,
                    tz,
                ]
            )
            + "\n"
        )
    return out.getvalue()


def start_fake_stripe(base_url: str) -> LocalStripe | None:
    """With no Stripe keys, run localstripe and point the app (and the pay page) at it."""
    config = current_app.config
    if config["STRIPE_SECRET_KEY"]:
        return None
    server = LocalStripe.start()
    secret = "whsec_" + secrets.token_urlsafe(24)
    server.register_webhook(f"{base_url}/stripe/webhook", secret)
    # localstripe accepts any key; these are placeholders, not credentials.
    config.update(
        STRIPE_SECRET_KEY="sk_test_demo",  # noqa: S106
        STRIPE_PUBLISHABLE_KEY="pk_test_demo",
        STRIPE_WEBHOOK_SECRET=secret,
        STRIPE_API_BASE=server.base_url,
    )
    current_app.extensions.pop("stripe_gateway", None)
    click.echo(
        f"Fake Stripe (localstripe) on {server.base_url}: pay with card 4242 4242 4242 4242, "
        "any future date and any CVC; 4000 0027 6000 3184 asks for 3-D Secure; "
        "4000 0000 0000 0341 is declined."
    )
    return server


def migrate() -> None:
    """The schema (Alembic runs on a connection of its own, before the demo's transaction)."""
    flask_migrate.upgrade()


def prepare(base_url: str) -> None:
    current_app.config["PORTAL_BASE_URL"] = base_url
    result = import_csv(io.StringIO(_csv(date.today())), actor_type="cli")
    if not result.ok:  # pragma: no cover - the demo data is valid by construction
        raise click.ClickException("; ".join(map(str, result.errors)))
    for lender in db.session.execute(select(Lender)).scalars():
        for key, value in LENDERS.get(lender.code, {}).items():
            setattr(lender, key, value)
        if lender.code in PLAN_POLICIES and policies.current(lender.id) is None:
            policies.set_policy(lender, PLAN_POLICIES[lender.code], actor_type="cli")
    click.echo(f"Demo data ready ({result.summary()}). Open a link on your phone or browser:\n")
    accounts = db.session.execute(select(Account).order_by(Account.id)).scalars()
    for account in accounts:
        borrower = account.borrower
        _, code = create_link(account, actor_type="cli")
        click.echo(
            f"  {borrower.name:<14} {account.account_number:<14} {account.days_past_due:>4} days  "
            f"{borrower.locale:<8} birth date {borrower.date_of_birth:%Y%m%d}  "
            f"ID last 4 {borrower.national_id_last4}\n    {link_url(code)}"
        )
    click.echo("\nOr sign in at the home page with an account number and the same answers.")
