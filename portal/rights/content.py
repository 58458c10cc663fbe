"""The rights pages' words: versioned per-locale files in ``content/``, reviewed like code.

Invariants (tests/test_rights_content.py):

* every locale file has the same pages, the same sections in the same order, the same number
  of paragraphs and list items, the same links (targets), the same placeholders and the same
  numbers, and the same sources (by address) and regulators;
* a page is chosen by the lender's jurisdiction (``REGIONS``): mainland China's rules, read in
  Traditional Chinese by Hong Kong and Taiwan readers, with their own regulator. US content is
  not written yet: US lenders keep the "coming soon" page.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from portal.i18n import LOCALES
from portal.jurisdiction import Jurisdiction

CONTENT_DIR = Path(__file__).parent / "content"
# The pages, in the order the index lists them; their addresses are /rights/<name>.
PAGES = ("rights", "collectors", "next", "dispute", "documents", "complaints")
# Jurisdictions with content, and the language their readers get when nothing else says.
REGIONS = {Jurisdiction.CN: "zh_Hans", Jurisdiction.HK: "zh_Hant", Jurisdiction.TW: "zh_Hant"}
DEFAULT_REGION = Jurisdiction.CN
PLACEHOLDERS = ("regulator", "regulator_phone", "regulator_web")


@dataclass(frozen=True)
class Link:
    to: str  # "page:<name>", "page:genuine" or "action:<name>"
    text: str


@dataclass(frozen=True)
class Section:
    heading: str
    body: tuple[str, ...]
    items: tuple[str, ...]
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    description: str
    intro: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Source:
    name: str
    url: str
    check: bool  # from secondary reporting: a lawyer should confirm it


@dataclass(frozen=True)
class Content:
    locale: str
    version: int
    reviewed: date
    index: Page
    pages: dict[str, Page]
    sources: tuple[Source, ...]
    regulators: dict[str, dict[str, str]]


def has_content(jurisdiction: str) -> bool:
    return jurisdiction in REGIONS


def raw(locale: str) -> dict:
    with open(CONTENT_DIR / f"{locale}.toml", "rb") as file:
        return tomllib.load(file)


def _fill(text: str, values: dict[str, str]) -> str:
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values.get(name, ""))
    return text


def _page(name: str, data: dict, values: dict[str, str]) -> Page:
    sections = tuple(
        Section(
            heading=_fill(section["heading"], values),
            body=tuple(_fill(p, values) for p in section.get("body", ())),
            items=tuple(_fill(i, values) for i in section.get("items", ())),
            links=tuple(Link(link["to"], link["text"]) for link in section.get("links", ())),
        )
        for section in data.get("sections", ())
    )
    return Page(name, data["title"], data["description"], data["intro"], sections)


@cache
def content(locale: str, region: str = DEFAULT_REGION) -> Content:
    """The words for one locale, with the region's regulator filled in. Read once per process."""
    if locale not in LOCALES:
        raise KeyError(locale)
    data = raw(locale)
    regulator = data["regulators"].get(str(region), data["regulators"][DEFAULT_REGION])
    values = {"regulator": regulator["name"], "regulator_phone": regulator["phone"], "regulator_web": regulator["web"]}
    return Content(
        locale=locale,
        version=data["version"],
        reviewed=data["reviewed"],
        index=_page("index", data["index"], values),
        pages={name: _page(name, data["pages"][name], values) for name in PAGES},
        sources=tuple(Source(s["name"], s["url"], s["check"]) for s in data["sources"]),
        regulators=data["regulators"],
    )
