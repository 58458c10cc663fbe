"""National ID handling: the clear ID is never stored, only a keyed hash and its last 4."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def normalise_id(national_id: str) -> str:
    return "".join(national_id.split()).upper()


def hash_national_id(national_id: str, key: str | None = None) -> str:
    key = key or current_app.config["ID_HASH_KEY"]
    return hmac.new(key.encode(), normalise_id(national_id).encode(), hashlib.sha256).hexdigest()


def last4(national_id: str) -> str:
    return normalise_id(national_id)[-4:]
