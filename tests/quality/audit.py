"""Known vulnerabilities in the installed dependencies, where pip-audit cannot get its data.

    python tests/quality/audit.py

pip-audit asks PyPI for each installed *version* (https://pypi.org/pypi/NAME/VERSION/json).
Machines that reach only PyPI's project pages (this workplace's) answer 404 there, so pip-audit
reports every package as "not found" and checks nothing. The project page
(https://pypi.org/pypi/NAME/json) still carries PyPI's advisories (OSV: PYSEC and GHSA) for the
latest release. This script uses it: a package installed at its latest version is checked
against those advisories; an older one is listed as unchecked, never as safe. Exits 1 when
any advisory applies, or when PyPI cannot be reached at all. .ci/run runs pip-audit itself
where it can, and this otherwise.
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


def advisories(name: str, version: str) -> tuple[str, str, list[str]]:
    """(name, "checked" | "unchecked" | "unreachable", advisory ids)."""
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=15) as reply:  # noqa: S310
            project = json.load(reply)
    except (urllib.error.URLError, TimeoutError, ValueError):
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
    print(f"{len(checked)} of {len(results)} packages checked against PyPI's advisories "
          f"(installed at their latest release).")
    if unchecked:
        print(f"Not checked (an older release is installed): {', '.join(unchecked)}")
    for name, ids in vulnerable:
        print(f"VULNERABLE {name} {installed[name]}: {', '.join(ids)}")
    if unreachable and not checked:
        print("PyPI could not be reached: nothing was checked.")
        return 1
    if unreachable:
        print(f"Could not be fetched: {', '.join(unreachable)}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
