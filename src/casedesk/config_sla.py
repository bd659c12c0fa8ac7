"""SLA settings: [[calendars]] and [sla] policies with escalation paths.

``check`` returns every problem of these sections, located in the file, for
``casedesk config check`` and start-up. ``sla_settings`` gives the parsed calendars and policies
of a config, computed once per config object (the SLA hook runs on every case change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from casedesk.config_cache import per_config
from casedesk.config_locate import locate
from casedesk.domain.lifecycle import Problem
from casedesk.domain.sla import Calendar, CalendarError, calendar_from_config
from casedesk.domain.sla_policy import ALWAYS, Policy, policies_from_config

if TYPE_CHECKING:
    from casedesk.config import AppConfig, ConfigProblem

SLA_KEYS = ("policies",)


@dataclass(frozen=True)
class SlaSettings:
    calendars: Mapping[str, Calendar]
    policies: tuple[Policy, ...]
    # memo of checkpoints per (policy, metric, target), filled by ``services.sla_ledger``
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def policy(self, policy_id: str) -> Policy | None:
        return self._by_id.get(policy_id)

    @property
    def _by_id(self) -> dict[str, Policy]:
        found = self.memo.get("policies")
        if found is None:
            found = self.memo["policies"] = {p.id: p for p in self.policies}
        return found

    def calendar(self, calendar_id: str) -> Calendar:
        """The calendar of that id; a clock whose calendar left the config runs 24x7."""
        return self.calendars.get(calendar_id) or self.calendars[ALWAYS]


def parse(config: AppConfig) -> tuple[SlaSettings, list[Problem]]:
    """The SLA settings of ``config`` and every problem found on the way (paths from the root)."""
    from casedesk.config_notify import destination_ids

    problems: list[Problem] = []
    calendars: dict[str, Calendar] = {ALWAYS: Calendar.always()}
    broken: list[str] = []  # refused calendars still count as defined for the policies' check
    for i, table in enumerate(config.calendars):
        try:
            calendar = calendar_from_config(table)
        except CalendarError as exc:
            problems.append(Problem(("calendars", i, *exc.path), exc.message))
            if isinstance(table.get("id"), str):
                broken.append(table["id"])
            continue
        if calendar.id in calendars:
            what = "is built in" if calendar.id == ALWAYS else "is defined twice"
            problems.append(Problem(("calendars", i, "id"), f"calendar {calendar.id!r} {what}"))
            continue
        calendars[calendar.id] = calendar
    for key in config.sla:
        if key not in SLA_KEYS:
            problems.append(Problem(("sla", key), f"unknown key {key!r}; [sla] has policies"))
    policies = policies_from_config(
        config.sla.get("policies"),
        calendars=[c for c in calendars if c != ALWAYS] + broken,
        destinations=destination_ids(config),
        problems=problems,
    )
    return SlaSettings(calendars, tuple(policies)), problems


@per_config
def sla_settings(config: AppConfig) -> SlaSettings:
    """Parsed calendars and policies; ``ValueError`` for a config ``check`` would refuse."""
    settings, problems = parse(config)
    if problems:
        raise ValueError("; ".join(f"{_dotted(p.path)}: {p.message}" for p in problems))
    return settings


def check(text: str, config: AppConfig) -> list[ConfigProblem]:
    from casedesk.config import ConfigProblem

    _, problems = parse(config)
    return [ConfigProblem(*locate(text, p.path), _dotted(p.path), p.message) for p in problems]


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
