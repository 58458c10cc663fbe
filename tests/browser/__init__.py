"""Browser tests. ``shot`` keeps a full-page screenshot when SCREENSHOT_DIR names a folder, for a
person to look at; without it, nothing is written."""

from __future__ import annotations

import os


def shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
