"""Notification routing rules: parsing ``[[notify.routes]]`` and choosing destinations."""

from __future__ import annotations

import pytest

from casedesk.domain.routing import NOTIFY_EVENTS, Route, destinations_for, routes_from_config

CONFIG = [
    {
        "events": ["case.created", "sla.warning", "sla.breached", "case.escalated"],
        "when": {"priority": ["high", "urgent"]},
        "to": ["slack-support"],
    },
    {"events": ["sla.breached", "case.escalated"], "to": ["teams-leads", "slack-support"]},
    {
        "events": ["case.created"],
        "when": {"tags": ["vip", "Enterprise"], "channel": ["email", "phone"]},
        "to": ["slack-vip"],
    },
    {"events": ["case.assigned"], "when": {"team": ["tier2"], "category": "billing"}, "to": "t2"},
]


def facts(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "team": "tier1",
        "priority": "normal",
        "channel": "email",
        "category": None,
        "tags": [],
    }
    base.update(values)
    return base


@pytest.fixture
def routes() -> list[Route]:
    return routes_from_config(CONFIG)


def test_parses_routes(routes: list[Route]) -> None:
    assert routes[0] == Route(
        events=frozenset({"case.created", "sla.warning", "sla.breached", "case.escalated"}),
        when={"priority": frozenset({"high", "urgent"})},
        to=("slack-support",),
    )
    assert routes[1].when == {}
    assert routes[2].when["tags"] == frozenset({"vip", "enterprise"})
    assert routes[3].when["category"] == frozenset({"billing"})
    assert routes[3].to == ("t2",)


def test_when_filters_on_priority(routes: list[Route]) -> None:
    assert destinations_for(routes, "case.created", facts(priority="urgent")) == ["slack-support"]
    assert destinations_for(routes, "case.created", facts(priority="normal")) == []
    assert destinations_for(routes, "sla.warning", facts(priority="high")) == ["slack-support"]


def test_order_kept_and_duplicates_dropped(routes: list[Route]) -> None:
    assert destinations_for(routes, "sla.breached", facts(priority="urgent")) == [
        "slack-support",
        "teams-leads",
    ]
    assert destinations_for(routes, "sla.breached", facts(priority="low")) == [
        "teams-leads",
        "slack-support",
    ]


def test_event_must_be_listed(routes: list[Route]) -> None:
    assert destinations_for(routes, "case.status_changed", facts(priority="urgent")) == []
    assert destinations_for(routes, "test", facts()) == []


def test_tags_match_when_any_tag_is_listed(routes: list[Route]) -> None:
    vip = facts(tags=["printer", "vip"])
    assert destinations_for(routes, "case.created", vip) == ["slack-vip"]
    assert destinations_for(routes, "case.created", facts(tags=["ENTERPRISE"])) == ["slack-vip"]
    assert destinations_for(routes, "case.created", facts(tags=["printer"])) == []
    assert destinations_for(routes, "case.created", facts(tags=[])) == []
    assert destinations_for(routes, "case.created", facts(tags=None)) == []


def test_every_when_key_must_match(routes: list[Route]) -> None:
    assert destinations_for(routes, "case.created", facts(tags=["vip"], channel="chat")) == []
    assigned = "case.assigned"
    assert destinations_for(routes, assigned, facts(team="tier2", category="billing")) == ["t2"]
    assert destinations_for(routes, assigned, facts(team="tier2", category=None)) == []
    assert destinations_for(routes, assigned, facts(team="tier1", category="billing")) == []


def test_missing_fact_does_not_match_a_filter(routes: list[Route]) -> None:
    assert destinations_for(routes, "case.assigned", {"category": "billing"}) == []
    assert destinations_for(routes, "sla.breached", {}) == ["teams-leads", "slack-support"]


def test_no_routes_means_no_destinations() -> None:
    assert routes_from_config([]) == []
    assert destinations_for([], "case.created", facts()) == []


def test_unknown_event_name_is_refused() -> None:
    where = r"notify\.routes\[1\]\.events"
    with pytest.raises(ValueError, match=rf"{where}: unknown event 'case\.create'"):
        routes_from_config([CONFIG[0], {"events": ["case.create"], "to": ["x"]}])
    with pytest.raises(ValueError, match=r"unknown event 'case\.deleted'"):
        destinations_for([], "case.deleted", facts())


def test_unknown_when_key_is_refused() -> None:
    message = r"when: unknown key 'assignee'; a route can filter on team"
    with pytest.raises(ValueError, match=message):
        routes_from_config([{"events": ["case.created"], "when": {"assignee": ["a"]}, "to": ["x"]}])


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"events": [], "to": ["x"]}, r"\.events: must be a non-empty list"),
        ({"to": ["x"]}, r"\.events: must be a non-empty list"),
        ({"events": ["test"]}, r"\.to: must be a non-empty list"),
        ({"events": ["test"], "to": [""]}, r"\.to: '' is not a name"),
        ({"events": ["test"], "to": ["x"], "when": {"priority": []}}, r"when\.priority: must be"),
        ({"events": ["test"], "to": ["x"], "when": ["priority"]}, r"\.when: must be a table"),
        ({"event": ["test"], "to": ["x"]}, r"unknown key 'event'"),
        ("test", r"must be a table"),
    ],
)
def test_malformed_routes_are_refused(route: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        routes_from_config([route])  # type: ignore[list-item]


def test_destinations_can_be_checked() -> None:
    with pytest.raises(
        ValueError, match="unknown destination 'teams-leads'; known destinations: slack-support"
    ):
        routes_from_config(CONFIG[:2], known_destinations={"slack-support"})
    assert routes_from_config(CONFIG[:2], known_destinations={"slack-support", "teams-leads"})


def test_every_event_is_routable() -> None:
    routes = routes_from_config([{"events": list(NOTIFY_EVENTS), "to": ["all"]}])
    for event in NOTIFY_EVENTS:
        assert destinations_for(routes, event, {}) == ["all"]
