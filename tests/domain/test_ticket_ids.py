"""Ticket IDs: the reference people write (``CASE-000123``) and the number behind it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casedesk.domain.ticket_ids import (
    find_ticket_ids,
    format_ticket_id,
    parse_ticket_id,
    valid_prefix,
)

FAST = settings(max_examples=200, deadline=None)
PREFIXES = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,15}", fullmatch=True)
NUMBERS = st.integers(min_value=1, max_value=10**18 - 1)


def test_format_pads_to_digits_and_uppercases_the_prefix() -> None:
    assert format_ticket_id(123) == "CASE-000123"
    assert format_ticket_id(1) == "CASE-000001"
    assert format_ticket_id(42, prefix="help", digits=4) == "HELP-0042"
    assert format_ticket_id(7, prefix="T", digits=1) == "T-7"


def test_numbers_wider_than_digits_keep_every_digit() -> None:
    assert format_ticket_id(1234567) == "CASE-1234567"
    assert format_ticket_id(123456, digits=3) == "CASE-123456"
    assert parse_ticket_id("CASE-1234567") == 1234567


@pytest.mark.parametrize("number", [0, -1, -123])
def test_format_refuses_numbers_below_one(number: int) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        format_ticket_id(number)


@FAST
@given(number=NUMBERS, prefix=PREFIXES, digits=st.integers(1, 12))
def test_format_then_parse_round_trips(number: int, prefix: str, digits: int) -> None:
    text = format_ticket_id(number, prefix=prefix, digits=digits)
    assert len(text) >= len(prefix) + 1 + digits
    assert parse_ticket_id(text, prefix=prefix) == number
    assert parse_ticket_id(text.lower(), prefix=prefix.upper()) == number
    assert parse_ticket_id(f"  {text}\n", prefix=prefix) == number
    assert find_ticket_ids(f"Re: [{text}] hello", prefix=prefix) == [number]


def test_round_trip_up_to_the_largest_database_key() -> None:
    largest = 2**63 - 1
    assert parse_ticket_id(format_ticket_id(largest)) == largest


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("CASE-000123", 123),
        ("case-000123", 123),
        ("Case-123", 123),
        ("CASE-1", 1),
        ("case-0001", 1),
        ("CASE-00000000000042", 42),
        (" CASE-000010 ", 10),
    ],
)
def test_parse_accepts_any_case_and_padding(text: str, number: int) -> None:
    assert parse_ticket_id(text) == number


@pytest.mark.parametrize(
    "text",
    [
        "",
        "CASE-0",
        "CASE-000000",
        "CASE-",
        "CASE",
        "CASE-12a",
        "CASE-1 2",
        "CASE--12",
        "CASE-+12",
        "CASE-1.0",
        "HELP-000123",
        "XCASE-000123",
        "CASE000123",
        "000123",
        "123",
        "[CASE-000123]",
        "CASE-000123 extra",
        "CASE-١٢٣",
    ],
)
def test_parse_rejects_garbage(text: str) -> None:
    assert parse_ticket_id(text) is None


def test_parse_uses_the_configured_prefix() -> None:
    assert parse_ticket_id("HELP-0042", prefix="HELP") == 42
    assert parse_ticket_id("help-42", prefix="HELP") == 42
    assert parse_ticket_id("CASE-0042", prefix="HELP") is None


@FAST
@given(text=st.text(max_size=30))
def test_parse_never_crashes_and_only_returns_positive_numbers(text: str) -> None:
    number = parse_ticket_id(text)
    assert number is None or number >= 1


@pytest.mark.parametrize(
    ("subject", "numbers"),
    [
        ("Re: [CASE-000123] points", [123]),
        ("RE: Fwd: [case-000123] still broken", [123]),
        ("[CASE-000001] and [CASE-000002] merged", [1, 2]),
        ("[CASE-2] before [CASE-1]", [2, 1]),
        ("[ CASE-77 ] spaced", [77]),
        ("Re: CASE-000123 without brackets", []),
        ("Re: [HELP-000123] other desk", []),
        ("Re: [CASE-0] zero", []),
        ("Re: [CASE-12a] junk", []),
        ("no tags at all", []),
        ("", []),
    ],
)
def test_find_ticket_ids_in_subjects(subject: str, numbers: list[int]) -> None:
    assert find_ticket_ids(subject) == numbers


def test_find_ticket_ids_with_another_prefix() -> None:
    assert find_ticket_ids("Re: [HELP-0042] [CASE-1]", prefix="HELP") == [42]


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [
        ("CASE", True),
        ("T", True),
        ("Help2", True),
        ("A" * 16, True),
        ("A" * 17, False),
        ("", False),
        ("2CASE", False),
        ("CA-SE", False),
        ("CA SE", False),
        ("CASÉ", False),
    ],
)
def test_valid_prefix(prefix: str, ok: bool) -> None:
    assert valid_prefix(prefix) is ok
