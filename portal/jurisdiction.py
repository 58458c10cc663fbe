"""Where a lender operates: decides the rules the rights pages explain and the calendar that
counts business days. Defined once; models, services and templates import it from here."""

from __future__ import annotations

from enum import StrEnum


class Jurisdiction(StrEnum):
    CN = "CN"  # mainland China
    HK = "HK"  # Hong Kong
    US = "US"  # United States
    TW = "TW"  # Taiwan
