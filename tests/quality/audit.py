"""Known vulnerabilities in the installed dependencies, from the package index's advisories.

    python tests/quality/audit.py

The index is the one pip is configured with (PIP_INDEX_URL, else `pip config get
global.index-url`, else the default pip's help names); its JSON API carries PyPI's advisories (OSV: PYSEC and GHSA). For
each installed package the release's own page (NAME/VERSION/json) is asked first, as pip-audit
does. Where the index serves only project pages (NAME/json), those describe the latest release:
a package installed at its latest version is checked against them; an older one cannot be, and
is listed with the reason it is held back (KNOWN_UNCHECKED) or, for any other, with the newer
release, so the list says what to upgrade. Exits 1 when an advisory applies or when a package's
page cannot be fetched; an older release is reported, not failed, because a release published
upstream yesterday is not a finding about this code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

from packaging.utils import canonicalize_name

OWN = {"sunshine-portal"}
# Held below their latest release, so PyPI's project page says nothing about the installed one.
KNOWN_UNCHECKED = {
    "pip": "the virtualenv's own installer, not part of the application",
    "setuptools": "the virtualenv's build tool, not part of the application",
    "pytest": "tests only; pinned below 9.2 for schemathesis's plugin (pyproject.toml)",
    "jsonschema-rs": "tests only; held back by schemathesis",
    "redis": "runtime (rate limits and lockouts); held below 8 by limits, Flask-Limiter's storage",
    "deprecated": "runtime; held back by limits",
}


def _pips_default_index() -> str:
    """The index pip uses when none is configured, as its own help states it."""
    answer = subprocess.run(  # noqa: S603 - our own interpreter's pip
        [sys.executable, "-m", "pip", "install", "--help"], capture_output=True, text=True, check=True
    )
    found = re.search(r"--index-url <url>.*?\(default\s+(\S+?)\)", answer.stdout, re.S)
    if not found:
        raise SystemExit("pip's help does not name its default index: set PIP_INDEX_URL")
    return found.group(1)


def json_api() -> str:
    """The JSON API of the index pip installs from: ".../simple" becomes ".../pypi"."""
    index = os.environ.get("PIP_INDEX_URL")
    if not index:
        answer = subprocess.run(  # noqa: S603 - our own interpreter's pip
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True
        )
        index = answer.stdout.strip() if answer.returncode == 0 else ""
    base = (index or _pips_default_index()).rstrip("/")
    return (base[: -len("/simple")] if base.endswith("/simple") else base) + "/pypi"


def _fetch(url: str) -> dict | None:
    """The JSON at ``url``; None when the index has no such page; raises OSError if unreachable."""
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(url, timeout=15) as reply:  # noqa: S310 - the configured index
                return json.load(reply)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            if attempt == 2:
                raise
        except (urllib.error.URLError, TimeoutError, ValueError):
            if attempt == 2:
                raise OSError(url) from None
    return None


def _open_advisories(page: dict) -> list[str]:
    return [v["id"] for v in page.get("vulnerabilities", []) if not v.get("withdrawn")]


def advisories(name: str, version: str, api: str) -> tuple[str, str, list[str]]:
    """(name, "checked" | "unchecked" | "unreachable", advisory ids)."""
    try:
        release = _fetch(f"{api}/{name}/{version}/json")
        if release is not None:
            return name, "checked", _open_advisories(release)
        project = _fetch(f"{api}/{name}/json")
    except OSError:
        return name, "unreachable", []
    if project is None:
        return name, "unreachable", []
    if project["info"]["version"] != version:
        return name, "unchecked", [project["info"]["version"]]
    return name, "checked", _open_advisories(project)


def main() -> int:
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed = {name: version for name, version in installed.items() if name not in OWN}
    api = json_api()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = sorted(pool.map(lambda item: advisories(*item, api), installed.items()))
    checked = [r for r in results if r[1] == "checked"]
    unchecked = [(r[0], r[2][0]) for r in results if r[1] == "unchecked"]
    unreachable = [r[0] for r in results if r[1] == "unreachable"]
    vulnerable = [(name, ids) for name, _, ids in checked if ids]
    print(
        f"{len(checked)} of {len(results)} packages checked against PyPI's advisories "
        f"at {api}; {len(vulnerable)} affected."
    )
    for name, latest in unchecked:
        reason = KNOWN_UNCHECKED.get(name, f"{latest} is out: upgrade, or say in KNOWN_UNCHECKED why not")
        print(f"  not checked: {name} {installed[name]} ({reason})")
    for name, ids in vulnerable:
        print(f"VULNERABLE {name} {installed[name]}: {', '.join(ids)}")
    for name in unreachable:
        print(f"COULD NOT FETCH {api}/{name}/json")
    return 1 if vulnerable or unreachable else 0


if __name__ == "__main__":
    sys.exit(main())
