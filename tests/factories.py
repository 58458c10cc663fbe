"""Test data, built through the real models and the real session."""

from __future__ import annotations

from datetime import date, timedelta

import factory

from portal.extensions import db
from portal.identity import hash_national_id, last4
from portal.models import Account, Borrower, Lender


class _Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        # Looked up at call time: the conftest swaps db.session for a rolled-back one.
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class LenderFactory(_Base):
    class Meta:
        model = Lender

    code = factory.Sequence(lambda n: f"L{n:03d}")
    name = factory.Sequence(lambda n: f"测试消费金融{n}号有限公司")
    jurisdiction = "CN"
    contact_phone = "400-800-0000"
    contact_email = "care@lender.example.cn"


class BorrowerFactory(_Base):
    class Meta:
        model = Borrower
        exclude = ("national_id",)

    lender = factory.SubFactory(LenderFactory)
    name = "王芳"
    phone_e164 = factory.Sequence(lambda n: f"+86138{n:08d}")
    date_of_birth = date(1990, 5, 12)
    national_id = factory.Sequence(lambda n: f"1101011990051{n:04d}X")
    national_id_hash = factory.LazyAttribute(lambda o: hash_national_id(o.national_id))
    national_id_last4 = factory.LazyAttribute(lambda o: last4(o.national_id))
    locale = "zh_Hans"
    timezone = "Asia/Shanghai"


class AccountFactory(_Base):
    class Meta:
        model = Account

    borrower = factory.SubFactory(BorrowerFactory)
    lender = factory.SelfAttribute("borrower.lender")
    account_number = factory.Sequence(lambda n: f"AC{n:08d}")
    product = "随心借"
    currency = "CNY"
    principal_minor = 200000
    interest_minor = 3650
    penalty_interest_minor = 420
    fees_minor = 0
    overdue_minor = factory.LazyAttribute(
        lambda o: o.principal_minor + o.interest_minor + o.penalty_interest_minor + o.fees_minor
    )
    days_past_due = 3
    due_date = factory.LazyAttribute(lambda o: date.today() - timedelta(days=o.days_past_due))
