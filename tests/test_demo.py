"""`portal demo`: the README's first command, run as a newcomer would."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

LINK = re.compile(r"http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_-]{16}")


def demo_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PORTAL_ENV"] = "development"
    env["PYTHONUNBUFFERED"] = "1"
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    return env


def portal(*args):
    return [sys.executable, "-c", "from portal.cli import main; main()", *args]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=30):
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_demo_seeds_ten_borrowers_and_prints_links_and_answers(tmp_path):
    env = demo_env(tmp_path)
    first = subprocess.run(portal("demo", "--no-serve"), env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "10 created" in first.stdout
    assert len(LINK.findall(first.stdout)) == 10
    assert "19880314" in first.stdout  # the birth date answer for David Chen
    again = subprocess.run(portal("demo", "--no-serve"), env=env, capture_output=True, text=True, timeout=120)
    assert "0 created, 0 updated, 10 unchanged" in again.stdout


def test_demo_serves_and_a_printed_link_works(tmp_path):
    port = free_port()
    env = demo_env(tmp_path)
    server = subprocess.Popen(
        portal("demo", "--port", str(port)), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Serving on" not in output:
            output += server.stdout.readline()
        link = LINK.findall(output)[0]
        wait_for_port(port)
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(link, timeout=10) as response:
            body = response.read().decode()
        assert response.url.endswith("/verify")
        assert "晨光消费金融有限公司" in body
        # With no Stripe keys, the demo runs localstripe so a newcomer can pay with 4242….
        assert "Fake Stripe (localstripe) on http://127.0.0.1:" in output
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)  # it stops its localstripe first; slow on a busy machine
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


def test_the_demo_seeds_a_plan_policy_per_lender_once(tmp_path):
    env = demo_env(tmp_path)
    for _ in range(2):
        subprocess.run(portal("demo", "--no-serve"), env=env, capture_output=True, text=True, timeout=120, check=True)
    for lender, instalments in (("SUNRISE", 12), ("HARBOUR", 6)):
        shown = subprocess.run(portal("policy", "show", lender), env=env, capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert "version 1," in shown.stdout  # running the demo again added no version
        assert f"max_instalments = {instalments}" in shown.stdout
