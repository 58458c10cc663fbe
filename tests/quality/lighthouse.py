"""Lighthouse (mobile preset) on the main borrower pages of a local demo, in zh_Hans and en.

    python tests/quality/lighthouse.py            # every page, both languages
    python tests/quality/lighthouse.py --pages dashboard,account --locales en

Not a test: a script that prints performance / accessibility / best-practices scores and
exits non-zero when a page misses a target (performance >= 95, accessibility 100, best
practices >= 95). It installs ``lighthouse@12.2.3`` with npm into a cache directory (once),
starts ``portal demo`` on a free port with a throw-away SQLite database, signs in through the
real sign-in form for each signed-in page (Lighthouse sends the session cookie with
--extra-headers) and runs Lighthouse against Debian's Chromium (CHROME_PATH=/usr/bin/chromium;
Lighthouse's own browser download is never used). Every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.local import free_port, request, stop_group, wait_for_port  # noqa: E402

LIGHTHOUSE = "lighthouse@12.2.3"
CHROME = "/usr/bin/chromium"
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95}
# name -> (path, needs a signed-in borrower)
PAGES = {
    "landing": ("/", False),
    "sign-in": ("/sign-in", False),
    "verify": ("/r/{code}", False),
    "dashboard": ("/dashboard", True),
    "account": ("/accounts/{account_id}", True),
    "pay": ("/accounts/{account_id}/pay", True),
    "card": ("/payments/{payment}", True),
    "plan": ("/accounts/{account_id}/plan", True),
    "plan-options": ("/accounts/{account_id}/plan/options", True),
    "rights": ("/coming-soon/rights", True),
    "complaint": ("/complaint", False),
    "signed-out": ("/signed-out", False),
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def install_lighthouse(cache: Path) -> Path:
    cli = cache / "node_modules" / "lighthouse" / "cli" / "index.js"
    if not cli.exists():
        cache.mkdir(parents=True, exist_ok=True)
        log(f"installing {LIGHTHOUSE} into {cache}")
        subprocess.run(
            ["npm", "i", "-E", "--no-audit", "--no-fund", "--silent", LIGHTHOUSE],  # noqa: S603,S607
            cwd=cache,
            check=True,
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
        )
    return cli


@contextlib.contextmanager
def demo(port: int, workdir: Path):
    """``portal demo`` on ``port``; yields the borrowers it printed (links and answers)."""
    env = {**os.environ, "PORTAL_ENV": "development", "DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}"}
    env.pop("REDIS_URL", None)
    output = workdir / "demo.log"
    with open(output, "w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
            [sys.executable, "-c", "from portal.cli import main; main()", "demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Serving on" not in output.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"portal demo did not start:\n{output.read_text()[-3000:]}")
            time.sleep(0.2)
        wait_for_port(port)
        yield parse_demo(output.read_text())
    finally:
        stop_group(process, timeout=15)  # the demo runs localstripe as its child


def parse_demo(text: str) -> dict[str, dict]:
    """The demo's borrowers by locale: account number, answers and reminder link code."""
    found = {}
    pattern = re.compile(
        r"^\s+(?P<name>.+?)\s+(?P<account>[A-Z]{2}\d+)\s+\d+ days\s+(?P<locale>\w+)\s+"
        r"birth date (?P<dob>\d{8})\s+ID last 4 (?P<last4>\w{4})\s*\n\s+\S+/r/(?P<code>\S+)",
        re.M,
    )
    for match in pattern.finditer(text):
        found.setdefault(match["locale"], match.groupdict())
    if not {"zh_Hans", "en"} <= set(found):
        raise SystemExit(f"could not read the demo's borrowers from its output:\n{text[:2000]}")
    return found


def cookie_of(headers) -> str:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("portal_session="):
            return value.split(";", 1)[0]
    raise SystemExit("no session cookie")


def csrf(body: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body).group(1).decode()


def sign_in(port: int, who: dict) -> tuple[str, int]:
    """Sign in with the account number form; return the session cookie and the account id."""
    status, headers, body = request(port, "GET", "/sign-in")
    form = urlencode(
        {
            "csrf_token": csrf(body),
            "account_number": who["account"],
            "date_of_birth": who["dob"],
            "id_last4": who["last4"],
        }
    )
    status, headers, _ = request(
        port,
        "POST",
        "/sign-in",
        {"Cookie": cookie_of(headers), "Content-Type": "application/x-www-form-urlencoded"},
        form.encode(),
    )
    if status != 303:
        raise SystemExit(f"sign-in failed with {status}")
    cookie = cookie_of(headers)
    _, _, page = request(port, "GET", "/dashboard", {"Cookie": cookie})
    account_id = int(re.search(rb'href="/accounts/(\d+)"', page).group(1))
    return cookie, account_id


