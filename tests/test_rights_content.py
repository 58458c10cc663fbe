"""The rights pages' words: every locale complete and structurally identical (same pages,
sections, list items, links, placeholders, numbers and sources), and no empty text."""

from __future__ import annotations

import re

import pytest

from portal.i18n import LOCALES
from portal.rights import content as words

NUMBER = re.compile(r"\d+")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
REFERENCE = "en"


def shape(data: dict) -> dict:
    """What must be the same in every locale: everything but the words themselves."""

    def text_facts(*texts: str) -> tuple:
        joined = " ".join(texts)
        return sorted(NUMBER.findall(joined)), sorted(PLACEHOLDER.findall(joined))

    def page(p: dict) -> list:
        return [
            (
                len(s.get("body", ())),
                len(s.get("items", ())),
                [link["to"] for link in s.get("links", ())],
                text_facts(s["heading"], *s.get("body", ()), *s.get("items", ())),
            )
            for s in p.get("sections", ())
        ]

    return {
        "version": data["version"],
        "reviewed": data["reviewed"],
        "pages": {name: page(p) for name, p in data["pages"].items()},
        "sources": [(s["url"], s["check"]) for s in data["sources"]],
        "regulators": {k: (v["phone"], v["web"]) for k, v in data["regulators"].items()},
    }


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("rules", words.RULE_SETS)
@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != REFERENCE])
def test_every_locale_has_the_same_structure_links_and_numbers(rules, locale):
    assert shape(words.raw(locale, rules)) == shape(words.raw(REFERENCE, rules))


@pytest.mark.parametrize("rules", words.RULE_SETS)
@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_is_complete(rules, locale):
    data = words.raw(locale, rules)
    assert set(data["pages"]) == set(words.PAGES)
    # Every region that reads this rule set finds its regulator in it.
    assert set(data["regulators"]) == {str(region) for region, (r, _) in words.REGIONS.items() if r == rules}
    for text in strings(data):
        assert text.strip(), f"empty text in {locale}"
    for name, page in data["pages"].items():
        assert page["title"] and page["description"] and page["intro"] and page["sections"], name
        # A search result shows about 160 characters (80 Chinese ones): say it in that.
        assert len(page["description"]) <= 160
        for placeholder in PLACEHOLDER.findall(" ".join(strings(page))):
            assert placeholder in words.PLACEHOLDERS


@pytest.mark.parametrize("rules", words.RULE_SETS)
@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_chinese_pages_have_no_english_sentences_left(rules, locale):
    for text in strings(words.raw(locale, rules)["pages"]):
        assert not re.search(r"[A-Za-z]{4,} [A-Za-z]{3,}", text), text


@pytest.mark.parametrize("rules", words.RULE_SETS)
def test_traditional_pages_use_traditional_characters(rules):
    simplified = set("们这说时为会个发后来还钱请联贷账户务证门问关应过对")
    for text in strings(words.raw("zh_Hant", rules)):
        found = simplified & set(text)
        assert not found, (found, text)


@pytest.mark.parametrize("region", list(words.REGIONS))
def test_links_go_to_pages_or_actions_that_exist(region):
    from portal.rights.views import ACTIONS

    for page in words.content(REFERENCE, region).pages.values():
        for section in page.sections:
            for link in section.links:
                kind, _, name = link.to.partition(":")
                assert (kind == "page" and (name in words.PAGES or name == "genuine")) or (
                    kind == "action" and name in ACTIONS
                ), link.to


def test_each_region_names_its_own_regulator():
    assert "12378" in words.content("zh_Hans", "CN").pages["complaints"].sections[-1].body[0]
    assert "0800-789-885" in words.content("zh_Hant", "TW").pages["complaints"].sections[-1].body[0]
    assert "hkma" in words.content("zh_Hant", "HK").pages["complaints"].sections[-1].body[0]
    assert "(855) 411-2372" in words.content("en", "US").pages["complaints"].sections[-1].body[0]
    assert "21:00" in words.content("zh_Hans", "US").pages["collectors"].sections[0].body[0]
