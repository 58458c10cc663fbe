"""Every vocabulary (a StrEnum) that people see has a translated label for every member.

Label tables are found, not listed: any dict in a portal module whose keys are all members of one
StrEnum is a label table, and it must cover that StrEnum entirely and be translated in every
locale. A new status without a label, or a label missing from a catalog, fails here.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil

import pytest
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

import portal
from portal.i18n import LOCALES


def _label_tables():
    found: dict[int, tuple] = {}
    for module_info in sorted(pkgutil.walk_packages(portal.__path__, "portal."), key=lambda m: m.name):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if not isinstance(value, dict) or not value or id(value) in found:
                continue
            kinds = {type(key) for key in value}
            labels = all(isinstance(label, LazyString) for label in value.values())
            if labels and len(kinds) == 1 and issubclass(kind := kinds.pop(), enum.StrEnum):
                cover = getattr(module, f"{name}_COVER", None)  # a table may cover part of a vocabulary
                found[id(value)] = (module.__name__, name, kind, value, cover)
    return [pytest.param(*entry, id=f"{entry[0]}.{entry[1]}") for entry in found.values()]


TABLES = _label_tables()


def test_label_tables_are_found():
    from portal.models import AccountStatus, PaymentStatus

    assert {AccountStatus, PaymentStatus} <= {param.values[2] for param in TABLES}


@pytest.mark.parametrize(("module", "name", "kind", "labels", "cover"), TABLES)
def test_every_member_has_a_label_in_every_language(app, module, name, kind, labels, cover):
    expected = set(cover) if cover is not None else set(kind)
    assert set(labels) == expected, f"{module}.{name} lacks {sorted(expected - set(labels))}"
    with app.test_request_context():
        with force_locale("en"):
            english = {member: str(label) for member, label in labels.items()}
        for locale in set(LOCALES) - {"en"}:
            with force_locale(locale):
                untranslated = [str(member) for member, label in labels.items() if str(label) == english[member]]
            assert not untranslated, f"{module}.{name} untranslated in {locale}: {untranslated}"
