"""The OpenAPI 3.1 description of /api/v1. A schemathesis run in the tests keeps it true."""

from __future__ import annotations

from portal.api.idempotency import IDEMPOTENCY_KEEP
from portal.api.limits import MAX_BATCH, MAX_BODY, MAX_CONTACT_BATCH, RATE_LIMIT_PER_MINUTE
from portal.collection.rules import RULES
from portal.errors import DATABASE_RETRY_AFTER
from portal.i18n import LOCALES
from portal.models import (
    LINK_LIFETIME_DAYS,
    ApiScope,
    CollectionChannel,
    ContactDirection,
    ContactOutcome,
    ContactParty,
    LinkChannel,
)
from portal.outbox.events import CATALOGUE, FEED_DEFAULT_LIMIT, FEED_LIMIT

AMOUNT = {
    "type": "string",
    "pattern": r"^\d+(\.\d+)?$",
    "examples": ["1234.56"],
    "description": "Decimal string in major units (never a JSON number).",
}
DATE = {"type": "string", "format": "date", "examples": ["2026-11-25"]}

ACCOUNT_FIELDS = {
    "product": {"type": "string", "maxLength": 200},
    "borrower_name": {"type": "string", "maxLength": 200},
    "phone": {"type": "string", "examples": ["+8613800138001"]},
    "date_of_birth": DATE,
    "national_id": {"type": "string", "description": "Hashed on arrival; only the last 4 are kept."},
    "currency": {"type": "string", "examples": ["CNY"]},
    "principal": AMOUNT,
    "interest": AMOUNT,
    "penalty_interest": AMOUNT,
    "fees": AMOUNT,
    "overdue_amount": {**AMOUNT, "description": "Must equal principal + interest + penalty_interest + fees."},
    "due_date": DATE,
    "days_past_due": {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]},
    "locale": {"type": "string", "enum": list(LOCALES)},
    "timezone": {"type": "string", "examples": ["Asia/Shanghai"]},
    "as_of": {
        "type": "string",
        "format": "date-time",
        "description": "When the loan core took these figures (default: now). Payments and refunds the portal "
        "recorded after it stay applied on top; figures older than the account's are refused.",
    },
}
REQUIRED = [
    "product",
    "borrower_name",
    "phone",
    "date_of_birth",
    "national_id",
    "currency",
    "principal",
    "interest",
    "penalty_interest",
    "fees",
    "overdue_amount",
    "due_date",
    "days_past_due",
]

