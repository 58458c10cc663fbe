"""Throughput, latency, SQL statements and memory of the borrower pages, at several data sizes.

    python tests/benchmarks/run.py --accounts 1000,100000,1000000

For each size: a fresh PostgreSQL database (``bench`` on the server of DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/test, so the test database is never touched), the schema
from ``portal db upgrade``, N accounts seeded with COPY (tests/benchmarks/seed.py), then:

* a bare Flask route returning "ok" under gunicorn (2 sync workers), driven by wrk;
* the calibration page of the target (same_libraries.py: a plain Flask page written with the
  libraries the portal uses — Flask-Login signed in, Flask-WTF's CSRF token, Flask-Babel
  strings, amount and date, a CSP nonce, one ORM query); the target is the dashboard's worker
  CPU per request ÷ that page's ≤ 1.0, in the same run;
* for reference, the dashboard's content with none of the work (naive.py) and the signed-in
  floor (floor.py: the portal's request pipeline without a page), the same way;
* the portal under the same gunicorn settings (wsgi:app, PORTAL_ENV=production, Redis), signed
  in through the real sign-in form, driven by wrk for the dashboard, the account page and the
  pay page (each after a short warm-up, with a fresh sign-in, sending the Accept-Encoding of a
  browser, so responses are compressed as phones get them);
* the SQL statements each page runs (counted in-process on the same database);
* the memory of each worker before and after about 10 000 more dashboard requests.

wrk runs over loopback from its own process: -t2 -c8 for 10 s by default. Every process
started here is stopped here, also on failure or Ctrl+C. Needs: PostgreSQL and Redis running,
wrk (Debian package ``wrk``), the portal installed (``pip install -e .``) plus psutil.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tests.benchmarks.seed import seed  # noqa: E402
from tests.local import free_port, port_open, request, stop_group  # noqa: E402

PAGES = {"dashboard": "/dashboard", "account": "/accounts/{account_id}", "pay": "/accounts/{account_id}/pay"}
BROWSER_HEADERS = {
    "Accept-Encoding": "gzip, deflate, br",
    "Accept": "text/html,application/xhtml+xml",
    "User-Agent": "bench",
}
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- database


def database_urls(base: str, name: str) -> tuple[str, str]:
    """(maintenance URL, benchmark database URL) on the server of ``base``."""
    parts = urlsplit(base.replace("postgresql+psycopg://", "postgresql://"))
    return (urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{name}")))


def recreate_database(admin_url: str, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"unsafe database name {name!r}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def migrate(env: dict) -> None:
    result = subprocess.run(  # noqa: S603 - our own CLI, fixed argv
        [sys.executable, "-c", "from portal.cli import main; main()", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode:
        raise SystemExit(f"portal db upgrade failed:\n{result.stdout}\n{result.stderr}")


# --------------------------------------------------------------------------- processes


class Gunicorn:
    """gunicorn with 2 sync workers on a free loopback port; stopped on leaving the block."""

    def __init__(self, app: str, env: dict, workers: int, logdir: Path, name: str):
        self.app, self.env, self.workers = app, env, workers
        self.port = free_port()
        self.logfile = logdir / f"gunicorn-{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        with open(self.logfile, "w") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    str(self.workers),
                    "-k",
                    "sync",
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--chdir",
                    str(ROOT),
                    self.app,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.__exit__(None, None, None)
                raise SystemExit(f"gunicorn {self.app} exited:\n{self.logfile.read_text()[-3000:]}")
            if len(self.worker_pids()) == self.workers and port_open(self.port):
                return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise SystemExit(f"gunicorn {self.app} did not start:\n{self.logfile.read_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def __exit__(self, *exc_info) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_group(process)


def memory_kb(pid: int) -> dict[str, int]:
    """Resident memory now (VmRSS) and its peak so far (VmHWM), in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


# --------------------------------------------------------------------------- HTTP


def session_cookie(headers) -> str | None:
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("portal_session="):
            return value.split(";", 1)[0]
    return None


