"""Known vulnerabilities in the installed dependencies, where pip-audit cannot get its data.

    python tests/quality/audit.py

pip-audit asks PyPI for each installed *version* (https://pypi.org/pypi/NAME/VERSION/json).
Machines that reach only PyPI's project pages (this workplace's) answer 404 there, so pip-audit
reports every package as "not found" and checks nothing. The project page
(https://pypi.org/pypi/NAME/json) still carries PyPI's advisories (OSV: PYSEC and GHSA) for the
latest release. This script uses it: a package installed at its latest version is checked
against those advisories; an older one cannot be, and is only accepted when it is listed in
KNOWN_UNCHECKED with the reason it is held back. Exits 1 when an advisory applies, when a
package is unchecked without a reason, or when a package's page cannot be fetched. .ci/run
runs pip-audit itself where it can, and this otherwise.
"""

from __future__ import annotations

import json
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


def advisories(name: str, version: str) -> tuple[str, str, list[str]]:
    """(name, "checked" | "unchecked" | "unreachable", advisory ids); one retry on a network error."""
    for attempt in (1, 2):
        try:
            with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=15) as reply:  # noqa: S310
                project = json.load(reply)
            break
        except (urllib.error.URLError, TimeoutError, ValueError):
            if attempt == 2:
                return name, "unreachable", []
    if project["info"]["version"] != version:
        return name, "unchecked", []
    found = [v["id"] for v in project.get("vulnerabilities", []) if not v.get("withdrawn")]
    return name, "checked", found


def main() -> int:
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed = {name: version for name, version in installed.items() if name not in OWN}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = sorted(pool.map(lambda item: advisories(*item), installed.items()))
    checked = [r for r in results if r[1] == "checked"]
    unchecked = [r[0] for r in results if r[1] == "unchecked"]
    unreachable = [r[0] for r in results if r[1] == "unreachable"]
    vulnerable = [(name, ids) for name, _, ids in checked if ids]
    unexplained = [name for name in unchecked if name not in KNOWN_UNCHECKED]
    print(
        f"{len(checked)} of {len(results)} packages checked against PyPI's advisories "
        f"(installed at their latest release); {len(vulnerable)} affected."
    )
    for name in unchecked:
        reason = KNOWN_UNCHECKED.get(name, "NO REASON GIVEN: add it to KNOWN_UNCHECKED or upgrade it")
        print(f"  not checked: {name} {installed[name]} ({reason})")
    for name, ids in vulnerable:
        print(f"VULNERABLE {name} {installed[name]}: {', '.join(ids)}")
    for name in unreachable:
        print(f"COULD NOT FETCH https://pypi.org/pypi/{name}/json")
    return 1 if vulnerable or unexplained or unreachable else 0


if __name__ == "__main__":
    sys.exit(main())
