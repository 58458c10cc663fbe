"""The rights pages' words: versioned per-locale files in ``content/``, reviewed like code.

Invariants (tests/test_rights_content.py):

* the words come in rule sets (``content/<rules>/<locale>.toml``): ``cn`` (mainland China's
  rules) and ``us`` (the FDCPA and Regulation F). Both have every page of ``PAGES``;
* within a rule set, every locale file has the same pages, the same sections in the same order,
  the same number of paragraphs and list items, the same links (targets), the same placeholders
  and the same numbers, and the same sources (by address) and regulators;
* a page is chosen by the lender's jurisdiction (``REGIONS``): Hong Kong and Taiwan readers get
  the mainland rules (as the reference material says, unless a lender configures its own), in
  Traditional Chinese by default, with their own regulator.
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
# Jurisdictions with content: (rule set, the language their readers get when nothing else says).
REGIONS = {
    Jurisdiction.CN: ("cn", "zh_Hans"),
    Jurisdiction.HK: ("cn", "zh_Hant"),
    Jurisdiction.TW: ("cn", "zh_Hant"),
    Jurisdiction.US: ("us", "en"),
}
RULE_SETS = ("cn", "us")
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


def default_locale(region: str) -> str:
    return REGIONS[Jurisdiction(region)][1]


def raw(locale: str, rules: str = "cn") -> dict:
    if rules not in RULE_SETS or locale not in LOCALES:
        raise KeyError((rules, locale))
    with open(CONTENT_DIR / rules / f"{locale}.toml", "rb") as file:
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
    rules = REGIONS[Jurisdiction(region)][0]
    data = raw(locale, rules)
    regulator = data["regulators"][str(region)]
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