def sign_in(port: int, who: dict) -> tuple[str, float]:
    """Sign in through the form, as a browser does; return the Cookie header and the time the
    POST took. Production cookies are Secure, so they are carried by hand over plain HTTP."""
    # The User-Agent of the load that follows: Flask-Login's session protection would otherwise
    # see a "new browser" and rewrite the cookie on every request, which no real phone does.
    same_browser = {"User-Agent": BROWSER_HEADERS["User-Agent"]}
    status, headers, body = request(port, "GET", "/sign-in", same_browser)
    assert status == 200, status
    cookie = session_cookie(headers)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body).group(1).decode()
    form = urlencode(
        {
            "csrf_token": token,
            "account_number": who["account_number"],
            "date_of_birth": who["date_of_birth"],
            "id_last4": who["id_last4"],
        }
    )
    started = time.perf_counter()
    status, headers, body = request(
        port,
        "POST",
        "/sign-in",
        {**same_browser, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        form.encode(),
    )
    elapsed = time.perf_counter() - started
    signed_in = session_cookie(headers)
    if status != 303 or not signed_in:
        raise SystemExit(f"sign-in failed: {status} {body[:500]!r}")
    status, headers, page = request(port, "GET", "/dashboard", {**same_browser, "Cookie": signed_in})
    if status != 200 or who["name"].encode() not in page:
        raise SystemExit(f"signed in, but the dashboard answered {status}")
    # Sign-in starts a new cookie session, so the first page makes a new CSRF secret and sends
    # the cookie again; a browser keeps that one, and so does the load that follows.
    signed_in = session_cookie(headers) or signed_in
    status, headers, _ = request(port, "GET", "/dashboard", {**same_browser, "Cookie": signed_in})
    if status != 200 or session_cookie(headers):
        raise SystemExit("the dashboard rewrites the session cookie on every request")
    return signed_in, elapsed


def wrk(url: str, *, cookie: str | None, seconds: int, connections: int, threads: int) -> dict:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "report.lua"),
    ]
    for name, value in BROWSER_HEADERS.items():
        argv += ["-H", f"{name}: {value}"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    argv.append(url)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)  # noqa: S603
    if result.returncode:
        raise SystemExit(f"wrk failed: {result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if not figures["requests"]:
        raise SystemExit(f"{url}: wrk completed no request in {seconds} s (is the machine overloaded?)")
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    if figures["not_ok"] or figures["socket_errors"]:
        raise SystemExit(
            f"{url}: {figures['not_ok']} responses were not 200 and "
            f"{figures['socket_errors']} failed: the figures would mean nothing"
        )
    return figures


def load(server: Gunicorn, path: str, *, cookie: str | None, seconds: int, connections: int, threads: int) -> dict:
    """wrk on one page, plus the CPU time its workers spent per request (user + system).

    CPU per request moves far less than requests/s on a shared machine, and it is what the
    target compares: what one page costs, whatever else the machine is doing."""
    workers = [psutil.Process(pid) for pid in server.worker_pids()]

    def cpu_seconds() -> float:
        return sum(sum(worker.cpu_times()[:2]) for worker in workers)

    before = cpu_seconds()
    figures = wrk(server.base + path, cookie=cookie, seconds=seconds, connections=connections, threads=threads)
    figures["cpu_ms"] = (cpu_seconds() - before) * 1000 / figures["requests"]
    return figures


# --------------------------------------------------------------------------- SQL statements


def statements_per_page(who: dict) -> dict[str, int]:
    """The SQL statements one GET of each page runs, counted in this process on the same
    database (transaction control, which psycopg sends outside cursors anyway, not counted)."""
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    client = app.test_client()
    https = {"base_url": "https://localhost"}  # production cookies are Secure
    page = client.get("/sign-in", **https).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": token,
            "account_number": who["account_number"],
            "date_of_birth": who["date_of_birth"],
            "id_last4": who["id_last4"],
        },
        headers={"Referer": "https://localhost/sign-in"},
        **https,
    )
    assert response.status_code == 303, response.status_code
    counts = {}
    with app.app_context():
        engine = db.engine
    for name, path in PAGES.items():
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany, seen=seen):
            if not TRANSACTION_CONTROL.match(statement):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get(path.format(**who), **https)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (path, response.status_code)
        counts[name] = len(seen)
    with app.app_context():
        db.engine.dispose()
    return counts


# --------------------------------------------------------------------------- one data size


