"""The plain fields of a case: priorities, channels, categories, tags and custom fields."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casedesk.domain.case_fields import (
    CHANNELS,
    PRIORITIES,
    check_category,
    check_channel,
    check_custom_fields,
    normalise_tags,
    priority_name,
    priority_rank,
)
from casedesk.domain.errors import InvalidInput

FAST = settings(max_examples=150, deadline=None)


# -- priorities, channels, categories ---------------------------------------------------------


def test_priorities_are_ordered() -> None:
    assert [priority_rank(p) for p in PRIORITIES] == [0, 1, 2, 3]
    assert priority_rank("urgent") > priority_rank("high") > priority_rank("normal")
    assert all(priority_name(priority_rank(p)) == p for p in PRIORITIES)


def test_unknown_priority_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        priority_rank("critical")
    assert info.value.extra["field"] == "priority"
    assert "low, normal, high, urgent" in info.value.detail


def test_channels() -> None:
    for channel in CHANNELS:
        assert check_channel(channel) == channel
    with pytest.raises(InvalidInput) as info:
        check_channel("fax")
    assert info.value.extra["field"] == "channel"
    assert "email" in info.value.detail


def test_categories() -> None:
    allowed = ["billing", "shipping"]
    assert check_category(" billing ", allowed) == "billing"
    assert check_category(None, allowed) is None
    assert check_category("  ", allowed) is None
    assert check_category("anything", []) == "anything"
    with pytest.raises(InvalidInput) as info:
        check_category("returns", allowed)
    assert info.value.extra["field"] == "category"
    assert "billing, shipping" in info.value.detail


# -- tags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([], []),
        (["VIP"], ["vip"]),
        (["vip", "VIP", " vip "], ["vip"]),
        (["Billing Issue"], ["billing-issue"]),
        (["zeta", "alpha", "mid"], ["alpha", "mid", "zeta"]),
        (["lang:de", "v1.2", "tier_2", "a-b"], ["a-b", "lang:de", "tier_2", "v1.2"]),
        (["x" * 60], ["x" * 60]),
        (["0day"], ["0day"]),
    ],
)
def test_tags_are_normalised_deduplicated_and_sorted(tags: list[str], expected: list[str]) -> None:
    assert normalise_tags(tags) == expected


@pytest.mark.parametrize(
    "bad", ["", "   ", "-leading", "_leading", "x" * 61, "naïve", "a/b", "a,b", "#hash", "tab\tin"]
)
def test_invalid_tags_are_refused_by_name(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        normalise_tags(["fine", bad])
    assert info.value.extra["field"] == "tags"
    assert repr(bad)[1:-1] in info.value.detail or bad in info.value.detail


TAGS = st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_\-:. ]{0,20}", fullmatch=True), max_size=8)


@FAST
@given(tags=TAGS)
def test_normalising_is_idempotent_and_order_free(tags: list[str]) -> None:
    once = normalise_tags(tags)
    assert normalise_tags(once) == once
    assert normalise_tags(list(reversed(tags))) == once
    assert once == sorted(set(once))
    assert all(t == t.lower() and " " not in t for t in once)


# -- custom fields ------------------------------------------------------------------------------


@dataclass
class Field:
    id: str
    name: str
    type: str = "text"
    options: list[str] = field(default_factory=list)
    required: bool = False


FIELDS = [
    Field("order_ref", "Order reference"),
    Field("amount", "Amount", "number"),
    Field("seats", "Seats", "integer"),
    Field("refund", "Refund wanted", "boolean"),
    Field("plan", "Plan", "select", ["free", "pro", "enterprise"]),
    Field("due", "Due date", "date"),
]


def check(values: dict[str, Any], current: dict[str, Any] | None = None, **kw: Any) -> Any:
    return check_custom_fields(kw.get("definitions", FIELDS), values, current=current or {})


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("order_ref", "A-1", "A-1"),
        ("order_ref", "", ""),
        ("order_ref", "x" * 2000, "x" * 2000),
        ("amount", 12.5, 12.5),
        ("amount", 3, 3),
        ("seats", 10, 10),
        ("seats", 0, 0),
        ("refund", True, True),
        ("refund", False, False),
        ("plan", "pro", "pro"),
        ("due", "2026-03-01", "2026-03-01"),
    ],
)
def test_custom_field_values_of_the_right_type_are_kept(key: str, value: Any, stored: Any) -> None:
    assert check({key: value}) == {key: stored}


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("order_ref", 12, "text of at most 2000 characters"),
        ("order_ref", "x" * 2001, "text of at most 2000 characters"),
        ("amount", "12.5", "a number"),
        ("amount", True, "a number"),
        ("seats", 2.5, "integer"),
        ("seats", "10", "integer"),
        ("seats", False, "integer"),
        ("refund", "yes", "a boolean"),
        ("refund", 1, "a boolean"),
        ("plan", "gold", "one of free, pro, enterprise"),
        ("plan", "PRO", "one of free, pro, enterprise"),
        ("due", "2026-02-30", "a date as YYYY-MM-DD"),
        ("due", "next week", "a date as YYYY-MM-DD"),
        ("due", 20260301, "a date as YYYY-MM-DD"),
    ],
)
def test_custom_field_values_of_the_wrong_type_are_refused(
    key: str, value: Any, words: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        check({key: value})
    assert info.value.extra["field"] == f"custom_fields.{key}"
    assert words in info.value.detail
    assert repr(value)[:40] in info.value.detail


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_number_field_refuses_nan_and_infinity(value: float) -> None:
    with pytest.raises(InvalidInput):
        check({"amount": value})


def test_values_merge_into_the_current_ones_and_none_removes() -> None:
    current = {"order_ref": "A-1", "plan": "free"}
    merged = check({"plan": "pro", "seats": 3, "order_ref": None}, current)
    assert merged == {"plan": "pro", "seats": 3}
    assert current == {"order_ref": "A-1", "plan": "free"}, "current must not be mutated"
    assert check({"due": None}, {"plan": "pro"}) == {"plan": "pro"}


def test_required_fields_must_be_present_after_the_change() -> None:
    fields = [*FIELDS, Field("region", "Region", "select", ["eu", "us"], required=True)]
    assert check({"region": "eu"}, definitions=fields) == {"region": "eu"}
    assert check({"seats": 1}, {"region": "us"}, definitions=fields) == {
        "region": "us",
        "seats": 1,
    }
    with pytest.raises(InvalidInput) as info:
        check_custom_fields(fields, {"seats": 1}, current={}, creating=True)
    assert info.value.extra["field"] == "custom_fields.region"
    assert "'region' (Region) is required" in info.value.detail
    with pytest.raises(InvalidInput, match="required"):
        check({"region": None}, {"region": "eu"}, definitions=fields)


def test_a_field_made_required_later_does_not_block_older_cases() -> None:
    fields = [*FIELDS, Field("region", "Region", "select", ["eu", "us"], required=True)]
    assert check({"seats": 2}, {"seats": 1}, definitions=fields) == {"seats": 2}


def test_unknown_field_message_lists_the_known_fields() -> None:
    with pytest.raises(InvalidInput) as info:
        check({"colour": "red"})
    assert info.value.extra["field"] == "custom_fields.colour"
    assert "'colour' is unknown" in info.value.detail
    assert "order_ref, amount, seats, refund, plan, due" in info.value.detail


def test_unknown_field_when_none_are_configured() -> None:
    with pytest.raises(InvalidInput, match="none are configured"):
        check({"colour": "red"}, definitions=[])


def test_no_values_no_definitions() -> None:
    assert check({}, definitions=[]) == {}
