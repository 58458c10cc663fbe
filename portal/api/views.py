"""JSON API for lenders' systems, versioned under /api/v1. Thin: decisions live in services."""

from __future__ import annotations

import hashlib
import json
import re
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import audit
from portal.access.service import create_link, hash_code, link_url, look_up_link, revoke_link
from portal.api import idempotency
from portal.api.clients import client_for_token
from portal.api.limits import MAX_BATCH, MAX_BODY, MAX_CONTACT_BATCH, MAX_JSON_DEPTH, RATE_LIMIT_PER_MINUTE
from portal.api.openapi import document
from portal.api.problems import ApiProblem, for_status, problem_response
from portal.collection import service as contacts
from portal.database import abandon_request
from portal.extensions import csrf, db, limiter
from portal.i18n import LOCALES
from portal.imports.service import COLUMNS, OPTIONAL_COLUMNS, import_records, validate_row
from portal.models import LINK_LIFETIME_DAYS, Account, ApiScope, IdempotentRequest, LinkChannel
from portal.money import format_major_plain
from portal.outbox.events import FEED_DEFAULT_LIMIT, FEED_LIMIT, UnknownCursor, feed

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, not cookies: CSRF cannot apply

# Fields a client sends for one account; lender fields come from the client itself.
ACCOUNT_FIELDS = (
    tuple(c for c in COLUMNS if c not in ("lender_code", "lender_name", "account_number")) + OPTIONAL_COLUMNS
)
STRING_ONLY = {"principal", "interest", "penalty_interest", "fees", "overdue_amount"}


def _caller():
    """The enabled client the bearer token belongs to, or None; looked up once per request
    (the rate limit asks first, before the blueprint's own hooks run)."""
    if "api_caller_known" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        g.api_caller = client_for_token(token.strip()) if scheme.lower() == "bearer" else None
        g.api_caller_known = True
    return g.api_caller


def _rate_key() -> str:
    """Per authenticated client; without a valid token, per address, so that inventing tokens
    never opens a fresh bucket."""
    client = _caller()
    return f"api-client:{client.id}" if client is not None else "api-ip:" + (request.remote_addr or "")


limiter.limit(f"{RATE_LIMIT_PER_MINUTE} per minute", key_func=_rate_key)(bp)


@bp.before_request
def _authenticate():
    request.max_content_length = MAX_BODY
    if request.endpoint == "api.openapi":
        return None
    client = _caller()
    if client is None:
        raise ApiProblem(
            401,
            "unauthenticated",
            "A valid bearer token is required",
            headers={"WWW-Authenticate": 'Bearer realm="portal"'},
        )
    g.api_client = client
    # A plain value: after a rolled-back request the ORM object is gone with its session.
    g.api_client_id = client.id
    return None


@bp.after_request
def _audit(response):
    client_id = g.get("api_client_id")
    if client_id is not None:
        # Every call is audited, whatever the outcome (the request commits it, portal/database.py).
        audit.record(
            "api.call",
            actor_type="api",
            actor_id=client_id,
            ip=request.remote_addr,
            method=request.method,
            path=_audited_path(),
            status=response.status_code,
        )
    return response


def _audited_path() -> str:
    """The path, with a reminder-link code in it replaced by the hash the database keeps."""
    code = (request.view_args or {}).get("code")
    if not isinstance(code, str) or not code:
        return request.path
    return request.path.replace(code, "sha256:" + hash_code(code)[:16])


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem):
    abandon_request()
    return problem_response(problem)