def measure_size(size: int, args, env: dict, logdir: Path) -> dict:
    admin_url, url = database_urls(args.database_url, args.database)
    log(f"\n== {size:,} accounts: database {args.database}")
    recreate_database(admin_url, args.database)
    size_env = {**env, "DATABASE_URL": url}
    migrate(size_env)
    who = seed(url, size, env["ID_HASH_KEY"], log=log)
    os.environ.update(size_env)
    result = {"accounts": size, "counts": who.pop("counts"), "pages": {}, "sign_in_ms": []}
    result["statements"] = statements_per_page(who)
    wrk_options = {"seconds": args.seconds, "connections": args.connections, "threads": args.threads}

    with Gunicorn("tests.benchmarks.bare:app", size_env, args.workers, logdir, "bare") as bare:
        load(bare, "/", cookie=None, **{**wrk_options, "seconds": 2})  # warm-up
        result["bare"] = load(bare, "/", cookie=None, **wrk_options)
        log(f"  bare: {result['bare']['rps']:.0f} req/s")

    with Gunicorn("tests.benchmarks.naive:app", size_env, args.workers, logdir, "naive") as naive:
        load(naive, "/dashboard", cookie=None, **{**wrk_options, "seconds": 2})  # warm-up
        result["naive"] = load(naive, "/dashboard", cookie=None, **wrk_options)
        log(f"  naive dashboard (calibration): {result['naive']['rps']:.0f} req/s")

    with Gunicorn("tests.benchmarks.same_libraries:app", size_env, args.workers, logdir, "same") as same:
        status, headers, _ = request(same.port, "GET", "/login", {"User-Agent": BROWSER_HEADERS["User-Agent"]})
        cookie = next(value.split(";", 1)[0] for name, value in headers if name.lower() == "set-cookie")
        load(same, "/page", cookie=cookie, **{**wrk_options, "seconds": 2})  # warm-up
        result["same"] = load(same, "/page", cookie=cookie, **wrk_options)
        log(f"  same-libraries page (calibration): {result['same']['rps']:.0f} req/s")

    with Gunicorn("tests.benchmarks.floor:app", size_env, args.workers, logdir, "floor") as floor:
        cookie, _ = sign_in(floor.port, who)
        load(floor, "/bench/floor", cookie=cookie, **{**wrk_options, "seconds": 2})  # warm-up
        result["floor"] = load(floor, "/bench/floor", cookie=cookie, **wrk_options)
        log(f"  signed-in floor (pipeline, no page): {result['floor']['rps']:.0f} req/s")

    with Gunicorn("wsgi:app", size_env, args.workers, logdir, "portal") as portal:
        for name, path in PAGES.items():
            page = path.format(**who)
            cookie, took = sign_in(portal.port, who)  # fresh: no idle-timeout cookie rewrites
            result["sign_in_ms"].append(took * 1000)
            load(portal, page, cookie=cookie, **{**wrk_options, "seconds": 2})  # warm-up
            result["pages"][name] = load(portal, page, cookie=cookie, **wrk_options)
            log(f"  {name}: {result['pages'][name]['rps']:.0f} req/s")
        # Memory: about 10 000 more dashboard requests after everything above (wrk runs for
        # a time, so the time is what the measured throughput needs for that many).
        cookie, _ = sign_in(portal.port, who)
        before = {pid: memory_kb(pid) for pid in portal.worker_pids()}
        seconds = max(1, round(args.memory_requests / result["pages"]["dashboard"]["rps"]))
        done = wrk(
            portal.base + "/dashboard",
            cookie=cookie,
            seconds=seconds,
            connections=args.connections,
            threads=args.threads,
        )
        after = {pid: memory_kb(pid) for pid in portal.worker_pids()}
        result["memory"] = {
            "requests": done["requests"],
            "workers": [
                {
                    "pid": pid,
                    "rss_before_kb": before[pid]["VmRSS"],
                    "rss_after_kb": after[pid]["VmRSS"],
                    "peak_kb": after[pid]["VmHWM"],
                }
                for pid in before
                if pid in after
            ],
        }
    return result


