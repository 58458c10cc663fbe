"""Errors in one JSON shape for every API mistake: RFC 9457 problem details."""

from __future__ import annotations

from flask import jsonify

PROBLEM_TYPE = "https://sunshine-portal.example/problems/"


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        errors: list[dict] | None = None,
        headers: dict | None = None,
    ):
        super().__init__(title)
        self.status, self.code, self.title = status, code, title
        self.detail, self.errors, self.headers = detail, errors, headers or {}


def problem_response(problem: ApiProblem):
    body = {"type": PROBLEM_TYPE + problem.code, "title": problem.title, "status": problem.status, "code": problem.code}
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    response = jsonify(body)
    response.status_code = problem.status
    response.mimetype = "application/problem+json"
    response.headers.update(problem.headers)
    return response


# Problems for HTTP errors raised outside our own code (unknown route, wrong method, …).
HTTP_PROBLEMS = {
    400: ("bad_request", "The request could not be read"),
    401: ("unauthenticated", "A valid bearer token is required"),
    404: ("not_found", "No such resource"),
    405: ("method_not_allowed", "This method is not allowed here"),
    413: ("too_large", "The request body is too large"),
    415: ("unsupported_media_type", "Send JSON with Content-Type: application/json"),
    429: ("rate_limited", "Too many requests; slow down and retry later"),
    500: ("internal_error", "Something went wrong on our side; nothing was changed"),
    503: ("database_unavailable", "The service is unavailable for a moment; nothing was changed. Retry later"),
}


def for_status(status: int) -> ApiProblem:
    code, title = HTTP_PROBLEMS.get(status, HTTP_PROBLEMS[500 if status >= 500 else 400])
    return ApiProblem(status, code, title)
