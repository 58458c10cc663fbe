"""The pybabel workflow in one place, used by `portal i18n` and by the catalog tests."""

from __future__ import annotations

import contextlib
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from portal.config import ROOT
from portal.i18n import LOCALES

TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
# Babel skips folders starting with "_" by default, which would miss templates/_macros.
EXTRACT_ARGS = [
    "-F",
    str(TRANSLATIONS / "babel.cfg"),
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "--ignore-dirs=.* __pycache__ node_modules instance",
    "--add-location=file",
    "--sort-by-file",
    "--project=Sunshine Portal",
    "--version=1",
    "--msgid-bugs-address=portal-i18n@example.invalid",
    "--copyright-holder=Sunshine Portal",
]


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(output: Path = POT) -> Path:
    # From the project root with a relative input, so locations read "templates/…", not a
    # path on whichever machine ran it.
    with contextlib.chdir(ROOT):
        _pybabel("extract", *EXTRACT_ARGS, "-o", str(output), ".")
    return output


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def update() -> int:
    """Re-extract and merge; English is the source language, so its entries are copies."""
    extract()
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--ignore-obsolete", "--no-fuzzy-matching")
    with po_path("en").open("rb") as f:
        catalog = read_po(f, locale="en")
    filled = 0
    for message in catalog:
        if message.id and not (message.string if isinstance(message.string, str) else all(message.string or ())):
            message.string = message.id
            filled += 1
    with po_path("en").open("wb") as f:
        write_po(f, catalog, width=79)
    return filled


def compile_all() -> None:
    for locale in LOCALES:
        with po_path(locale).open("rb") as f:
            catalog = read_po(f, locale=locale)
        with po_path(locale).with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)