def requires(scope: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not g.api_client.has_scope(scope):
                raise ApiProblem(403, "insufficient_scope", f"This client lacks the {scope} scope")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _json_body() -> dict:
    if not request.is_json:
        raise ApiProblem(415, "unsupported_media_type", "Send JSON with Content-Type: application/json")
    data = request.get_data(cache=True)
    try:
        body = json.loads(data or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiProblem(400, "invalid_json", "The body is not valid JSON") from exc
    except RecursionError as exc:
        raise _too_deep() from exc
    if _depth(body) > MAX_JSON_DEPTH:
        raise _too_deep()
    if not isinstance(body, dict):
        raise ApiProblem(
            400,
            "invalid_body",
            "The body must be a JSON object",
            errors=[{"pointer": "", "detail": "must be an object"}],
        )
    # Only the escapes of NUL or of a surrogate, or a body not in UTF-8 (UTF-16 and UTF-32 hold
    # NUL bytes), can carry either: other bodies are not walked string by string.
    risky = b"\x00" in data or _RISKY_ESCAPE.search(data)
    unstorable = list(_unstorable_text(body)) if risky else []
    if unstorable:
        raise ApiProblem(
            400,
            "invalid_text",
            "Text may not contain NUL characters or lone surrogates",
            errors=[
                {"pointer": pointer, "detail": "contains a NUL character or a lone UTF-16 surrogate"}
                for pointer in unstorable[:100]
            ],
        )
    return body


# "\u0000" and "\ud800"-"\udfff" (any case); an escaped backslash before "u" only costs a walk.
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _too_deep() -> ApiProblem:
    return ApiProblem(
        400, "too_deeply_nested", f"The body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"
    )


def _depth(value) -> int:
    """How deeply arrays and objects nest in a parsed body (iterative: no recursion limit)."""
    if not isinstance(value, dict | list):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_JSON_DEPTH:
            return level
        # Only containers go on the stack: a batch is mostly strings.
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _unstorable_text(value, pointer: str = ""):
    """JSON pointers to strings (keys included) that no database column can hold.

    JSON may carry "\u0000" and unpaired "\ud800" escapes; PostgreSQL refuses both, so they
    must be a 400 here, not a 500 from deep inside a query.
    """
    if isinstance(value, str):
        if "\x00" in value or (not value.isascii() and _has_lone_surrogate(value)):
            yield pointer
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            if "\x00" in key or _has_lone_surrogate(key):
                yield child
            yield from _unstorable_text(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_text(item, f"{pointer}/{index}")


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def idempotent(view=None, *, replayable=None):
    """Replay the first response to a repeated Idempotency-Key; refuse a reused key.

    ``replayable(body)`` may refuse to replay a stored response whose subject has changed
    since (a revoked reminder link) by raising an ApiProblem. Records: portal/api/idempotency.py.
    """
    if view is None:
        return lambda view: idempotent(view, replayable=replayable)

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 255:
            raise ApiProblem(400, "invalid_idempotency_key", "Idempotency-Key is at most 255 characters")
        client_id = g.api_client_id
        fingerprint = hashlib.sha256(
            request.method.encode() + request.path.encode() + request.get_data(cache=True)
        ).hexdigest()

        def replay(record):
            if record.request_hash != fingerprint:
                raise ApiProblem(422, "idempotency_key_reused", "This Idempotency-Key was used for a different request")
            body = idempotency.unseal(key, record.body)
            if body is None:
                raise ApiProblem(
                    422, "idempotency_key_reused", "This Idempotency-Key cannot be replayed; send a new one"
                )
            stored_body = json.loads(body)
            if replayable is not None:
                try:
                    replayable(stored_body)
                except ApiProblem as problem:
                    problem.headers["Idempotent-Replayed"] = "true"
                    raise
            response = jsonify(stored_body)
            response.status_code = record.status
            response.headers["Idempotent-Replayed"] = "true"
            return response

        if (record := idempotency.find(client_id, key)) is not None:
            return replay(record)
        response = view(*args, **kwargs)
        if response.status_code >= 500:
            return response
        try:
            with db.session.begin_nested():
                db.session.add(
                    IdempotentRequest(
                        client_id=client_id,
                        key=idempotency.key_hash(key),
                        request_hash=fingerprint,
                        status=response.status_code,
                        body=idempotency.seal(key, response.get_data(as_text=True) or "null"),
                    )
                )
        except IntegrityError:
            # The same key raced in at the same moment and committed first: its change stands,
            # ours is rolled back, and its response is the answer.
            abandon_request()
            record = idempotency.find(client_id, key)
            if record is None:
                raise ApiProblem(409, "idempotency_conflict", "A request with this key is in progress; retry") from None
            return replay(record)
        return response

    return wrapper


def _link_still_usable(body: dict) -> None:
    """A replayed reminder link must not pass a revoked or expired link off as new."""
    found = look_up_link(body["code"]) if isinstance(body, dict) and "code" in body else None
    if found is not None and found.problem == "revoked":
        raise ApiProblem(410, "link_revoked", "This reminder link was revoked since it was made; make a new one")
    if found is not None and found.problem == "expired":
        raise ApiProblem(410, "link_expired", "This reminder link has expired since it was made; make a new one")


def _row(item: dict, pointer: str, account_number: str | None = None) -> tuple[dict, list[dict]]:
    """Turn one JSON account into an import row; type errors become pointed problems."""
    errors = []
    allowed = set(ACCOUNT_FIELDS) | ({"account_number"} if account_number is None else set())
    for name in sorted(set(item) - allowed):
        errors.append({"pointer": f"{pointer}/{name}", "detail": "is not a known field"})
    row = {
        "lender_code": g.api_client.lender.code,
        "lender_name": g.api_client.lender.name,
        "account_number": account_number,
    }
    for name in ACCOUNT_FIELDS + (("account_number",) if account_number is None else ()):
        value = item.get(name)
        if value is None:
            row[name] = ""
        elif isinstance(value, str):
            row[name] = value
        elif name == "days_past_due" and isinstance(value, int) and not isinstance(value, bool):
            row[name] = str(value)
        else:
            detail = (
                'must be a string such as "1234.56" (amounts never travel as numbers)'
                if name in STRING_ONLY
                else "must be a string"
            )
            errors.append({"pointer": f"{pointer}/{name}", "detail": detail})
            row[name] = ""
    return row, errors


def _validate(items: list[tuple[dict, str]]):
    """Validate every account like the CSV import does; all problems, each with its pointer."""
    records, errors = [], []
    for position, (row, pointer) in enumerate(items):
        record, row_errors = validate_row(position, row)
        errors += [{"pointer": f"{pointer}/{e.field}", "detail": e.message} for e in row_errors]
        if record:
            records.append(record)
    return records, errors


def _import(records, items: list[tuple[dict, str]]):
    """Check the accounts together and write them (portal/imports): the CSV import's one path."""
    result = import_records(records, actor_type="api", actor_id=g.api_client_id)
    pointers = {position: pointer for position, (_, pointer) in enumerate(items)}
    if result.errors:
        _invalid([{"pointer": f"{pointers[e.line]}/{e.field}", "detail": e.message} for e in result.errors])
    return result, [{"pointer": f"{pointers[e.line]}/{e.field}", "detail": e.message} for e in result.stale]


def _account_json(account: Account) -> dict:
    return {
        "account_number": account.account_number,
        "status": account.status,
        "currency": account.currency,
        "overdue_amount": format_major_plain(account.overdue_minor, account.currency),
        "last_synced_at": account.last_synced_at.isoformat().replace("+00:00", "Z"),
    }


def _invalid(errors: list[dict]):
    raise ApiProblem(422, "validation_failed", "Some fields are not valid; nothing was changed", errors=errors)


@bp.put("/accounts/<path:account_number>")
@requires(ApiScope.ACCOUNTS_WRITE)
@idempotent
def put_account(account_number: str):
    body = _json_body()
    row, type_errors = _row(body, "", account_number=account_number)
    records, errors = _validate([(row, "")])
    if type_errors or errors:
        _invalid(type_errors + errors)
    result, stale = _import(records, [(row, "")])
    if stale:
        raise ApiProblem(409, "stale_figures", "Newer figures of this account were imported already", errors=stale)
    # The number as stored: validation trims the one in the address (" SR001" is SR001).
    account = db.session.execute(
        select(Account)
        .where(Account.lender_id == g.api_client.lender_id, Account.account_number == records[0].account_number)
        .execution_options(populate_existing=True)
    ).scalar_one()
    response = jsonify(_account_json(account))
    response.status_code = 201 if result.created else 200
    return response


@bp.post("/accounts:batch")
@requires(ApiScope.ACCOUNTS_WRITE)
@idempotent
def batch_accounts():
    body = _json_body()
    items = body.get("accounts")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        _invalid([{"pointer": "/accounts", "detail": f"must be a list of 1 to {MAX_BATCH} accounts"}])
    rows, type_errors = [], []
    for index, item in enumerate(items):
        pointer = f"/accounts/{index}"
        if not isinstance(item, dict):
            type_errors.append({"pointer": pointer, "detail": "must be an object"})
            continue
        row, row_type_errors = _row(item, pointer)
        type_errors += row_type_errors
        rows.append((row, pointer))
    records, errors = _validate(rows)
    if type_errors or errors:
        _invalid(type_errors + errors)
    result, stale = _import(records, rows)
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    # Accounts whose figures are older than those imported already: left unchanged, named.
    return jsonify(**counts, **({"stale": stale} if stale else {}))


@bp.post("/reminder-links")
@requires(ApiScope.LINKS_WRITE)
@idempotent(replayable=_link_still_usable)
def create_reminder_link():
    body = _json_body()
    errors = []
    number = body.get("account_number")
    lang = body.get("lang")
    days = body.get("expires_in_days", None)
    channel = body.get("channel", LinkChannel.SMS)
    if not isinstance(number, str) or not number:
        errors.append({"pointer": "/account_number", "detail": "is required"})
    if lang is not None and lang not in LOCALES:
        errors.append({"pointer": "/lang", "detail": f"must be one of {', '.join(LOCALES)}"})
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days not in LINK_LIFETIME_DAYS):
        errors.append(
            {
                "pointer": "/expires_in_days",
                "detail": f"must be a whole number from {LINK_LIFETIME_DAYS.start} to {LINK_LIFETIME_DAYS.stop - 1}",
            }
        )
    if channel not in list(LinkChannel):
        errors.append({"pointer": "/channel", "detail": f"must be one of {', '.join(LinkChannel)}"})
    if errors:
        _invalid(errors)
    account = db.session.execute(
        select(Account).where(Account.lender_id == g.api_client.lender_id, Account.account_number == number)
    ).scalar_one_or_none()
    if account is None:
        raise ApiProblem(404, "account_not_found", "No account with this number at your lender")
    link, code = create_link(
        account, locale=lang, expires_days=days, channel=channel, actor_type="api", actor_id=g.api_client.id
    )
    response = jsonify(url=link_url(code), code=code, expires_at=link.expires_at.isoformat().replace("+00:00", "Z"))
    response.status_code = 201
    return response


@bp.delete("/reminder-links/<code>")
@requires(ApiScope.LINKS_WRITE)
def delete_reminder_link(code: str):
    found = look_up_link(code)
    if found.link is None or found.link.account.lender_id != g.api_client.lender_id:
        raise ApiProblem(404, "link_not_found", "No such reminder link")
    revoke_link(found.link, actor_type="api", actor_id=g.api_client.id)
    return "", 204


@bp.get("/events")
@requires(ApiScope.EVENTS_READ)
def list_events():
    after = request.args.get("after") or None
    try:
        limit = int(request.args.get("limit", str(FEED_DEFAULT_LIMIT)))
    except ValueError as exc:
        raise ApiProblem(400, "invalid_parameter", "limit must be a whole number") from exc
    if limit not in FEED_LIMIT:
        raise ApiProblem(400, "invalid_parameter", f"limit must be from {FEED_LIMIT.start} to {FEED_LIMIT.stop - 1}")
    try:
        events = feed(g.api_client.lender_id, after, limit)
    except UnknownCursor as exc:
        raise ApiProblem(400, "invalid_cursor", "after must be a cursor this feed gave you") from exc
    return jsonify(
        events=[{**e.payload, "cursor": e.event_id} for e in events],
        next_cursor=events[-1].event_id if events else after,
    )


def _record_contacts(items: list[tuple[object, str]]) -> contacts.Outcome:
    """Check and store reported contacts, all or none; every problem with its pointer."""
    lender = g.api_client.lender
    reports, errors = [], []
    for item, pointer in items:
        report, problems = contacts.parse(item, pointer, lender.jurisdiction)
        errors += [{"pointer": p.pointer, "detail": p.detail} for p in problems]
        if report is not None:
            reports.append(report)
    if errors:
        _invalid(errors)
    try:
        outcome = contacts.record(lender, reports, actor_type="api", actor_id=g.api_client_id)
    except contacts.ContactConflict as conflict:
        raise ApiProblem(
            409,
            "contact_id_reused",
            "A contact with this contact_id was reported with different details; nothing was changed",
            errors=[
                {"pointer": f"{items[int(i)][1]}/contact_id", "detail": "was reported before with different details"}
                for i in conflict.pointers
            ],
        ) from None
    except contacts.ContactRace:
        raise ApiProblem(
            409, "contact_in_progress", "Another request reported one of these contacts at this moment; retry"
        ) from None
    if outcome.missing_accounts:
        _invalid(
            [
                {"pointer": f"{items[i][1]}/account_number", "detail": "is not an account of your lender"}
                for i in outcome.missing_accounts
            ]
        )
    return outcome


@bp.post("/contacts")
@requires(ApiScope.CONTACTS_WRITE)
def post_contact():
    body = _json_body()
    outcome = _record_contacts([(body, "")])
    contact = outcome.contacts[0]
    response = jsonify(contacts.evaluation(contact, body["account_number"].strip()))
    response.status_code = 201 if outcome.created else 200
    return response


@bp.post("/contacts:batch")
@requires(ApiScope.CONTACTS_WRITE)
def batch_contacts():
    body = _json_body()
    items = body.get("contacts")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CONTACT_BATCH:
        _invalid([{"pointer": "/contacts", "detail": f"must be a list of 1 to {MAX_CONTACT_BATCH} contacts"}])
    outcome = _record_contacts([(item, f"/contacts/{index}") for index, item in enumerate(items)])
    return jsonify(
        created=outcome.created,
        replayed=outcome.replayed,
        contacts=[
            contacts.evaluation(c, item["account_number"].strip())
            for c, item in zip(outcome.contacts, items, strict=True)
        ],
    )


@bp.get("/contacts/<path:contact_id>")
@requires(ApiScope.CONTACTS_WRITE)
def get_contact(contact_id: str):
    found = contacts.find(g.api_client.lender_id, contact_id)
    if found is None:
        raise ApiProblem(404, "contact_not_found", "No contact with this contact_id at your lender")
    return jsonify(contacts.evaluation(*found))


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


def api_error(status: int):
    """Problem details for HTTP errors on /api paths (used by the app's error handlers)."""
    return problem_response(for_status(status))
