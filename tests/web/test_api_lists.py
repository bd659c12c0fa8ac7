"""The case queue: filters, sort orders and keyset paging, as a client walks them."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

CASES = "/api/v1/cases"
PRIORITIES = ("low", "normal", "high", "urgent")
SORTS = ("-created", "created", "-priority", "priority", "updated", "-updated")


def problem(resp: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response and return its body."""
    where = f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text}"
    assert resp.status_code == status, where
    assert resp.headers["content-type"].startswith("application/problem+json"), where
    body = resp.json()
    assert body["status"] == status and body["title"], where
    assert isinstance(body["detail"], str) and len(body["detail"]) >= 10, where
    if field is not None:
        fields = [body.get("field"), *(e["field"] for e in body.get("errors", []))]
        assert field in fields, where
    return body


def create(api: Any, subject: str, **fields: Any) -> str:
    resp = api.post(CASES, json={"subject": subject, **fields})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def ids(api: Any, **params: Any) -> list[str]:
    resp = api.get(CASES, params=params)
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert page["next_cursor"] is None, "expected a single page"
    return [c["id"] for c in page["items"]]


def walk(api: Any, between: Any = None, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following next_cursor; ``between(n)`` runs after page n."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        resp = api.get(CASES, params={**params, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages.append(body["items"])
        assert len(pages) < 100, "paging does not end"
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert body["items"], "a page with a next_cursor must not be empty"
        if between is not None:
            between(len(pages))


def expected_order(cases: list[dict[str, Any]], sort: str) -> list[str]:
    """The order a sort promises, worked out from the cases' own fields; ties by number."""
    key = sort.lstrip("-")

    def value(c: dict[str, Any]) -> tuple[Any, int]:
        if key == "created":
            return (0, c["number"])
        if key == "priority":
            return (PRIORITIES.index(c["priority"]), c["number"])
        return (c["updated_at"], c["number"])

    return [c["id"] for c in sorted(cases, key=value, reverse=sort.startswith("-"))]


@pytest.fixture
def queue(api: Any, clock: Any) -> dict[str, str]:
    """Five cases spread over channels, priorities, people, teams, tags and statuses."""
    admin = api.as_role("admin")
    for team in ("Tier 1", "Tier 2"):
        assert admin.post("/api/v1/teams", json={"name": team}).status_code == 201
    colleague = api.as_role("agent", "colleague@example.com")
    assert colleague.get("/api/v1/users/me").status_code == 200

    def step(case_id: str, to: str, **extra: Any) -> None:
        resp = api.post(f"{CASES}/{case_id}/transitions", json={"to": to, **extra})
        assert resp.status_code == 200, resp.text

    made = {}
    made["printer"] = create(api, "Printer jammed", channel="email", priority="high",
                             tags=["printer", "hw"], category="hardware",
                             assignee="agent@example.com", team="Tier 1")
    clock.advance(timedelta(minutes=1))
    made["vpn"] = create(api, "VPN down for everyone", channel="chat", priority="urgent",
                         tags=["vpn"], category="outage", assignee="colleague@example.com",
                         team="Tier 2")
    step(made["vpn"], "in_progress")
    clock.advance(timedelta(minutes=1))
    made["invoice"] = create(api, "Invoice has the wrong VAT", channel="api", priority="low",
                             tags=["billing"], category="billing")
    step(made["invoice"], "on_hold", reason_code="awaiting_customer", reason="Need the PO")
    clock.advance(timedelta(minutes=1))
    made["toner"] = create(api, "printer toner empty", channel="phone", tags=["printer"],
                           category="hardware")
    step(made["toner"], "resolved", resolution="Sent toner")
    clock.advance(timedelta(minutes=1))
    made["password"] = create(api, "Password reset", channel="portal",
                              assignee="agent@example.com", team="Tier 1")
    step(made["password"], "in_progress")
    return made


def test_filters_narrow_the_queue(api: Any, queue: dict[str, str]) -> None:
    q = queue
    newest_first = [q["password"], q["toner"], q["invoice"], q["vpn"], q["printer"]]
    assert ids(api) == newest_first
    assert ids(api, status="in_progress") == [q["password"], q["vpn"]]
    assert ids(api, status=["open", "on_hold"]) == [q["invoice"], q["printer"]]
    assert ids(api, status_category="pending") == [q["invoice"]]
    assert ids(api, channel="email") == [q["printer"]]
    assert ids(api, channel=["chat", "phone"]) == [q["toner"], q["vpn"]]
    assert ids(api, priority="normal") == [q["password"], q["toner"]]
    assert ids(api, priority=["high", "urgent"]) == [q["vpn"], q["printer"]]
    assert ids(api, assignee="me") == [q["password"], q["printer"]]
    assert ids(api, assignee="none") == [q["toner"], q["invoice"]]
    assert ids(api, assignee="Colleague@Example.com") == [q["vpn"]]
    assert ids(api, assignee="nobody@example.com") == []
    assert ids(api, team="Tier 1") == [q["password"], q["printer"]]
    assert ids(api, team="none") == [q["toner"], q["invoice"]]
    assert ids(api, team="No such team") == []
    assert ids(api, tag="printer") == [q["toner"], q["printer"]]
    assert ids(api, tag="PRINTER") == [q["toner"], q["printer"]]
    assert ids(api, category="hardware") == [q["toner"], q["printer"]]
    assert ids(api, q="printer") == [q["toner"], q["printer"]]
    assert ids(api, q="  vat ") == [q["invoice"]]
    assert ids(api, q="nothing like this") == []
    # Filters combine with AND.
    assert ids(api, tag="printer", status="open") == [q["printer"]]
    assert ids(api, assignee="me", status="in_progress", team="Tier 1") == [q["password"]]
    # "me" is whoever asks.
    colleague = api.as_role("agent", "second@example.com")
    assert ids(colleague, assignee="me") == []


def test_sort_orders(api: Any, queue: dict[str, str], clock: Any) -> None:
    q = queue
    clock.advance(timedelta(minutes=5))
    resp = api.patch(f"{CASES}/{q['printer']}", json={"tags": ["printer"]})
    assert resp.status_code == 200, resp.text
    assert ids(api, sort="-created") == ids(api)
    assert ids(api, sort="created") == [q["printer"], q["vpn"], q["invoice"], q["toner"],
                                        q["password"]]
    # Ties (two normal cases) go newest first in a descending sort.
    assert ids(api, sort="-priority") == [q["vpn"], q["printer"], q["password"], q["toner"],
                                          q["invoice"]]
    assert ids(api, sort="updated") == [q["vpn"], q["invoice"], q["toner"], q["password"],
                                        q["printer"]]
    assert ids(api, sort="-updated")[0] == q["printer"]
    items = api.get(CASES, params={"sort": "updated"}).json()["items"]
    assert [c["updated_at"] for c in items] == sorted(c["updated_at"] for c in items)


def _many(api: Any, clock: Any, count: int) -> None:
    """Cases with repeating priorities and pairs that share a timestamp, so every sort has
    ties that only the number breaks."""
    for i in range(count):
        if i % 2 == 0:
            clock.advance(timedelta(seconds=30))
        create(api, f"Case {i}", priority=PRIORITIES[i * 7 % 4])
    # Touch a few older cases so "updated" differs from "created".
    for number in (2, 5):
        clock.advance(timedelta(seconds=30))
        assert api.patch(f"{CASES}/{number}", json={"tags": ["touched"]}).status_code == 200


def test_cursor_paging_walks_every_case_once_in_every_sort(api: Any, clock: Any) -> None:
    _many(api, clock, 11)
    everything = api.get(CASES, params={"limit": 200}).json()["items"]
    assert len(everything) == 11
    for sort in SORTS:
        for limit in (1, 4):
            pages = walk(api, sort=sort, limit=limit)
            seen = [c["id"] for page in pages for c in page]
            assert seen == expected_order(everything, sort), (sort, limit)
            assert len(set(seen)) == 11
            assert all(len(page) == limit for page in pages[:-1])
            assert len(pages) == -(-11 // limit), (sort, limit)


def test_paging_is_stable_when_cases_arrive_between_pages(api: Any, clock: Any) -> None:
    _many(api, clock, 9)
    originals = api.get(CASES, params={"limit": 200}).json()["items"]
    arrivals = iter(range(100))

    def arrive(page_number: int) -> None:
        if page_number <= 3:  # a few newcomers while the client is paging
            n = next(arrivals)
            clock.advance(timedelta(seconds=10))
            create(api, f"Newcomer {n}", priority=PRIORITIES[n % 4])

    for sort in SORTS:
        pages = walk(api, between=arrive, sort=sort, limit=3)
        seen = [c["id"] for page in pages for c in page]
        assert len(seen) == len(set(seen)), (sort, seen)
        original_ids = expected_order(originals, sort)
        # Every case that existed when paging began is seen once, in the promised order.
        assert [i for i in seen if i in original_ids] == original_ids, sort
        # Whatever newcomers do show up are in their proper place, after the cursor.
        listed = api.get(CASES, params={"sort": sort, "limit": 200}).json()["items"]
        final_order = [c["id"] for c in listed]
        assert seen == [i for i in final_order if i in seen], sort
        if sort == "-created":  # newcomers sort before the cursor: never seen, never shifting
            assert seen == original_ids
        if sort in ("created", "updated"):  # newcomers sort last: each is seen, once
            assert seen[len(original_ids):] == final_order[len(original_ids):]


def test_invalid_list_parameters_are_422(api: Any) -> None:
    for n in range(3):
        create(api, f"Case {n}")
    first = api.get(CASES, params={"limit": 1}).json()
    assert first["next_cursor"]
    other_sort = api.get(CASES, params={"limit": 1, "sort": "updated"}).json()["next_cursor"]
    forged = base64.urlsafe_b64encode(json.dumps({"s": "-created"}).encode()).decode()

    for cursor in ("garbage", "!!!", forged, other_sort):
        problem(api.get(CASES, params={"cursor": cursor}), 422, field="cursor")
    problem(api.get(CASES, params={"cursor": first["next_cursor"], "sort": "-priority"}), 422,
            field="cursor")
    for limit in (0, -1, 201, "ten"):
        problem(api.get(CASES, params={"limit": limit}), 422, field="limit")
    assert len(api.get(CASES, params={"limit": 200}).json()["items"]) == 3
    problem(api.get(CASES, params={"sort": "subject"}), 422, field="sort")
    problem(api.get(CASES, params={"priority": "critical"}), 422, field="priority")