CONTACT_FIELDS = {
    "contact_id": {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "description": "Your platform's id of the contact; the same id with the same details replays, "
        "with other details is a 409.",
    },
    "account_number": {"type": "string", "minLength": 1, "maxLength": 64},
    "occurred_at": {"type": "string", "format": "date-time", "examples": ["2026-11-25T21:30:00+08:00"]},
    "channel": {"type": "string", "enum": list(CollectionChannel)},
    "direction": {"type": "string", "enum": list(ContactDirection)},
    "outcome": {"type": "string", "enum": list(ContactOutcome)},
    "party": {"type": "string", "enum": list(ContactParty)},
    "phone_number": {"type": "string", "examples": ["+8613800138001"], "description": "Normalised to E.164."},
    "agent_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "agency_code": {"type": "string", "minLength": 1, "maxLength": 64},
    "duration_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
}
CONTACT_REQUIRED = [
    "contact_id",
    "account_number",
    "occurred_at",
    "channel",
    "direction",
    "outcome",
    "party",
    "agent_id",
    "agency_code",
]
CONTACT_EVALUATION = {
    "type": "object",
    "required": ["contact_id", "account_number", "occurred_at", "compliant", "breaches"],
    "properties": {
        "contact_id": {"type": "string"},
        "account_number": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "compliant": {"type": "boolean"},
        "breaches": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["rule", "detail"],
                "properties": {"rule": {"type": "string", "enum": list(RULES)}, "detail": {"type": "string"}},
            },
        },
    },
}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {
                    "pointer": {"type": "string", "description": "JSON Pointer into the body"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


COMMON_ERRORS = {
    "400": _problem("Malformed request (for example JSON nested too deeply)"),
    "401": _problem("Missing or invalid bearer token"),
    "403": _problem("The client lacks the scope"),
    "404": _problem("No such resource (or a path the router cannot match)"),
    "405": _problem("Method not allowed"),
    "413": _problem(f"Body larger than {MAX_BODY // (1024 * 1024)} MiB"),
    "429": _problem(
        f"Rate limited ({RATE_LIMIT_PER_MINUTE} requests a minute per client; per address for invalid tokens)"
    ),
    "503": {
        **_problem(
            "The database is unavailable for a moment; nothing was changed. Retry after the "
            "Retry-After seconds (with the same Idempotency-Key)"
        ),
        "headers": {"Retry-After": {"schema": {"type": "integer", "examples": [DATABASE_RETRY_AFTER]}}},
    },
}
WRITE_ERRORS = {
    **COMMON_ERRORS,
    "415": _problem("Body is not JSON"),
    "409": _problem("Another request with this Idempotency-Key is being handled; retry"),
    "422": _problem("Invalid fields (each with a pointer), or a reused Idempotency-Key"),
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Repeat a request safely: the first response is replayed for "
    f"{int(IDEMPOTENCY_KEEP.total_seconds() // 3600)} hours after it was given; later, the same key "
    "is a new request.",
}


def _json(schema_name: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sunshine Portal API",
            "version": "1.0.0",
            "description": "Push balances, mint reminder links, read events. Amounts are "
            "decimal strings in major units; times are UTC (RFC 3339).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/accounts/{account_number}": {
                "put": {
                    "operationId": "putAccount",
                    "summary": "Create or update one account",
                    "parameters": [
                        {
                            "name": "account_number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                        },
                        IDEMPOTENCY_KEY,
                    ],
                    "requestBody": {"required": True, "content": _json("AccountInput")},
                    "responses": {
                        "200": {"description": "Updated or unchanged", "content": _json("Account")},
                        "201": {"description": "Created", "content": _json("Account")},
                        "409": _problem("Newer figures of this account were imported already (as_of)"),
                        **WRITE_ERRORS,
                    },
                }
            },
            "/accounts:batch": {
                "post": {
                    "operationId": "batchAccounts",
                    "summary": f"Create or update up to {MAX_BATCH:,} accounts, all or none",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {"required": True, "content": _json("AccountBatch")},
                    "responses": {"200": {"description": "Applied", "content": _json("BatchResult")}, **WRITE_ERRORS},
                }
            },
            "/contacts": {
                "post": {
                    "operationId": "postContact",
                    "summary": "Report one collection contact; the answer is its evaluation against the rules",
                    "requestBody": {"required": True, "content": _json("ContactInput")},
                    "responses": {
                        "200": {"description": "Reported before with the same details", "content": _json("Contact")},
                        "201": {"description": "Recorded and evaluated", "content": _json("Contact")},
                        **WRITE_ERRORS,
                        "409": _problem(
                            "This contact_id was reported before with other details (contact_id_reused), or "
                            "another request is reporting it at this moment (contact_in_progress: retry)"
                        ),
                    },
                }
            },
            "/contacts:batch": {
                "post": {
                    "operationId": "batchContacts",
                    "summary": f"Report up to {MAX_CONTACT_BATCH:,} collection contacts, all or none",
                    "requestBody": {"required": True, "content": _json("ContactBatch")},
                    "responses": {
                        "200": {"description": "Recorded and evaluated", "content": _json("ContactBatchResult")},
                        **WRITE_ERRORS,
                        "409": _problem(
                            "A contact_id was reported before with other details (contact_id_reused), or "
                            "another request is reporting it at this moment (contact_in_progress: retry)"
                        ),
                    },
                }
            },
            "/contacts/{contact_id}": {
                "get": {
                    "operationId": "getContact",
                    "summary": "A reported contact's current evaluation (contacts reported later can change it)",
                    "parameters": [
                        {"name": "contact_id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {"description": "The evaluation", "content": _json("Contact")},
                        **COMMON_ERRORS,
                        "404": _problem("No such contact at your lender"),
                    },
                }
            },
            "/reminder-links": {
                "post": {
                    "operationId": "createReminderLink",
                    "summary": "Mint a reminder link for an account",
                    "parameters": [IDEMPOTENCY_KEY],
                    "requestBody": {"required": True, "content": _json("ReminderLinkInput")},
                    "responses": {
                        "201": {"description": "Created", "content": _json("ReminderLink")},
                        **WRITE_ERRORS,
                        "404": _problem("No such account at your lender"),
                        "410": _problem(
                            "A replay (same Idempotency-Key) of a link that has since been revoked "
                            "(code link_revoked) or has expired (link_expired)"
                        ),
                    },
                }
            },
            "/reminder-links/{code}": {
                "delete": {
                    "operationId": "revokeReminderLink",
                    "summary": "Revoke a reminder link",
                    "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"204": {"description": "Revoked"}, **COMMON_ERRORS, "404": _problem("No such link")},
                }
            },
            "/events": {
                "get": {
                    "operationId": "listEvents",
                    "summary": "Outbound events after a cursor, oldest first",
                    "description": "Lossless: an event is listed once every transaction that began "
                    "before it has ended, so a cursor never moves past an event that commits later. "
                    "Pass next_cursor as after; cursors are opaque and belong to your lender.",
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "description": "The next_cursor (or an event's cursor) of an earlier page.",
                            "schema": {"type": "string", "maxLength": 40},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": FEED_LIMIT.start,
                                "maximum": FEED_LIMIT.stop - 1,
                                "default": FEED_DEFAULT_LIMIT,
                            },
                        },
                    ],
                    "responses": {"200": {"description": "Events", "content": _json("EventPage")}, **COMMON_ERRORS},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": f"Each client holds some of these scopes: {', '.join(ApiScope)}.",
                }
            },
            "schemas": {
                "Problem": PROBLEM,
                "AccountInput": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": REQUIRED,
                    "properties": ACCOUNT_FIELDS,
                },
                "AccountBatchItem": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["account_number", *REQUIRED],
                    "properties": {"account_number": {"type": "string", "maxLength": 64}, **ACCOUNT_FIELDS},
                },
                "AccountBatch": {
                    "type": "object",
                    "required": ["accounts"],
                    "properties": {
                        "accounts": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_BATCH,
                            "items": {"$ref": "#/components/schemas/AccountBatchItem"},
                        }
                    },
                },
                "Account": {
                    "type": "object",
                    "required": ["account_number", "status", "currency", "overdue_amount", "last_synced_at"],
                    "properties": {
                        "account_number": {"type": "string"},
                        "status": {"type": "string"},
                        "currency": {"type": "string"},
                        "overdue_amount": AMOUNT,
                        "last_synced_at": {"type": "string", "format": "date-time"},
                    },
                },
                "BatchResult": {
                    "type": "object",
                    "required": ["created", "updated", "unchanged"],
                    "properties": {
                        **{k: {"type": "integer"} for k in ("created", "updated", "unchanged")},
                        "stale": {
                            "type": "array",
                            "description": "Accounts left unchanged: newer figures were imported already.",
                            "items": {
                                "type": "object",
                                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
                            },
                        },
                    },
                },
                "ContactInput": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": CONTACT_REQUIRED,
                    "properties": CONTACT_FIELDS,
                },
                "ContactBatch": {
                    "type": "object",
                    "required": ["contacts"],
                    "properties": {
                        "contacts": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": MAX_CONTACT_BATCH,
                            "items": {"$ref": "#/components/schemas/ContactInput"},
                        }
                    },
                },
                "Contact": CONTACT_EVALUATION,
                "ContactBatchResult": {
                    "type": "object",
                    "required": ["created", "replayed", "contacts"],
                    "properties": {
                        "created": {"type": "integer"},
                        "replayed": {"type": "integer"},
                        "contacts": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
                    },
                },
                "ReminderLinkInput": {
                    "type": "object",
                    "required": ["account_number"],
                    "properties": {
                        "account_number": {"type": "string"},
                        "lang": {"type": "string", "enum": list(LOCALES)},
                        "expires_in_days": {
                            "type": "integer",
                            "minimum": LINK_LIFETIME_DAYS.start,
                            "maximum": LINK_LIFETIME_DAYS.stop - 1,
                        },
                        "channel": {"type": "string", "enum": list(LinkChannel)},
                    },
                },
                "ReminderLink": {
                    "type": "object",
                    "required": ["url", "code", "expires_at"],
                    "properties": {
                        "url": {"type": "string"},
                        "code": {"type": "string"},
                        "expires_at": {"type": "string", "format": "date-time"},
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["id", "type", "created_at", "data", "cursor"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"type": "string", "enum": sorted(CATALOGUE)},
                        "created_at": {"type": "string", "format": "date-time"},
                        "account_number": {"type": ["string", "null"]},
                        "data": {"type": "object"},
                        "cursor": {"type": "string"},
                    },
                },
                "EventPage": {
                    "type": "object",
                    "required": ["events", "next_cursor"],
                    "properties": {
                        "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                        "next_cursor": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
