"""The portal uses its libraries through their public APIs only: no private attribute is read
or set, and no private method is overridden, so an upgrade of Flask, Jinja, Flask-Login or
Flask-SQLAlchemy cannot silently break every page."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import portal

PORTAL = Path(portal.__file__).parent
# Public despite the underscore: werkzeug documents LocalProxy._get_current_object().
ALLOWED = {"_get_current_object"}


def private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue  # our own class's attributes
            if node.attr not in ALLOWED:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    return found


def private_overrides() -> list[str]:
    """Private methods of library classes that a portal class redefines."""
    found = []
    for path in sorted(PORTAL.rglob("*.py")):
        module = importlib.import_module(".".join(path.relative_to(PORTAL.parent).with_suffix("").parts))
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            libraries = [base for base in cls.__mro__[1:] if not base.__module__.startswith("portal")]
            for attribute, value in vars(cls).items():
                function = getattr(value, "__func__", value)  # staticmethod, classmethod
                if not inspect.isfunction(function) or not function.__qualname__.startswith(cls.__qualname__):
                    continue  # not a method written in this class (e.g. set by a metaclass)
                if attribute.startswith("_") and not attribute.startswith("__"):
                    if any(attribute in vars(base) for base in libraries):
                        found.append(f"{module.__name__}.{name}.{attribute}")
    return found


def test_no_private_attribute_of_a_library_is_used():
    problems = [use for path in sorted(PORTAL.rglob("*.py")) for use in private_uses(path)]
    assert problems == []


def test_no_private_method_of_a_library_is_overridden(app):
    assert private_overrides() == []


def test_the_checks_see_a_private_attribute(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from flask import g\n\ng._login_user = None\n")
    assert private_uses(sample) == ["sample.py:3 ._login_user"]
