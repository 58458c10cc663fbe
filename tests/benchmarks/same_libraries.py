"""The second calibration page: a plain Flask page written with the libraries the portal uses.

Issue 10 sets the dashboard's speed target against "a plain Flask page written with the same
libraries the portal uses": Flask-Login with a signed-in user (loaded from the database on
every request, as its docs show), Flask-WTF's CSRF token in a form, Flask-Babel with about 20
translated strings, an amount and a date formatted by Babel in the reader's locale, a CSP
nonce, one ORM query. It is written the way its libraries' documentation shows, with none of
the portal's own speed work (no compiled-per-language templates, no cached formatters), and
measured in the same run as the dashboard: dashboard CPU per request ÷ this page's ≤ 1.0.

``/login`` signs the benchmark borrower in (the runner takes the cookie); ``/page`` is the page.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from decimal import Decimal

from flask import Flask, g, render_template
from flask_babel import Babel, format_currency, format_date
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect, FlaskForm
from jinja2 import DictLoader
from sqlalchemy import select
from sqlalchemy.orm import Mapped, mapped_column

from portal.config import ROOT

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
    BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "translations"),
    BABEL_DEFAULT_LOCALE="zh_Hant",
)
db = SQLAlchemy(app)
login = LoginManager(app)
CSRFProtect(app)
Babel(app, locale_selector=lambda: "zh_Hant", timezone_selector=lambda: "Asia/Shanghai")


class Account(db.Model):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int]
    account_number: Mapped[str]
    product: Mapped[str]
    currency: Mapped[str]
    overdue_minor: Mapped[int]
    principal_minor: Mapped[int]
    interest_minor: Mapped[int]
    penalty_interest_minor: Mapped[int]
    fees_minor: Mapped[int]
    due_date: Mapped[date]
    days_past_due: Mapped[int]


class Borrower(db.Model, UserMixin):
    __tablename__ = "borrower"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


@login.user_loader
def load_user(user_id: str):
    return db.session.get(Borrower, int(user_id))


class SignOutForm(FlaskForm):
    pass


PAGE = """<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ _('Your loans') }} · {{ _('Sunshine Portal') }}</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/portal.css') }}"></head>
<body><a class="skip" href="#main">{{ _('Skip to main content') }}</a>
<header class="masthead"><div class="wrap masthead__row"><span class="brand">{{ _('Sunshine Portal') }}</span>
<form method="post" action="/sign-out" class="inline">{{ form.csrf_token }}
<button type="submit" class="button button--quiet">{{ _('Sign out') }}</button></form></div></header>
<main id="main" class="wrap">
<p>{{ _('Hello, %(name)s', name=current_user.name) }}</p>
<h1>{{ _('Your loans') }}</h1>
{% for a in accounts %}
<section class="card"><h2>{{ a.product }}
  <span class="meta">{{ _('Loan account %(number)s', number=a.account_number[-4:]) }}</span></h2>
  <p class="meta">{{ _('Overdue amount') }}</p>
  <p class="amount">{{ money(a.overdue_minor, a.currency) }}</p>
  <dl class="breakdown">
  <div><dt>{{ _('Principal') }}</dt><dd>{{ money(a.principal_minor, a.currency) }}</dd></div>
  <div><dt>{{ _('Interest') }}</dt><dd>{{ money(a.interest_minor, a.currency) }}</dd></div>
  <div><dt>{{ _('Penalty interest') }}</dt><dd>{{ money(a.penalty_interest_minor, a.currency) }}</dd></div>
  <div><dt>{{ _('Fees') }}</dt><dd>{{ money(a.fees_minor, a.currency) }}</dd></div>
  <div><dt>{{ _('Due date') }}</dt><dd>{{ format_date(a.due_date, 'long') }}</dd></div>
  </dl>
  <a class="button" href="/accounts/{{ a.id }}/pay">{{ _('Pay') }}</a>
  <a class="button button--secondary" href="/accounts/{{ a.id }}">{{ _('Details and payment history') }}</a>
</section>
{% endfor %}
<h2>{{ _('What you can do next') }}</h2>
<ul class="actions"><li>{{ _('Propose a repayment plan') }}</li><li>{{ _('Your rights') }}</li>
<li>{{ _('Report improper collection') }}</li></ul>
</main>
<footer class="footer"><div class="wrap"><span>{{ _('Language') }}</span>
<p class="footer__note">{{ _('This service never asks for your card PIN or password, your full ID number or '
  'a code from your bank.') }}</p>
<script nonce="{{ g.nonce }}"></script></div></footer>
</body></html>"""


def money(minor: int, currency: str) -> str:
    return format_currency(Decimal(minor).scaleb(-2), currency)


app.jinja_loader = DictLoader({"page.html": PAGE})  # compiled once, as a template file is


@app.get("/login")
def log_in():
    login_user(db.session.get(Borrower, 1))  # the benchmark borrower (seed.py)
    return "signed in"


@app.get("/page")
@login_required
def page():
    g.nonce = secrets.token_urlsafe(16)
    accounts = db.session.execute(select(Account).where(Account.borrower_id == current_user.id)).scalars().all()
    html = render_template("page.html", accounts=accounts, form=SignOutForm(), money=money, format_date=format_date)
    return html, 200, {"Content-Security-Policy": f"default-src 'none'; script-src 'nonce-{g.nonce}'"}
