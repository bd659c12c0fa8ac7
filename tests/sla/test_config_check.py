"""``config check`` refuses bad calendars, policies, destinations and routes, each located."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from casedesk.cli import app
from casedesk.config import ConfigError, parse_config
from casedesk.config_notify import notify_settings
from casedesk.config_sla import sla_settings
from tests.sla.conftest import SLA_CONFIG


def problems(text: str) -> list[tuple[str, str, str]]:
    """(path, text at the reported position, message) of every problem."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sla.toml")
    lines = text.splitlines()
    return [(p.path, lines[p.line - 1][p.column - 1 :], p.message) for p in info.value.problems]


def edit(old: str, new: str) -> str:
    assert SLA_CONFIG.count(old) == 1, old
    return SLA_CONFIG.replace(old, new)


def test_the_test_config_is_valid_and_parsed_once() -> None:
    config = parse_config(SLA_CONFIG)
    settings = sla_settings(config)
    assert sla_settings(config) is settings
    assert [p.id for p in settings.policies] == ["urgent", "standard"]
    assert set(settings.calendars) == {"24x7", "london"}
    assert list(notify_settings(config).destinations) == ["slack-support", "teams-leads"]


@pytest.mark.parametrize(
    ("old", "new", "path", "there", "message"),
    [
        (
            'hours = { mon-fri = ["09:00-17:00"] }',
            'hours = { mon-fri = ["09:00-13:00", "12:00-17:00"] }',
            "calendars[0].hours.mon-fri[1]",
            '"12:00-17:00"',
            "overlaps 09:00-13:00",
        ),
        (
            'timezone = "Europe/London"',
            'timezone = "Europe/Londn"',
            "calendars[0].timezone",
            'timezone = "Europe/Londn"',
            "unknown timezone 'Europe/Londn'",
        ),
        (
            'country = "GB"',
            'country = "XX"',
            "calendars[0].holidays.country",
            'country = "XX"',
            "unknown country 'XX'",
        ),
        (
            'first_response = "1h", next_response = "2h"',
            'first_response = "0m", next_response = "2h"',
            "sla.policies[0].targets.first_response",
            'first_response = "0m"',
            "a target of zero",
        ),
        (
            'calendar = "london"\ntargets',
            'calendar = "paris"\ntargets',
            "sla.policies[1].calendar",
            'calendar = "paris"',
            "unknown calendar 'paris'",
        ),
        (
            '{ at = "warn:0.75", notify = ["teams-leads"] }',
            '{ at = "warn:0.75", notify = ["teams-lead"] }',
            "sla.policies[0].escalation[0].notify[0]",
            '"teams-lead"',
            "unknown destination 'teams-lead'",
        ),
        (
            '{ at = "breach", metrics = ["first_response"], assign_team',
            '{ at = "after breach", metrics = ["first_response"], assign_team',
            "sla.policies[0].escalation[1].at",
            'at = "after breach"',
            'write "warn:0.75", "breach" or "breach+30m"',
        ),
        (
            'when = { priority = ["urgent"] }',
            'when = { priority = ["critical"] }',
            "sla.policies[0].when.priority[0]",
            '"critical"',
            "unknown priority 'critical'",
        ),
        (
            'to = ["slack-support"]',
            'to = ["slack-suport"]',
            "notify.routes[0].to",
            'to = ["slack-suport"]',
            "unknown destination 'slack-suport'",
        ),
        (
            'webhook_url_env = "CASEDESK_TEST_SLACK_URL"',
            'webhook_url = "https://hooks.slack.com/services/T/B/x"',
            "notify.destinations[0].webhook_url",
            "webhook_url =",
            "secrets stay out of the file",
        ),
        (
            'kind = "teams"',
            'kind = "pager"',
            "notify.destinations[1].kind",
            'kind = "pager"',
            "kind 'pager' is unknown",
        ),
    ],
)
def test_bad_input_is_refused_with_its_position(
    old: str, new: str, path: str, there: str, message: str
) -> None:
    found = problems(edit(old, new))
    assert [p for p in found if p[0] == path], found
    (_, at, text) = next(p for p in found if p[0] == path)
    assert at.startswith(there)
    assert message in text


def test_every_problem_is_listed_at_once() -> None:
    text = edit('timezone = "Europe/London"', 'timezone = "Mars/Olympus"').replace(
        'resolution = "24h"', 'resolution = "0h"'
    )
    paths = [p[0] for p in problems(text)]
    assert "calendars[0].timezone" in paths
    assert "sla.policies[1].targets.resolution" in paths
    assert "sla.policies[1].calendar" not in paths  # the calendar is defined, if broken


def test_email_destinations_need_outbound_smtp() -> None:
    text = (
        SLA_CONFIG + '\n[[notify.destinations]]\nid = "leads"\nkind = "email"\nto = ["l@x.org"]\n'
    )
    found = problems(text)
    assert [p[0] for p in found] == ["email.outbound"]
    ok = text + '\n[email]\noutbound = { host = "127.0.0.1", port = 2525, from = "desk@x.org" }\n'
    settings = notify_settings(parse_config(ok))
    assert settings.outbound is not None and settings.outbound.port == 2525


def test_config_check_command_prints_located_problems(tmp_path: Path) -> None:
    file = tmp_path / "casedesk.toml"
    file.write_text(edit('first_response = "4h"', 'first_response = "0s"'), encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(file)])
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(file.read_text().splitlines(), 1) if '"0s"' in t)
    assert f"{file}:{line}:" in result.stderr.replace("\n", "")
    assert "a target of zero" in result.stderr.replace("\n", "")
