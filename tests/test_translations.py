"""Catalogs: complete, not fuzzy, not stale, placeholders intact, real Traditional Chinese."""

from __future__ import annotations

import re

import opencc
import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from portal import catalogs
from portal.i18n import LOCALES

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")


def load(locale):
    with catalogs.po_path(locale).open("rb") as f:
        return read_po(f, locale=locale)


def messages(catalog):
    return [m for m in catalog if m.id]


def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_none_is_fuzzy(locale):
    problems = [m.id for m in messages(load(locale)) if m.fuzzy or not all(as_tuple(m.string))]
    assert not problems, f"{locale}: untranslated or fuzzy: {problems[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match_between_msgid_and_msgstr(locale):
    problems = []
    for m in messages(load(locale)):
        wanted = sorted(PLACEHOLDER.findall(as_tuple(m.id)[0]))
        for translation in as_tuple(m.string):
            if sorted(PLACEHOLDER.findall(translation)) != wanted:
                problems.append((m.id, translation))
    assert not problems, problems[:5]


def test_source_has_no_message_missing_from_the_catalogs(tmp_path):
    fresh = catalogs.extract(tmp_path / "fresh.pot")
    with fresh.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    for locale in LOCALES:
        known = {m.id for m in messages(load(locale))}
        missing = extracted - known
        assert not missing, f"{locale} lacks {sorted(missing)[:5]}: run `portal i18n update`"
        stale = known - extracted
        assert not stale, f"{locale} has obsolete {sorted(stale)[:5]}: run `portal i18n update`"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogs_match_their_sources(locale):
    compiled = Translations.load(str(catalogs.TRANSLATIONS), [locale])
    for m in messages(load(locale)):
        if isinstance(m.id, tuple):
            assert compiled.ngettext(m.id[0], m.id[1], 1) == m.string[0], m.id
        else:
            assert compiled.gettext(m.id) == m.string, f"{m.id!r}: run `portal i18n compile`"


def test_traditional_catalog_is_traditional_and_simplified_is_simplified():
    to_traditional = opencc.OpenCC("s2t")
    to_simplified = opencc.OpenCC("t2s")

    # Characters that only exist in Simplified form (s2t changes them, t2s keeps them).
    def simplified_only(text):
        return {ch for ch in text if to_traditional.convert(ch) != ch and to_simplified.convert(ch) == ch}

    def traditional_only(text):
        return {ch for ch in text if to_simplified.convert(ch) != ch and to_traditional.convert(ch) == ch}

    # 后 is also Traditional (皇后); 台 is common in both (平台). Neither is a sign of error.
    allowed = set("台")
    hant = [(m.id, s) for m in messages(load("zh_Hant")) for s in as_tuple(m.string)]
    hans = [(m.id, s) for m in messages(load("zh_Hans")) for s in as_tuple(m.string)]
    bad_hant = [(i, s) for i, s in hant if simplified_only(s) - allowed]
    bad_hans = [(i, s) for i, s in hans if traditional_only(s)]
    assert not bad_hant, bad_hant[:5]
    assert not bad_hans, bad_hans[:5]
    # And they are really different texts, not a copy.
    hans_by_id = dict(hans)
    differing = sum(text != hans_by_id[msgid] for msgid, text in hant)
    assert differing > 0.8 * len(hant)


def test_chinese_catalogs_never_call_the_reader_a_debtor():
    for locale in ("zh_Hans", "zh_Hant"):
        for m in messages(load(locale)):
            for s in as_tuple(m.string):
                for word in ("欠款人", "老赖", "老賴", "债务人", "債務人", "后果自负", "後果自負"):
                    assert word not in s, (locale, m.id, s)


def test_no_template_is_silently_skipped_by_extraction(tmp_path):
    """Babel drops a whole template it cannot parse (e.g. an unknown {% do %}) without failing."""
    with catalogs.extract(tmp_path / "fresh.pot").open("rb") as f:
        extracted_from = {path for m in read_po(f) for path, _ in m.locations}
    root = catalogs.TRANSLATIONS.parent
    with_strings = {
        str(p.relative_to(root))
        for p in (root / "templates").rglob("*.html")
        if re.search(r"\b(n?gettext|_)\(", p.read_text(encoding="utf-8"))
    }
    assert with_strings - extracted_from == set()


# A lender's name may be written in Latin letters ("Harbour Credit Limited"); the catalogs space
# Latin words off from Chinese characters, so the placeholder is spaced off too.
NAME_TOUCHING_HANZI = re.compile(r"[\u4e00-\u9fff]%\(lender\)s|%\(lender\)s[\u4e00-\u9fff]")


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_a_lender_name_is_spaced_off_from_chinese_characters(locale):
    problems = [s for m in messages(load(locale)) for s in as_tuple(m.string) if NAME_TOUCHING_HANZI.search(s)]
    assert not problems, problems[:5]
