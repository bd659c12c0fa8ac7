"""Problem types: an error with a title of its own names a type a client can branch on and a
person can open for its meaning; an error titled with its status's phrase is ``about:blank``."""

from __future__ import annotations

from typing import Any

from casedesk.channels.chat import ChatRefused
from casedesk.channels.portal import LinkInvalid
from casedesk.domain import errors
from casedesk.domain.calendar import CalendarError
from casedesk.web.problems import PROBLEM_TYPES, TYPE_PREFIX, problem_type, slug


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_a_forbidden_transition_names_a_type_that_explains_itself(api: Any) -> None:
    case = api.post("/api/v1/cases", json={"subject": "Printer on fire"}).json()
    refused = api.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "closed"})
    assert refused.status_code == 409
    body = refused.json()
    assert body["type"] == "/api/problems/transition-not-allowed"
    assert body["title"] == "Transition not allowed"
    page = api.get(body["type"])
    assert page.status_code == 200
    doc = page.json()
    assert (doc["type"], doc["title"], doc["status"]) == (body["type"], body["title"], 409)
    assert "allowed" in doc["description"]


def test_a_missing_reason_names_its_type(api: Any) -> None:
    case = api.post("/api/v1/cases", json={"subject": "Printer on fire"}).json()
    refused = api.post(f"/api/v1/cases/{case['id']}/transitions", json={"to": "on_hold"})
    assert refused.status_code == 422
    assert refused.json()["type"] == "/api/problems/transition-requirement-missing"
    assert api.get(refused.json()["type"]).status_code == 200


def test_a_plain_not_found_is_about_blank(api: Any) -> None:
    missing = api.get("/api/v1/cases/CASE-999999")
    assert missing.status_code == 404
    assert (missing.json()["type"], missing.json()["title"]) == ("about:blank", "Not found")


def test_an_unknown_problem_type_is_a_404_problem(api: Any) -> None:
    answer = api.get(TYPE_PREFIX + "no-such-thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_every_error_with_a_title_of_its_own_has_a_described_type(api: Any) -> None:
    every = [errors.DomainError, *_subclasses(errors.DomainError)]
    assert {ChatRefused, LinkInvalid, CalendarError} <= set(every)  # the channels' own too
    titled = {(c.status, c.title) for c in every}
    for status, title in titled:
        kind = problem_type(status, title)
        if kind == "about:blank":
            continue
        assert kind == TYPE_PREFIX + slug(title), title
        assert title in PROBLEM_TYPES, f"{title!r} needs an entry in PROBLEM_TYPES"
        assert api.get(kind).status_code == 200, title
    assert problem_type(413, "Content too large") == "about:blank"
    assert problem_type(503, "Service unavailable") == "about:blank"
