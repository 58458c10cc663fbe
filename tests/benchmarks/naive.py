"""A reference page, printed beside the target's calibration: the dashboard's content with none of
the work. It shows what the libraries' own work costs on top of the content (the target itself
compares the dashboard with same_libraries.py). Measured on the same machine in the same run: one SQL
statement for the benchmark borrower's accounts (SQLAlchemy Core, a transaction as any naive
page has), one cached Jinja template with the same markup and the Traditional Chinese text
written in, amounts formatted with an f-string. No session, no sign-in check, no CSRF token,
no translations, no security headers, no compression.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))

QUERY = text("""
    SELECT a.id, a.account_number, a.product, a.overdue_minor, a.principal_minor, a.interest_minor,
           a.penalty_interest_minor, a.fees_minor, a.due_date, a.days_past_due, a.last_synced_at,
           b.name, l.name AS lender, l.service_opens, l.service_closes, l.contact_phone
    FROM account a JOIN borrower b ON b.id = a.borrower_id JOIN lender l ON l.id = b.lender_id
    WHERE a.borrower_id = :borrower ORDER BY a.days_past_due DESC, a.id""")

PAGE = app.jinja_env.from_string("""<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>您的借款 · 陽光服務平台</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/portal.css') }}"></head>
<body><a class="skip" href="#main">跳至主要內容</a>
<header class="masthead"><div class="wrap masthead__row"><span class="brand">陽光服務平台</span>
<form method="post" action="/sign-out" class="inline">
<button type="submit" class="button button--quiet">登出</button></form>
</div></header>
<main id="main" class="wrap">
<h1>{{ rows[0].name }}，您好</h1>
<p class="lead">以下是您在{{ rows[0].lender }}的逾期明細，以及您可以怎麼做。</p>
<p class="notice">您有{{ rows|length }}筆借款逾期，合計 {{ money(total) }}。您可以一次還清、先還一部分，或提出還款計劃。
<a href="#next-steps">查看您可以怎麼做</a></p>
{% for a in rows %}
<section class="card" aria-labelledby="account-{{ a.id }}">
  <h2 id="account-{{ a.id }}">{{ a.product }} <span class="meta">借款帳戶 •••• {{ a.account_number[-4:] }}</span></h2>
  <p class="meta">逾期金額</p>
  <p class="amount">{{ money(a.overdue_minor) }}</p>
  <dl class="breakdown">
  <div><dt>本金</dt><dd>{{ money(a.principal_minor) }}</dd></div>
  <div><dt>利息</dt><dd>{{ money(a.interest_minor) }}</dd></div>
  <div><dt>罰息</dt><dd>{{ money(a.penalty_interest_minor) }}</dd></div>
  <div><dt>費用</dt><dd>{{ money(a.fees_minor) }}</dd></div>
  <div><dt>應還日期</dt><dd>{{ a.due_date.year }}年{{ a.due_date.month }}月{{ a.due_date.day }}日</dd></div>
  <div><dt>逾期天數</dt><dd>{{ a.days_past_due }}天</dd></div>
  </dl>
  <p class="meta">以上金額截至 {{ a.last_synced_at.strftime('%Y年%m月%d日 %H:%M') }}</p>
  <div class="buttons">
    <a class="button" href="{{ url_for('pay', account_id=a.id) }}">還款</a>
    <a class="button button--secondary" href="{{ url_for('account', account_id=a.id) }}">明細與還款紀錄</a>
  </div>
</section>
{% endfor %}
<h2 id="next-steps">您可以怎麼做</h2>
<ul class="actions">
  <li><a class="button button--secondary" href="/coming-soon/plan">提出還款計劃
    <small>如果您暫時有困難</small></a></li>
  <li><a class="button button--secondary" href="/coming-soon/rights">您的權益
    <small>您的貸款機構及其委託的任何人可以做什麼、不可以做什麼</small></a></li>
  <li><a class="button button--secondary" href="/coming-soon/complaint">投訴不當催收
    <small>威脅、辱罵、聯絡您的家人、同事或聯絡人、夜間來電</small></a></li>
</ul>
<section class="contact"><h2>聯絡{{ rows[0].lender }}</h2>
<p>客服時間 {{ rows[0].service_opens }}–{{ rows[0].service_closes }}</p>
<p><a class="button" href="tel:{{ rows[0].contact_phone }}">致電 {{ rows[0].contact_phone }}</a></p></section>
</main>
<footer class="footer"><div class="wrap"><form method="post" action="/language" class="languages">
<span class="languages__label">語言</span>
<button type="submit" name="lang" value="zh_Hans">简体中文</button>
<button type="submit" name="lang" value="zh_Hant">繁體中文</button>
<button type="submit" name="lang" value="en">English</button></form>
<p class="footer__note">本服務絕不會要求您提供銀行卡密碼、完整身份證號碼或銀行發送的驗證碼。</p></div></footer>
</body></html>""")


def money(minor: int) -> str:
    return f"CN¥{minor // 100:,}.{minor % 100:02d}"


@app.get("/dashboard")
def dashboard():
    with engine.connect() as conn:
        rows = conn.execute(QUERY, {"borrower": 1}).all()  # the benchmark borrower (seed.py)
    return PAGE.render(rows=rows, money=money, total=sum(row.overdue_minor for row in rows))


@app.get("/accounts/<int:account_id>/pay")
def pay(account_id: int):
    return "pay"


@app.get("/accounts/<int:account_id>")
def account(account_id: int):
    return "account"
