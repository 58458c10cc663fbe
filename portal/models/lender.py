from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.jurisdiction import Jurisdiction


class Lender(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # A portal.jurisdiction.Jurisdiction: which rules the rights pages explain and which
    # calendar counts business days (portal/business_days.py).
    jurisdiction: Mapped[str] = mapped_column(String(2), default=Jurisdiction.CN)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    # Hours someone answers the phone, in the lender's time zone ("09:00", "21:00").
    service_opens: Mapped[str] = mapped_column(String(5), default="09:00")
    service_closes: Mapped[str] = mapped_column(String(5), default="21:00")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # Smallest "other amount": the lower of a share of the overdue amount and a fixed sum
    # (default 1% or 50.00). Whole overdue amounts below it can always be paid.
    min_payment_basis_points: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    min_payment_minor: Mapped[int] = mapped_column(BigInteger, default=5000, server_default="5000")
    # Comma-separated Stripe payment methods this lender's account supports: card, alipay,
    # wechat_pay. The portal offers only those valid for the account's currency.
    payment_methods: Mapped[str] = mapped_column(String(64), default="card", server_default="card")
