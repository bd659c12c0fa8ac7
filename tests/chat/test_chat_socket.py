"""The chat socket through a real WebSocket client against casedesk under uvicorn, on SQLite
and PostgreSQL: cases, resuming, live replies, limits, floods and who sees what."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from casedesk.config import parse_config
from casedesk.context import Context
from casedesk.db.contact_tables import ChatSession
from casedesk.db.tables import Case, Customer, Message
from casedesk.domain.actors import SYSTEM
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases
from casedesk.web.api import chat as chat_api
from tests.chat.conftest import Visitor


def count(ctx: Context, model: type) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def bodies(ctx: Context) -> list[str]:
    with ctx.db.read() as s:
        return list(s.scalars(select(Message.body).order_by(Message.id)))


def closed_code(v: Visitor, timeout: float = 5.0) -> int | None:
    try:
        while True:
            v.recv(timeout)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


def test_a_chat_opens_a_case_and_resumes_with_its_token(
    ctx: Context, server: str, visitors: list
) -> None:
    v = Visitor(server)
    visitors.append(v)
    welcome = v.hello(name="Ann Smith", email="Ann@Example.com")
    assert welcome["case"] is None and welcome["email"] == "ann@example.com"
    assert count(ctx, ChatSession) == 0  # nothing stored before the first message

    ack = v.say("My printer is on fire", "m1")
    assert ack["message"]["body"] == "My printer is on fire"
    assert ack["message"]["author_name"] == "Ann Smith"
    assert v.until("case")["case"]["case_id"] == "CASE-000001"
    v.say("second", "m2")
    with ctx.db.read() as s:
        case = s.get_one(Case, 1)
        assert case.channel == "chat" and case.subject == "Chat: My printer is on fire"
        customer = s.get_one(Customer, case.customer_id)
        assert (customer.name, customer.email) == ("Ann Smith", "ann@example.com")
        session = s.scalars(select(ChatSession)).one()
        assert session.case_number == 1 and session.token_hash != v.token
    token = v.token
    v.close()

    # Reconnecting with the token: the same case, its transcript, and a message resent after
    # a lost ack is stored once.
    again = Visitor(server)
    visitors.append(again)
    welcome = again.hello(token=token)
    assert welcome["case"]["case_id"] == "CASE-000001" and welcome["name"] == "Ann Smith"
    history = [again.until("message")["message"]["body"] for _ in range(2)]
    assert history == ["My printer is on fire", "second"]
    assert again.say("second", "m2")["message"]["id"] == ack["message"]["id"] + 1
    again.say("third", "m3")
    assert count(ctx, Case) == 1
    assert bodies(ctx) == ["My printer is on fire", "second", "third"]


def test_agent_replies_arrive_live_and_a_closed_chat_moves_on(
    ctx: Context, server: str, visitors: list, staff
) -> None:
    v = Visitor(server)
    visitors.append(v)
    v.hello(name="Ann", email="ann@example.com")
    v.say("help please", "m1")
    v.until("case")
    note = staff.post(
        "/api/v1/cases/CASE-000001/messages", json={"body": "VIP!", "visibility": "internal"}
    )
    reply = staff.post("/api/v1/cases/CASE-000001/messages", json={"body": "On it, Ann."})
    assert note.status_code == reply.status_code == 201
    got = v.until("message")["message"]  # the internal note never arrives
    assert got["body"] == "On it, Ann." and got["author_kind"] == "agent"
    assert got["author_name"] == "Amy"  # the agent's name, not their e-mail

    resolved = staff.post(
        "/api/v1/cases/CASE-000001/transitions", json={"to": "resolved", "resolution": "done"}
    )
    assert resolved.status_code == 200
    cases.transition_case(
        ctx.db,
        ctx.config,
        "CASE-000001",
        "closed",
        TransitionRequest(),
        actor=SYSTEM,
        now=ctx.clock.now(),
    )
    v.say("one more thing", "m2")
    assert v.until("case")["case"]["case_id"] == "CASE-000002"
    staff.post("/api/v1/cases/CASE-000002/messages", json={"body": "follow-up answer"})
    assert v.until("message")["message"]["body"] == "follow-up answer"
    with ctx.db.read() as s:
        assert s.get_one(Case, 2).linked_case_number == 1
        assert s.scalars(select(ChatSession.case_number)).one() == 2


def test_bad_input_gets_clear_errors_and_loses_nothing(
    ctx: Context, server: str, visitors: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = Visitor(server)
    visitors.append(v)
    v.send(type="message", body="hi", client_id="m1")
    assert v.until("error")["code"] == "invalid"  # hello first
    v.send(type="hello", name="Ann", email="not-an-address")
    error = v.until("error")
    assert error["code"] == "invalid" and error["field"] == "email"
    v.conn.send("{not json")
    assert v.until("error")["code"] == "invalid"
    v.conn.send(b"\x00binary")
    assert v.until("error")["code"] == "invalid"
    assert count(ctx, Customer) == 0
    v.hello(name="Ann", email="ann@example.com")  # the same socket can still start
    v.send(type="message", body="hi", client_id="bad id with spaces")
    assert v.until("error")["code"] == "invalid"
    v.say("kept", "m1")
    v.send(type="message", body="x" * 501, client_id="big")
    error = v.until("error")
    assert (error["code"], error["client_id"], error["limit"]) == ("too_large", "big", 500)
    v.say("still here", "m2")  # the connection stays usable
    v.send(type="message", body="y" * 20_000, client_id="huge")
    assert closed_code(v) == 1009  # a frame no message could need
    assert bodies(ctx) == ["kept", "still here"]

    monkeypatch.setattr(chat_api, "HELLO_SECONDS", 0.3)
    quiet = Visitor(server)
    visitors.append(quiet)
    assert closed_code(quiet) == 4408

    ctx.config = parse_config('[chat]\nallowed_origins = ["https://shop.example.com"]\n')
    with pytest.raises(InvalidStatus) as refused:
        Visitor(server, origin="https://evil.example.net")
    assert refused.value.response.status_code == 403
    allowed = Visitor(server, origin="https://shop.example.com")
    visitors.append(allowed)
    allowed.hello(name="Ann", email="ann@example.com")


def test_floods_are_slowed_then_disconnected(ctx: Context, server: str, visitors: list) -> None:
    v = Visitor(server)
    visitors.append(v)
    v.hello(name="Ann", email="ann@example.com")
    for i in range(5):
        v.say(f"message {i}", f"m{i}")
    v.send(type="message", body="one too many", client_id="m5")
    error = v.until("error")
    assert error["code"] == "rate_limited" and error["retry_after"] > 0
    for i in range(6, 30):
        try:
            v.send(type="message", body="spam", client_id=f"m{i}")
        except ConnectionClosed:  # the server may hang up before the flood is all sent
            break
    assert closed_code(v) == 4429
    assert bodies(ctx) == [f"message {i}" for i in range(5)]


def test_visitors_only_ever_see_their_own_chat(server: str, visitors: list, staff) -> None:
    ann, bob = Visitor(server), Visitor(server)
    visitors += [ann, bob]
    ann.hello(name="Ann", email="ann@example.com")
    ann.say("Ann's secret", "m1")
    assert ann.token is not None
    issued, rand, mac = ann.token.split(".")
    for forged in (f"{issued}.{rand}x.{mac}", f"{issued}.{rand}.{'A' * len(mac)}", "garbage"):
        v = Visitor(server)
        visitors.append(v)
        v.send(type="hello", token=forged)
        assert v.until("error")["code"] == "bad_token"
        assert closed_code(v) == 4401
    # Bob claims Ann's e-mail and tags her ticket: still his own new case.
    bob.hello(name="Bob", email="ann@example.com")
    bob.say("[CASE-000001] let me in", "m1")
    assert bob.until("case")["case"]["case_id"] == "CASE-000002"
    staff.post("/api/v1/cases/CASE-000001/messages", json={"body": "for Ann only"})
    staff.post("/api/v1/cases/CASE-000002/messages", json={"body": "for Bob"})
    assert bob.until("message")["message"]["body"] == "for Bob"
    assert ann.until("message")["message"]["body"] == "for Ann only"
