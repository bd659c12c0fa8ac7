"""Full-text search on both engines: what is found, where it matched, that the index follows
writes in their own transaction (and rollbacks), and the exact ticket-ID / e-mail jumps."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from casedesk.context import Context
from casedesk.domain.actors import Actor
from casedesk.services import cases, customers, search
from casedesk.services.case_queries import CaseFilter, list_cases

AGENT = Actor(kind="system", label="search-test", origin="test")


def new_case(ctx: Context, subject: str, *, description: str = "", **kw: Any) -> int:
    case = cases.create_case(
        ctx.db,
        ctx.config,
        cases.NewCase(subject=subject, description=description, **kw),
        actor=AGENT,
        now=ctx.clock.now(),
    )
    return case.number


def found(ctx: Context, q: str) -> list[int]:
    return [h.number for h in search.search(ctx.db, ctx.config, q).hits]


def test_subject_description_message_and_customer_are_searchable(ctx: Context) -> None:
    a = new_case(ctx, "Redemption failing after catalogue sync", description="Voucher error")
    b = new_case(
        ctx,
        "Points missing",
        customer=customers.CustomerInput(name="Ada Lovelace", email="ada@example.com"),
    )
    c = new_case(ctx, "Card lost")
    cases.add_message(
        ctx.db,
        ctx.config,
        c,
        body="The courier returned the parcel",
        actor=AGENT,
        now=ctx.clock.now(),
    )
    assert found(ctx, "redemption") == [a]
    assert found(ctx, "voucher") == [a]  # description
    assert found(ctx, "redem fail") == [a]  # prefixes, every word must match
    assert found(ctx, "failed redemptions") == [a]  # English stemming
    assert found(ctx, "lovelace") == [b]  # customer name
    assert found(ctx, "example") == [b]  # a part of the customer's e-mail
    assert found(ctx, "courier") == [c]  # message body
    assert found(ctx, "redemption courier") == []
    hit = search.search(ctx.db, ctx.config, "courier").hits[0]
    assert hit.matched == ["message"] and "courier" in hit.snippet


def test_newest_first_and_limit(ctx: Context) -> None:
    numbers = [new_case(ctx, f"Login problem number {i}") for i in range(5)]
    assert found(ctx, "login") == sorted(numbers, reverse=True)
    hits = search.search(ctx.db, ctx.config, "login", limit=2).hits
    assert [h.number for h in hits] == sorted(numbers, reverse=True)[:2]


def test_the_index_follows_updates_in_the_same_transaction(ctx: Context) -> None:
    number = new_case(ctx, "Old subject words")
    cases.update_case(
        ctx.db, ctx.config, number, {"subject": "Fresh wording"}, actor=AGENT, now=ctx.clock.now()
    )
    assert found(ctx, "fresh") == [number]
    assert found(ctx, "old subject") == []
    cases.add_message(
        ctx.db,
        ctx.config,
        number,
        body="zebra crossing",
        visibility="internal",
        actor=AGENT,
        now=ctx.clock.now(),
    )
    assert found(ctx, "zebra") == [number]  # findable at once after commit


def test_a_rolled_back_write_leaves_nothing_findable(ctx: Context) -> None:
    number = new_case(ctx, "Rollback probe")
    with pytest.raises(RuntimeError), ctx.db.write() as s:
        s.execute(
            text(
                "INSERT INTO messages (case_number, visibility, author_kind, author_name, "
                "channel, body, created_at) VALUES (:n, 'public', 'system', '', 'api', "
                "'quokka sighting', :at)"
            ),
            {"n": number, "at": ctx.clock.now().replace(tzinfo=None)},
        )
        # Inside the transaction the new text is already indexed...
        assert number in set(
            s.execute(search.matching_case_numbers(ctx.db.dialect, "quokka")).scalars()
        )
        raise RuntimeError("roll back")
    assert found(ctx, "quokka") == []  # ...and gone with the rollback


def test_jump_by_ticket_id_and_email(ctx: Context) -> None:
    number = new_case(
        ctx, "Anything", customer=customers.CustomerInput(name="Bo", email="bo@example.org")
    )
    tid = cases.ticket_id(ctx.config, number)
    result = search.search(ctx.db, ctx.config, tid.lower())
    assert result.jump is not None and result.jump.kind == "case" and result.jump.id == tid
    result = search.search(ctx.db, ctx.config, "BO@example.org")
    assert result.jump is not None and result.jump.kind == "customer"
    assert result.jump.label == "Bo"
    assert search.search(ctx.db, ctx.config, "CASE-999999").jump is None
    assert search.search(ctx.db, ctx.config, "nobody@example.org").jump is None


def test_queue_q_filter_uses_full_text_ids_and_emails(ctx: Context) -> None:
    a = new_case(ctx, "Redemption failing", customer=customers.CustomerInput(email="x@y.org"))
    b = new_case(ctx, "Points missing", tags=["points"])
    cases.add_message(
        ctx.db, ctx.config, b, body="redemption attempt too", actor=AGENT, now=ctx.clock.now()
    )

    def queue(q: str, **kw: Any) -> list[int]:
        return [c.number for c in list_cases(ctx.db, CaseFilter(q=q, **kw)).items]

    assert queue("redemption") == [b, a]
    assert queue("redemption", tag="points") == [b]
    assert queue(cases.ticket_id(ctx.config, a)) == [a]
    assert queue("x@y.org") == [a]
    assert queue("!!!") == [a, b][::-1]  # nothing to search for: no filter


def test_search_api(api: Any) -> None:
    resp = api.post("/api/v1/cases", json={"subject": "Catalogue sync broke redemption"})
    tid = resp.json()["id"]
    body = api.get("/api/v1/search", params={"q": "catalogue"}).json()
    assert body["jump"] is None
    assert [h["id"] for h in body["hits"]] == [tid]
    assert body["hits"][0]["matched"] == ["case"]
    body = api.get("/api/v1/search", params={"q": tid}).json()
    assert body["jump"]["kind"] == "case" and body["jump"]["id"] == tid
    assert api.get("/api/v1/search").status_code == 422
    listed = api.get("/api/v1/cases", params={"q": "redemption"}).json()["items"]
    assert [c["id"] for c in listed] == [tid]


def test_punctuation_inside_words_is_no_phrase(ctx: Context) -> None:
    number = new_case(ctx, "Password reset e-mail not arriving", description="ref ab_12 o'clock")
    for q in ("e-mail", "reset_e", "ab_12", "o'clock", "E-MAIL NOT"):
        assert found(ctx, q) == [number], q
