"""Quality checks use the browser fixtures of tests/browser/ (live server, Debian's Chromium).

Playwright's sync API allows one driver per thread, and tests/browser/conftest.py starts its
own in its session-scoped ``chromium`` fixture, which only tests/browser/ can see. So that
both directories can run in one pytest session, whichever order pytest picks, the driver is
shared: that fixture's ``sync_playwright`` is pointed at a reference-counted one, and this
directory's ``chromium`` uses the same driver. (Simpler once ``live_server``, ``chromium``
and ``phone`` move to tests/conftest.py: then this file can go.)
"""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

import tests.browser.conftest as browser_conftest
from tests.browser.conftest import CHROMIUM, live_server, phone  # noqa: F401


class SharedPlaywright:
    """``sync_playwright()`` that many fixtures may enter: started by the first, stopped by
    the last to leave."""

    def __init__(self):
        self._manager = None
        self._playwright = None
        self._users = 0

    def __call__(self):
        return self

    def __enter__(self):
        if self._users == 0:
            self._manager = sync_playwright()
            self._playwright = self._manager.__enter__()
        self._users += 1
        return self._playwright

    def __exit__(self, *exc_info):
        self._users -= 1
        if self._users == 0:
            manager, self._manager, self._playwright = self._manager, None, None
            manager.__exit__(None, None, None)
        return False


shared_playwright = SharedPlaywright()
browser_conftest.sync_playwright = shared_playwright


@pytest.fixture(scope="session")
def chromium():
    with shared_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--headless=new", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()