def new_payment(port: int, cookie: str, account_id: int) -> str:
    """Choose to pay the whole amount, which leads to the card page of a new payment (whose
    URL needs only the session, so the sign-in cookie still opens it)."""
    _, headers, page = request(port, "GET", f"/accounts/{account_id}/pay", {"Cookie": cookie})
    # The form's CSRF token lives in the session: take the cookie that carries it.
    with contextlib.suppress(SystemExit):
        cookie = cookie_of(headers)
    status, headers, _ = request(
        port,
        "POST",
        f"/accounts/{account_id}/pay",
        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        urlencode({"csrf_token": csrf(page), "choice": "full"}).encode(),
    )
    if status != 303:
        raise SystemExit(f"could not start a payment: {status}")
    return dict((k.lower(), v) for k, v in headers)["location"].rsplit("/", 1)[1]


def run_lighthouse(cli: Path, url: str, cookie: str, out: Path) -> dict:
    headers = out.with_suffix(".headers.json")
    headers.write_text(json.dumps({"Cookie": cookie}))
    argv = [
        "node",
        str(cli),
        url,
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--only-categories=performance,accessibility,best-practices",
        f"--extra-headers={headers}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    for attempt in range(3):
        out.unlink(missing_ok=True)
        result = subprocess.run(
            argv,
            env={**os.environ, "CHROME_PATH": CHROME},  # noqa: S603
            capture_output=True,
            text=True,
            timeout=300,
        )
        if not result.returncode and out.exists():
            break
        # Lighthouse sometimes loses the trace of a load (NO_NAVSTART) and says to run again.
        log(f"  attempt {attempt + 1} failed: {result.stderr.strip().splitlines()[-1:]}")
    else:
        raise SystemExit(f"lighthouse failed on {url}:\n{result.stderr[-3000:]}")
    report = json.loads(out.read_text())
    scores = {key: round(report["categories"][key]["score"] * 100) for key in TARGETS}
    problems = []
    for key in ("accessibility", "best-practices"):
        for ref in report["categories"][key]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                problems.append(f"{key}: {audit['id']} ({audit['title']})")
    metrics = {
        k: report["audits"][k]["displayValue"]
        for k in (
            "first-contentful-paint",
            "largest-contentful-paint",
            "total-blocking-time",
            "cumulative-layout-shift",
        )
        if k in report["audits"]
    }
    return {
        "scores": scores,
        "problems": problems,
        "metrics": metrics,
        "final_url": report.get("finalDisplayedUrl") or report.get("finalUrl"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--locales", default="zh_Hans,en")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "portal-lighthouse",
        help="where lighthouse is installed (kept between runs)",
    )
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    args = parser.parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))
    cli = install_lighthouse(args.cache)
    pages = args.pages.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="portal-lighthouse-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        with demo(port, workdir) as borrowers:
            base = f"http://127.0.0.1:{port}"
            for locale in args.locales.split(","):
                who = borrowers["zh_Hans" if locale == "zh_Hans" else "en"]
                for name in pages:
                    path, signed_in = PAGES[name]
                    cookie = f"portal_lang={locale}"
                    values = {"code": who["code"]}
                    if signed_in or name == "signed-out":
                        session, values["account_id"] = sign_in(port, who)
                        if signed_in:
                            cookie += f"; {session}"
                        if name == "card":
                            values["payment"] = new_payment(port, session, values["account_id"])
                    url = base + path.format(**values)
                    log(f"lighthouse {name} ({locale}): {url}")
                    result = run_lighthouse(cli, url, cookie, workdir / f"{name}-{locale}.json")
                    # A lost session would score the sign-in page instead: check where it ended.
                    expected = "/verify" if name == "verify" else urlsplit(url).path
                    if urlsplit(result["final_url"]).path != expected:
                        raise SystemExit(f"{url} ended on {result['final_url']}, not {expected}")
                    rows.append({"page": name, "locale": locale, "url": url, **result})
    failed = False
    print(
        f"Lighthouse {LIGHTHOUSE.split('@')[1]}, mobile preset, {CHROME}; targets: "
        + ", ".join(f"{k} >= {v}" for k, v in TARGETS.items())
    )
    print(f"{'page':<11} {'locale':<8} {'perf':>4} {'a11y':>4} {'bp':>4}  FCP / LCP / TBT / CLS")
    for row in rows:
        s = row["scores"]
        misses = [k for k, v in TARGETS.items() if s[k] < v]
        failed |= bool(misses)
        metrics = " / ".join(row["metrics"].values())
        print(
            f"{row['page']:<11} {row['locale']:<8} {s['performance']:>4} {s['accessibility']:>4} "
            f"{s['best-practices']:>4}  {metrics}{'  BELOW TARGET: ' + ', '.join(misses) if misses else ''}"
        )
        for problem in row["problems"]:
            print(f"{'':<21}- {problem}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