# --------------------------------------------------------------------------- report


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def report(results: list[dict], args) -> str:
    out = [
        f"gunicorn -w {args.workers} -k sync; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.seconds}s over loopback; {os.cpu_count()} CPUs; PostgreSQL + Redis; "
        "latencies in ms",
        "",
        f"{'accounts':>10}  {'page':<10} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} "
        f"{'SQL':>4} {'vs bare':>8} {'CPU ms':>7}",
    ]
    for r in results:
        rows = [
            ("bare", r["bare"], ""),
            ("same-libs", r["same"], "1"),
            ("naive", r["naive"], "1"),
            ("floor", r["floor"], "1"),
        ] + [(n, f, r["statements"][n]) for n, f in r["pages"].items()]
        for name, f, sql in rows:
            ratio = "" if name == "bare" else f"{f['rps'] / r['bare']['rps']:.2f}"
            out.append(
                f"{r['accounts']:>10,}  {name:<10} {f['rps']:>7.0f} {ms(f['p50_us']):>6} "
                f"{ms(f['p95_us']):>6} {ms(f['p99_us']):>6} {sql!s:>4} {ratio:>8} "
                f"{f['cpu_ms']:>7.2f}"
            )
    out += [
        "CPU ms: worker CPU time (user + system) per request.",
        "",
        "Targets: dashboard CPU per request / the same-libraries page's <= 1.0; SQL statements "
        "constant and <= 6; p95 at the largest size within 20% of the smallest.",
    ]
    first, last = results[0], results[-1]
    for name in PAGES:
        ratio = last["pages"][name]["p95_us"] / first["pages"][name]["p95_us"]
        out.append(
            f"  p95 {name}: {ms(first['pages'][name]['p95_us'])} ms at {first['accounts']:,}, "
            f"{ms(last['pages'][name]['p95_us'])} ms at {last['accounts']:,} ({ratio - 1:+.0%})"
        )
    target = [r["pages"]["dashboard"]["cpu_ms"] / r["same"]["cpu_ms"] for r in results]
    out.append(f"  dashboard CPU / same-libraries page CPU (target <= 1.0): {', '.join(f'{t:.2f}' for t in target)}")
    dash = [r["pages"]["dashboard"]["rps"] / r["bare"]["rps"] for r in results]
    out.append(f"  dashboard / bare, req/s (for reference): {', '.join(f'{d:.2f}' for d in dash)}")
    floor = [r["floor"]["rps"] / r["bare"]["rps"] for r in results]
    out.append(f"  signed-in floor / bare (every page's pipeline, no page): {', '.join(f'{f:.2f}' for f in floor)}")
    calibration = [r["naive"]["rps"] / r["bare"]["rps"] for r in results]
    out.append(f"  naive page / bare, req/s: {', '.join(f'{c:.2f}' for c in calibration)}")
    cost = [r["pages"]["dashboard"]["cpu_ms"] / r["naive"]["cpu_ms"] for r in results]
    out.append(f"  dashboard CPU / naive page CPU (content without the work): {', '.join(f'{c:.2f}' for c in cost)}")
    cost = [r["floor"]["cpu_ms"] / r["naive"]["cpu_ms"] for r in results]
    out.append(f"  signed-in floor CPU / naive page CPU: {', '.join(f'{c:.2f}' for c in cost)}")
    out += ["", "Sign-in (POST /sign-in, median of the benchmark's own sign-ins), ms:"]
    out += [f"{r['accounts']:>10,}  {statistics.median(r['sign_in_ms']):.1f}" for r in results]
    out += [
        "",
        f"Worker memory (KiB) before and after ~{args.memory_requests:,} more dashboard requests:",
        f"{'accounts':>10}  {'worker':>8} {'RSS before':>11} {'RSS after':>10} {'peak':>8} {'growth':>7}",
    ]
    for r in results:
        for w in r["memory"]["workers"]:
            out.append(
                f"{r['accounts']:>10,}  {w['pid']:>8} {w['rss_before_kb']:>11,} "
                f"{w['rss_after_kb']:>10,} {w['peak_kb']:>8,} "
                f"{w['rss_after_kb'] - w['rss_before_kb']:>+7,}"
            )
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", default="1000,100000", help="comma-separated data sizes (default 1000,100000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server URL; only its server is used",
    )
    parser.add_argument("--database", default="bench", help="database to (re)create (default bench)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-requests", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.accounts.split(",")]
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ID_HASH_KEY": secrets.token_urlsafe(48),
        "PROXY_HOPS": "0",
        "REDIS_URL": args.redis_url,
        # Production sends text messages through a gateway; no page measured here sends one.
        "SMS_BACKEND": "http",
        "SMS_GATEWAY_URL": "https://sms-gateway.invalid/send",
        "SMS_GATEWAY_TOKEN": "benchmark-sends-nothing",
        "RATELIMIT_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DATABASE_URL", None)
    # Ctrl+C, kill or a closed terminal: leave through the context managers, which stop gunicorn.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))
    results = []
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as logdir:
        for size in sizes:
            results.append(measure_size(size, args, env, Path(logdir)))
    text = report(results, args)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"report": text, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
