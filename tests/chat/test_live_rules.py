"""The plain rules of the live channels: e-mail checks, signed tokens, subjects, flood gate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casedesk.channels.live_rules import (
    FloodGate,
    first_line,
    sign_token,
    untaggable,
    valid_email,
    verify_token,
)
from casedesk.domain.ticket_ids import find_ticket_ids


@pytest.mark.parametrize(
    "address",
    ["ann@example.com", "Ann.Smith+chat@mail.example.co.uk", "o'neil@example.ie", "x@ex-ample.io"],
)
def test_plausible_addresses(address: str) -> None:
    assert valid_email(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@@example.com",
        "Ann <ann@example.com>",
        "ann@example.com, bob@example.com",
        "ann smith@example.com",
        "ann@exa mple.com",
        "a" * 65 + "@example.com",
    ],
)
def test_implausible_addresses(address: str) -> None:
    assert not valid_email(address)


def test_tokens_are_signed_for_one_purpose_and_one_secret() -> None:
    token = sign_token("secret", "chat", 1_700_000_000)
    assert verify_token("secret", "chat", token) == 1_700_000_000
    assert verify_token("secret", "portal-link", token) is None
    assert verify_token("other-secret", "chat", token) is None
    issued, rand, mac = token.split(".")
    assert verify_token("secret", "chat", f"{int(issued) + 1}.{rand}.{mac}") is None
    assert verify_token("secret", "chat", f"{issued}.{rand[:-1]}.{mac}") is None
    for junk in ("", ".", "..", "a.b.c", token + ".x", "x" * 300):
        assert verify_token("secret", "chat", junk) is None
    assert sign_token("secret", "chat", 1) != sign_token("secret", "chat", 1)  # random part


@given(st.text(max_size=200))
def test_untaggable_subjects_never_name_a_ticket(subject: str) -> None:
    assert find_ticket_ids(untaggable(subject)) == []


def test_first_line() -> None:
    assert first_line("\n\n  Hello there \nsecond") == "Hello there"
    assert first_line("x" * 100, limit=10) == "xxxxxxxxx…"
    assert first_line("") == ""


def test_flood_gate_refills_and_counts_strikes() -> None:
    gate = FloodGate(capacity=3, per=3.0, strikes_to_close=3)
    assert [gate.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = gate.take(0.0)
    assert wait == pytest.approx(1.0)  # one message per second refills
    assert not gate.flooding()
    assert gate.take(1.0) == 0.0  # refilled
    gate.take(1.0)
    gate.take(1.0)
    assert gate.flooding()
    calm = FloodGate(capacity=3, per=3.0, strikes_to_close=3)
    for t in range(100):  # a steady pace within the limit is never refused
        assert calm.take(float(t)) == 0.0
