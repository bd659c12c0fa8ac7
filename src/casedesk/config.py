"""Settings from the environment (``CASEDESK_*``) and the TOML config file (``CASEDESK_CONFIG``).

The environment says where things are (database, config file, secret key). The TOML file says
how the helpdesk works (ticket IDs, workflow, fields, channels, SLAs, notifications); every
section is optional and has built-in defaults. ``load_config`` refuses a bad file with every
problem located by line and column, so ``casedesk config check`` and start-up explain the same
errors the same way.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from casedesk.config_locate import locate
from casedesk.domain import lifecycle, responses
from casedesk.domain.durations import parse_duration
from casedesk.domain.ticket_ids import valid_prefix


class Settings(BaseSettings):
    """Where casedesk finds its database, config and secrets."""

    model_config = SettingsConfigDict(env_prefix="CASEDESK_")

    database_url: str = "sqlite:///casedesk.db"
    config: str | None = None
    secret_key: str = "dev-insecure-change-me"
    base_url: str = "http://127.0.0.1:8000"
    log_level: str = "info"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TicketsConfig(_Strict):
    prefix: str = "CASE"
    digits: int = Field(default=6, ge=1, le=12)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not valid_prefix(value):
            raise ValueError("prefix must be 1-16 letters or digits starting with a letter")
        return value.upper()


class StatusConfig(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    category: str


class TransitionConfig(_Strict):
    sources: list[str] = Field(alias="from", min_length=1)
    to: str
    by: list[str] = Field(min_length=1)
    requires: list[str] = []


def _default_workflow_statuses() -> list[StatusConfig]:
    return [
        StatusConfig(id=s.id, name=s.name, category=s.category)
        for s in lifecycle.default_workflow().statuses
    ]


def _default_workflow_transitions() -> list[TransitionConfig]:
    return [
        TransitionConfig.model_validate(
            {
                "from": sorted(t.sources),
                "to": t.target,
                "by": sorted(t.by),
                "requires": sorted(t.requires),
            }
        )
        for t in lifecycle.default_workflow().transitions
    ]


class WorkflowConfig(_Strict):
    hold_reasons: list[str] = list(lifecycle.DEFAULT_HOLD_REASONS)
    statuses: list[StatusConfig] = Field(default_factory=_default_workflow_statuses)
    transitions: list[TransitionConfig] = Field(default_factory=_default_workflow_transitions)
    auto_close_after: str = "5d"

    @field_validator("auto_close_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value).total_seconds() <= 0:
            raise ValueError("auto_close_after must be longer than zero, e.g. '5d'")
        return value


class FieldDefinition(_Strict):
    """A custom field cases may carry; values are checked against it on every write."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    type: Literal["text", "number", "integer", "boolean", "select", "date"] = "text"
    options: list[str] = []
    required: bool = False


class CasesConfig(_Strict):
    categories: list[str] = []
    fields: list[FieldDefinition] = []


class SavedResponse(_Strict):
    """A reply agents insert into the composer and adapt: ``${customer_name}``-style
    placeholders (``domain.responses.PLACEHOLDERS``) are filled in for the case."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=20_000)
    visibility: Literal["public", "internal"] = "public"


class AppConfig(_Strict):
    """The whole TOML config; sections of later features are kept as plain tables."""

    tickets: TicketsConfig = TicketsConfig()
    workflow: WorkflowConfig = WorkflowConfig()
    cases: CasesConfig = CasesConfig()
    responses: list[SavedResponse] = []
    email: dict[str, Any] = {}
    phone: dict[str, Any] = {}
    chat: dict[str, Any] = {}
    portal: dict[str, Any] = {}
    calendars: list[dict[str, Any]] = []
    sla: dict[str, Any] = {}
    notify: dict[str, Any] = {}

    @cached_property
    def lifecycle(self) -> lifecycle.Workflow:
        wf = self.workflow
        return lifecycle.Workflow(
            statuses=tuple(lifecycle.Status(s.id, s.name, s.category) for s in wf.statuses),
            transitions=tuple(
                lifecycle.Transition(
                    frozenset(t.sources), t.to, frozenset(t.by), frozenset(t.requires)
                )
                for t in wf.transitions
            ),
            hold_reasons=tuple(wf.hold_reasons),
        )

    @property
    def auto_close_after(self) -> timedelta:
        return parse_duration(self.workflow.auto_close_after)


@dataclass(frozen=True)
class ConfigProblem:
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.path}: {self.message}"


class ConfigError(Exception):
    """A config file that cannot be used, with every problem located."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            "\n".join(f"{source}:{p}" for p in problems) or f"{source}: invalid config"
        )


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse_config(text: str, source: str = "<config>") -> AppConfig:
    """Parse and validate config text; raises ``ConfigError`` listing every located problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python < 3.14 keeps the position only in the message: "... (at line 4, column 10)".
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(where.group(1)) if where else 1)
        col = getattr(exc, "colno", None) or (int(where.group(2)) if where else 1)
        problem = ConfigProblem(line, col, "(file)", f"not valid TOML: {exc}")
        raise ConfigError(source, [problem]) from exc
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            if path and path[-1] == "sources":
                path = (*path[:-1], "from")
            line, col = locate(text, path)
            message = err["msg"].removeprefix("Value error, ")
            problems.append(ConfigProblem(line, col, _dotted(path), message))
        raise ConfigError(source, problems) from exc
    problems = [
        ConfigProblem(
            *locate(text, ("workflow", *p.path)), _dotted(("workflow", *p.path)), p.message
        )
        for p in lifecycle.validate(config.lifecycle)
    ]
    problems += _check_fields(text, config)
    problems += _check_responses(text, config)
    problems += _check_features(text, config)
    if problems:
        raise ConfigError(source, problems)
    return config


def _check_fields(text: str, config: AppConfig) -> list[ConfigProblem]:
    problems = []
    for i, f in enumerate(config.cases.fields):
        if f.type == "select" and not f.options:
            path = ("cases", "fields", i, "options")
            problems.append(
                ConfigProblem(*locate(text, path), _dotted(path), "a select field needs options")
            )
    return problems


def _check_responses(text: str, config: AppConfig) -> list[ConfigProblem]:
    problems, seen = [], set()
    for i, r in enumerate(config.responses):
        unknown = responses.unknown_placeholders(r.body)
        if unknown:
            path: tuple[str | int, ...] = ("responses", i, "body")
            known = ", ".join(f"${{{p}}}" for p in responses.PLACEHOLDERS)
            message = f"unknown placeholder {', '.join(unknown)}; use {known}"
            problems.append(ConfigProblem(*locate(text, path), _dotted(path), message))
        if r.id in seen:
            path = ("responses", i, "id")
            message = f"response id {r.id!r} is used twice"
            problems.append(ConfigProblem(*locate(text, path), _dotted(path), message))
        seen.add(r.id)
    return problems


def _check_features(text: str, config: AppConfig) -> list[ConfigProblem]:
    """Sections owned by features validate themselves (imported here to avoid cycles)."""
    from casedesk import config_channels, config_notify, config_sla

    problems: list[ConfigProblem] = []
    for module in (config_channels, config_sla, config_notify):
        problems += module.check(text, config)
    return problems


def load_config(path: str | os.PathLike[str] | None) -> AppConfig:
    """The config at ``path``, or the built-in defaults when no path is set."""
    if not path:
        return AppConfig()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), [ConfigProblem(1, 1, "", f"cannot read: {exc}")]) from exc
    return parse_config(text, str(file))
