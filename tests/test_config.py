"""The TOML config: defaults, the documented shape, and errors located by line and column.

``durations`` (``auto_close_after`` and SLA targets) and ``config_locate`` are tested here too,
as the config is where people write them.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casedesk.config import (
    AppConfig,
    ConfigError,
    ConfigProblem,
    Settings,
    load_config,
    parse_config,
)
from casedesk.config_locate import locate
from casedesk.domain.durations import format_duration, parse_duration
from casedesk.domain.lifecycle import default_workflow, validate

FAST = settings(max_examples=200, deadline=None)

# The documented example (DESIGN.md section 3) plus a [cases] section. Line numbers below refer to
# this text; ``test_line_numbers_in_this_file_are_right`` keeps them honest.
CONFIG = """\
# casedesk configuration used by the config tests
[tickets]
prefix = "CASE"
digits = 6

[workflow]
hold_reasons = ["awaiting_customer", "third_party", "internal"]
statuses = [
  { id = "open",        name = "Open",        category = "new" },
  { id = "in_progress", name = "In Progress", category = "open" },
  { id = "on_hold",     name = "On Hold",     category = "pending" },
  { id = "resolved",    name = "Resolved",    category = "solved" },
  { id = "closed",      name = "Closed",      category = "closed" },
]
transitions = [
  { from = ["open", "on_hold"], to = "in_progress", by = ["agent", "lead", "admin"] },
  { from = ["open", "in_progress"], to = "on_hold", by = ["agent", "lead", "admin"], requires = ["reason"] },
  { from = ["open", "in_progress", "on_hold"], to = "resolved", by = ["agent", "lead", "admin"], requires = ["resolution"] },
  { from = ["resolved"], to = "closed", by = ["customer", "lead", "admin", "system"] },
  { from = ["resolved"], to = "in_progress", by = ["customer", "agent", "lead", "admin"] },
]
auto_close_after = "5d"

[cases]
categories = ["billing", "shipping", "technical"]

[[cases.fields]]
id = "order_ref"
name = "Order reference"

[[cases.fields]]
id = "plan"
name = "Plan"
type = "select"
options = ["free", "pro", "enterprise"]
required = true

[email]
addresses = ["support@example.com"]          # mail to these opens or threads cases
smtpd = { host = "127.0.0.1", port = 2525 }
outbound = { host = "127.0.0.1", port = 25, from = "support@example.com", starttls = false }
imap = [{ host = "imap.example.com", user = "support", password_env = "CASEDESK_IMAP_PASSWORD" }]

[phone.twilio]
auth_token_env = "CASEDESK_TWILIO_AUTH_TOKEN"

[[calendars]]
id = "london"
timezone = "Europe/London"
hours = { mon-fri = ["09:00-12:30", "13:30-17:30"] }
holidays = { country = "GB", subdiv = "ENG", extra = ["2026-12-24"] }

[[sla.policies]]                               # ordered: the first that matches applies
id = "urgent"
when = { priority = ["urgent"] }
calendar = "24x7"
targets = { first_response = "30m", next_response = "2h", resolution = "8h" }
warn_at = [0.75, 0.9]
escalation = [
  { at = "warn:0.75", notify = ["slack-support"] },
  { at = "breach", notify = ["teams-leads"], assign_team = "tier2", raise_priority = true },
]

[[notify.destinations]]
id = "slack-support"
kind = "slack"                                 # slack | teams | email
webhook_url_env = "CASEDESK_SLACK_WEBHOOK"

[[notify.routes]]
events = ["case.created", "sla.warning", "sla.breached", "case.escalated"]
when = { priority = ["high", "urgent"] }
to = ["slack-support"]

[[notify.destinations]]                        # escalations may only name defined destinations
id = "teams-leads"
kind = "teams"
webhook_url_env = "CASEDESK_TEAMS_WEBHOOK"
"""  # noqa: E501
LINES = CONFIG.splitlines()


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "casedesk.toml")
    assert info.value.problems, "a ConfigError always names at least one problem"
    return info.value.problems


def edit(old: str, new: str) -> str:
    assert CONFIG.count(old) == 1, f"{old!r} must occur once in CONFIG"
    return CONFIG.replace(old, new)


def test_line_numbers_in_this_file_are_right() -> None:
    assert LINES[2] == 'prefix = "CASE"'
    assert LINES[7] == "statuses = ["
    assert LINES[10].startswith('  { id = "on_hold"')
    assert LINES[17].startswith('  { from = ["open", "in_progress", "on_hold"], to = "resolved"')
    assert LINES[18].startswith('  { from = ["resolved"], to = "closed"')
    assert LINES[21] == 'auto_close_after = "5d"'
    assert LINES[30] == "[[cases.fields]]"
    assert LINES[37] == "[email]"


# -- defaults -----------------------------------------------------------------------------------


def test_defaults_are_valid() -> None:
    config = AppConfig()
    assert validate(config.lifecycle) == []
    assert config.lifecycle.statuses == default_workflow().statuses
    assert set(config.lifecycle.transitions) == set(default_workflow().transitions)
    assert config.lifecycle.hold_reasons == default_workflow().hold_reasons
    assert (config.tickets.prefix, config.tickets.digits) == ("CASE", 6)
    assert config.auto_close_after == timedelta(days=5)
    assert config.cases.fields == [] and config.cases.categories == []
    assert load_config(None) == config
    assert load_config("") == config


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", "[tickets]\n[workflow]\n"])
def test_empty_sections_mean_defaults(text: str) -> None:
    config = parse_config(text)
    assert config.lifecycle.statuses == default_workflow().statuses
    assert config.tickets.prefix == "CASE"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDESK_DATABASE_URL", "postgresql+psycopg://u@db/casedesk")
    monkeypatch.setenv("CASEDESK_CONFIG", "/etc/casedesk.toml")
    monkeypatch.setenv("CASEDESK_SECRET_KEY", "s3cret")
    monkeypatch.setenv("CASEDESK_BASE_URL", "https://help.example.com")
    s = Settings()
    assert s.database_url == "postgresql+psycopg://u@db/casedesk"
    assert s.config == "/etc/casedesk.toml"
    assert s.secret_key == "s3cret"
    assert s.base_url == "https://help.example.com"


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "CONFIG", "SECRET_KEY", "BASE_URL"):
        monkeypatch.delenv(f"CASEDESK_{name}", raising=False)
    s = Settings()
    assert s.database_url == "sqlite:///casedesk.db"
    assert s.config is None
    assert s.base_url == "http://127.0.0.1:8000"


# -- the documented shape -------------------------------------------------------------------------


def test_documented_config_parses() -> None:
    config = parse_config(CONFIG, "casedesk.toml")
    wf = config.lifecycle
    assert validate(wf) == []
    assert wf.statuses == default_workflow().statuses
    assert set(wf.transitions) == set(default_workflow().transitions)
    assert wf.hold_reasons == ("awaiting_customer", "third_party", "internal")
    assert config.auto_close_after == timedelta(days=5)
    assert config.cases.categories == ["billing", "shipping", "technical"]
    plan = config.cases.fields[1]
    assert (plan.id, plan.type, plan.options, plan.required) == (
        "plan",
        "select",
        ["free", "pro", "enterprise"],
        True,
    )
    assert config.cases.fields[0].type == "text"
    # later features' sections are kept as plain tables
    assert config.email["smtpd"] == {"host": "127.0.0.1", "port": 2525}
    assert config.phone["twilio"]["auth_token_env"] == "CASEDESK_TWILIO_AUTH_TOKEN"
    assert config.calendars[0]["timezone"] == "Europe/London"
    assert config.sla["policies"][0]["escalation"][1]["assign_team"] == "tier2"
    assert config.notify["routes"][0]["to"] == ["slack-support"]


CUSTOM = """\
[tickets]
prefix = "help"
digits = 4

[workflow]
hold_reasons = ["vendor"]
statuses = [
  { id = "new", name = "New", category = "new" },
  { id = "triage", name = "Triage", category = "open" },
  { id = "waiting_vendor", name = "Waiting for vendor", category = "pending" },
  { id = "done", name = "Done", category = "solved" },
  { id = "archived", name = "Archived", category = "closed" },
]
transitions = [
  { from = ["new"], to = "triage", by = ["agent"] },
  { from = ["triage"], to = "waiting_vendor", by = ["agent"], requires = ["reason"] },
  { from = ["triage", "waiting_vendor"], to = "done", by = ["agent"], requires = ["resolution"] },
  { from = ["done"], to = "archived", by = ["system", "customer"] },
]
auto_close_after = "1d12h"

[cases]
fields = [
  { id = "seats", name = "Seats", type = "integer", required = true },
  { id = "tier", name = "Tier", type = "select" },
]
"""


def test_custom_workflow_and_prefix() -> None:
    config = parse_config(CUSTOM.replace('type = "select" }', 'type = "select", options = ["a"] }'))
    assert config.tickets.prefix == "HELP"
    assert config.lifecycle.initial == "new"
    assert config.lifecycle.acknowledge_target("done") == "archived"
    assert config.lifecycle.reopen_target("done") is None
    assert config.auto_close_after == timedelta(hours=36)
    assert [f.id for f in config.cases.fields] == ["seats", "tier"]


def test_select_without_options_in_an_inline_field_list() -> None:
    (problem,) = problems_of(CUSTOM)
    assert problem.path == "cases.fields[1].options"
    assert problem.message == "a select field needs options"
    assert (problem.line, problem.column) == (25, 3)


# -- errors, located ------------------------------------------------------------------------------

UNREACHABLE = (
    '  { id = "closed",      name = "Closed",      category = "closed" },\n',
    '  { id = "closed",      name = "Closed",      category = "closed" },\n'
    '  { id = "escalated",   name = "Escalated",   category = "open" },\n',
)


@pytest.mark.parametrize(
    ("old", "new", "line", "column", "path", "words"),
    [
        pytest.param(
            'to = "resolved"',
            'to = "solved"',
            18,
            48,
            "workflow.transitions[2].to",
            "unknown status 'solved' in 'to'",
            id="unknown-to",
        ),
        pytest.param(
            '{ from = ["resolved"], to = "closed"',
            '{ from = ["reslved"], to = "closed"',
            19,
            5,
            "workflow.transitions[3].from",
            "unknown status 'reslved' in 'from'",
            id="unknown-from",
        ),
        pytest.param(
            *UNREACHABLE,
            14,
            5,
            "workflow.statuses[5].id",
            "status 'escalated' cannot be reached from 'open'",
            id="unreachable",
        ),
        pytest.param(
            'category = "closed" }',
            'category = "solved" }',
            8,
            1,
            "workflow.statuses",
            "no status has category 'closed'",
            id="no-closed-category",
        ),
        pytest.param(
            'category = "pending"',
            'category = "waiting"',
            11,
            47,
            "workflow.statuses[2].category",
            "has category 'waiting'; use one of new, open, pending, solved, closed",
            id="invalid-category",
        ),
        pytest.param(
            '{ from = ["resolved"], to = "closed", by = ["customer", "lead", "admin", "system"]',
            '{ from = ["resolved"], to = "closed", by = ["customer", "robot"]',
            19,
            41,
            "workflow.transitions[3].by",
            "unknown actor 'robot'",
            id="unknown-actor",
        ),
        pytest.param(
            'requires = ["reason"]',
            'requires = ["approval"]',
            17,
            86,
            "workflow.transitions[1].requires",
            "unknown requirement 'approval'",
            id="unknown-requirement",
        ),
        pytest.param(
            'hold_reasons = ["awaiting_customer", "third_party", "internal"]',
            "hold_reasons = []",
            7,
            1,
            "workflow.hold_reasons",
            "no hold_reasons",
            id="reason-without-hold-reasons",
        ),
        pytest.param(
            'prefix = "CASE"',
            'prefix = "9CASE"',
            3,
            1,
            "tickets.prefix",
            "prefix must be 1-16 letters or digits starting with a letter",
            id="bad-prefix",
        ),
        pytest.param(
            "digits = 6",
            "digits = 0",
            4,
            1,
            "tickets.digits",
            "greater than or equal to 1",
            id="bad-digits",
        ),
        pytest.param(
            'auto_close_after = "5d"',
            'auto_close_after = "5 days"',
            22,
            1,
            "workflow.auto_close_after",
            "'5 days' is not a duration",
            id="bad-duration",
        ),
        pytest.param(
            "[email]\n",
            "[reports]\nweekly = true\n\n[email]\n",
            38,
            1,
            "reports",
            "Extra inputs are not permitted",
            id="unknown-top-level-table",
        ),
        pytest.param(
            "# casedesk configuration used by the config tests\n",
            '# casedesk configuration used by the config tests\ncolour = "red"\n',
            2,
            1,
            "colour",
            "Extra inputs are not permitted",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "digits = 6\n",
            'digits = 6\npadding = "0"\n',
            5,
            1,
            "tickets.padding",
            "Extra inputs are not permitted",
            id="unknown-key-in-section",
        ),
        pytest.param(
            'options = ["free", "pro", "enterprise"]\n',
            "",
            31,
            1,
            "cases.fields[1].options",
            "a select field needs options",
            id="select-without-options",
        ),
        pytest.param(
            'type = "select"',
            'type = "colour"',
            34,
            1,
            "cases.fields[1].type",
            "Input should be",
            id="unknown-field-type",
        ),
        pytest.param(
            '  { id = "on_hold",     name = "On Hold",     category = "pending" },',
            '  { id = "on_hold",     name = "On Hold" },',
            11,
            3,
            "workflow.statuses[2].category",
            "Field required",
            id="status-without-category",
        ),
        pytest.param(
            '{ id = "in_progress", name = "In Progress"',
            '{ id = "In Progress", name = "In Progress"',
            10,
            5,
            "workflow.statuses[1].id",
            "should match pattern",
            id="bad-status-id",
        ),
    ],
)
def test_errors_are_located(
    old: str, new: str, line: int, column: int, path: str, words: str
) -> None:
    problems = problems_of(edit(old, new))
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, problems
    problem = found[0]
    assert words in problem.message
    assert (problem.line, problem.column) == (line, column)
    assert str(problem) == f"{line}:{column}: {path}: {problem.message}"


def test_every_problem_is_reported_at_once() -> None:
    text = edit('to = "resolved"', 'to = "solved"').replace(
        'category = "pending"', 'category = "waiting"'
    )
    found = [(p.line, p.path) for p in problems_of(text)]
    assert found == [(11, "workflow.statuses[2].category"), (18, "workflow.transitions[2].to")]


def test_unknown_status_in_to_of_a_one_line_array() -> None:
    text = (
        "[workflow]\n"
        'statuses = [{ id = "a", name = "A", category = "new" }, '
        '{ id = "b", name = "B", category = "solved" }, '
        '{ id = "c", name = "C", category = "closed" }]\n'
        'transitions = [{ from = ["a"], to = "b", by = ["agent"] }, '
        '{ from = ["b"], to = "zz", by = ["agent"] }]\n'
    )
    (problem,) = problems_of(text)
    assert problem.path == "workflow.transitions[1].to"
    assert problem.line == 3
    assert text.splitlines()[2][problem.column - 1 :].startswith('to = "zz"')


def test_toml_syntax_error_keeps_tomllib_position_in_the_message() -> None:
    (problem,) = problems_of(edit("digits = 6", "digits = = 6"))
    assert "not valid TOML" in problem.message
    assert "line 4, column 10" in problem.message


def test_toml_syntax_error_is_located() -> None:
    (problem,) = problems_of(edit("digits = 6", "digits = = 6"))
    assert (problem.line, problem.column) == (4, 10)


def test_load_config_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "casedesk.toml"
    file.write_text(edit('to = "resolved"', 'to = "solved"'), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert info.value.source == str(file)
    assert str(info.value) == (
        f"{file}:18:48: workflow.transitions[2].to: unknown status 'solved' in 'to'"
    )
    file.write_text(CONFIG, encoding="utf-8")
    assert load_config(str(file)).cases.fields[0].id == "order_ref"


def test_load_config_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (1, 1)
    assert "cannot read" in problem.message


# -- locating paths in TOML text -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "line", "text_there"),
    [
        (("tickets",), 2, "[tickets]"),
        (("tickets", "digits"), 4, "digits = 6"),
        (("workflow", "hold_reasons", 2), 7, '"internal"'),
        (("workflow", "transitions", 4, "by"), 20, 'by = ["customer"'),
        (("cases", "fields", 0, "name"), 29, 'name = "Order reference"'),
        (("cases", "fields", 1, "required"), 36, "required = true"),
        (("email", "outbound", "from"), 41, 'from = "support@example.com"'),
        (("email", "imap", 0, "password_env"), 42, 'password_env = "CASEDESK_IMAP'),
        (("phone", "twilio", "auth_token_env"), 45, "auth_token_env ="),
        (("phone",), 44, "[phone.twilio]"),
        (("calendars", 0, "holidays", "extra", 0), 51, '"2026-12-24"'),
        (("sla", "policies"), 53, "[[sla.policies]]"),
        (("sla", "policies", 0, "targets", "resolution"), 57, 'resolution = "8h"'),
        (("sla", "policies", 0, "escalation", 1, "assign_team"), 61, 'assign_team = "tier2"'),
        (("notify", "destinations", 0, "kind"), 66, 'kind = "slack"'),
        (("notify", "routes", 0, "to"), 72, 'to = ["slack-support"]'),
        (("notify", "routes", 0, "nothing", "deeper"), 69, "[[notify.routes]]"),
        (("nowhere",), 1, "# casedesk configuration"),
    ],
)
def test_locate_documented_shapes(path: tuple[str | int, ...], line: int, text_there: str) -> None:
    found_line, column = locate(CONFIG, path)
    assert found_line == line
    assert LINES[line - 1][column - 1 :].startswith(text_there)


ARRAYS_OF_TABLES = """\
[[sla.policies]]
id = "urgent"   # comment with to = "x"
[[sla.policies.escalation]]
at = "warn:0.75"
[[sla.policies.escalation]]
at = "breach"

[tickets]
prefix = "CASE"

[[sla.policies]]
id = "normal"
when = { id = "nested", priority = ["normal"] }
calendar = "london"
[[sla.policies.escalation]]
at = "breach"
notify = [
  "teams-leads",
  "slack-support",
]
"""


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        (("sla", "policies", 0, "id"), 2, 1),
        (("sla", "policies", 0, "escalation", 1, "at"), 6, 1),
        (("sla", "policies", 1), 11, 1),
        (("sla", "policies", 1, "id"), 12, 1),
        (("sla", "policies", 1, "when", "id"), 13, 10),
        (("sla", "policies", 1, "calendar"), 14, 1),
        (("sla", "policies", 1, "escalation", 0, "at"), 16, 1),
        (("sla", "policies", 1, "escalation", 0, "notify", 1), 19, 3),
        (("sla", "policies", 1, "escalation", 1), 15, 1),
        (("tickets", "prefix"), 9, 1),
    ],
)
def test_locate_nested_arrays_of_tables(
    path: tuple[str | int, ...], line: int, column: int
) -> None:
    assert locate(ARRAYS_OF_TABLES, path) == (line, column)


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("[a]\nb.c = 1\n", ("a", "b", "c"), (2, 3)),
        ('["a"]\n"key with space" = 1\n', ("a", "key with space"), (2, 1)),
        ('a = { b = "}{][", c = 2 }\n', ("a", "c"), (1, 19)),
        ("a = '''\n[b]\nc = 1\n'''\nc = 2\n", ("c",), (5, 1)),
        ('a = """x \\""" [b]\n"""\nb = 1\n', ("b",), (3, 1)),
        ("a = [\n  [1, 2],\n  [3, 4],\n]\n", ("a", 1, 1), (3, 7)),
        ("a = 1979-05-27 07:32:00Z # when\nb = 2\n", ("b",), (2, 1)),
        ("this is not toml = [\n", ("x",), (1, 1)),
        ("", ("a",), (1, 1)),
    ],
)
def test_locate_odd_but_valid_toml(
    text: str, path: tuple[str | int, ...], expected: tuple[int, int]
) -> None:
    assert locate(text, path) == expected


@st.composite
def toml_documents(draw: st.DrawFn) -> tuple[str, dict[tuple[str | int, ...], tuple[int, int]]]:
    """A TOML text in any of the shapes a config uses, and where each key and array element is
    written in it (1-based line and column)."""
    return _Writer(draw).document()


_KEYS = st.sampled_from(["id", "to", "from", "by", "name", "when", "x-y", "k_1", "with space"])
_SCALARS = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.booleans().map(lambda b: str(b).lower()),
    st.text(alphabet=" az{}[]#=,.'\"\\", max_size=6).map(
        lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
    ),
    st.text(alphabet=' az{}[]#=,."', max_size=6).map(lambda t: f"'{t}'"),
)


class _Writer:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.lines: list[str] = []
        self.pos: dict[tuple[str | int, ...], tuple[int, int]] = {}

    def document(self) -> tuple[str, dict[tuple[str | int, ...], tuple[int, int]]]:
        self.body((), 0)
        return "\n".join(self.lines) + "\n", self.pos

    def mark(self, path: tuple[str | int, ...], column: int) -> None:
        self.pos.setdefault(path, (len(self.lines) + 1, column + 1))

    @staticmethod
    def key(k: str) -> str:
        return f'"{k}"' if " " in k else k

    def comment(self) -> str:
        return self.draw(st.sampled_from(["", "  # to = [ { ' \"", "# id = 1"]))

    def value(self, path: tuple[str | int, ...], line: str, depth: int) -> str:
        kind = self.draw(st.sampled_from(["scalar", "array", "table"] if depth < 2 else ["scalar"]))
        if kind == "scalar":
            return line + self.draw(_SCALARS)
        if kind == "array":
            line += "["
            for i in range(self.draw(st.integers(0, 3))):
                line += ", " if i else ""
                self.mark((*path, i), len(line))
                line = self.value((*path, i), line, depth + 1)
            return line + "]"
        line += "{ "
        for j, k in enumerate(self.draw(st.lists(_KEYS, max_size=3, unique=True))):
            line += ", " if j else ""
            self.mark((*path, k), len(line))
            line = self.value((*path, k), line + f"{self.key(k)} = ", depth + 1)
        return line + " }"

    def body(self, path: tuple[str | int, ...], depth: int) -> None:
        later = []
        for k in self.draw(st.lists(_KEYS, max_size=4, unique=True)):
            kinds = ["value", "lines", "table", "tables"] if depth < 2 else ["value", "lines"]
            kind = self.draw(st.sampled_from(kinds))
            if kind in ("table", "tables"):
                later.append((k, kind))
            elif kind == "value":
                self.mark((*path, k), 0)
                self.lines.append(self.value((*path, k), f"{self.key(k)} = ", 0) + self.comment())
            else:
                self.mark((*path, k), 0)
                self.lines.append(f"{self.key(k)} = [" + self.comment())
                for i in range(self.draw(st.integers(0, 3))):
                    self.mark((*path, k, i), 2)
                    self.lines.append(self.value((*path, k, i), "  ", 0) + "," + self.comment())
                self.lines.append("]")
        for k, kind in later:
            name = ".".join(self.key(p) for p in (*path, k) if isinstance(p, str))
            if kind == "table":
                self.mark((*path, k), 0)
                self.lines.append(f"[{name}]" + self.comment())
                self.body((*path, k), depth + 1)
                continue
            for i in range(self.draw(st.integers(1, 3))):
                self.mark((*path, k), 0)
                self.mark((*path, k, i), 0)
                self.lines.append(f"[[{name}]]" + self.comment())
                self.body((*path, k, i), depth + 1)


@settings(max_examples=150, deadline=None)
@given(document=toml_documents())
def test_locate_finds_every_key_and_element_of_any_document(
    document: tuple[str, dict[tuple[str | int, ...], tuple[int, int]]],
) -> None:
    text, positions = document
    tomllib.loads(text)  # the generated text is valid TOML
    for path, where in positions.items():
        assert locate(text, path) == where, (path, text)


# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("8h", timedelta(hours=8)),
        ("5d", timedelta(days=5)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("2H", timedelta(hours=2)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=8), "8d"),
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(hours=2, seconds=5), "2h5s"),
    ],
)
def test_format_duration(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize(
    "bad", ["", "   ", "5", "h", "5x", "1.5h", "-5m", "5 days", "five minutes", "1h-", "m5"]
)
def test_bad_durations_say_how_to_write_one(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(bad)
    assert f"'{bad}' is not a duration" in str(info.value)
    assert "'30m', '8h', '5d' or '1d12h'" in str(info.value)


@FAST
@given(seconds=st.integers(min_value=0, max_value=100 * 365 * 86400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    text = format_duration(value)
    assert parse_duration(text) == value
    assert parse_duration(text.upper()) == value


@FAST
@given(
    parts=st.lists(
        st.tuples(st.integers(0, 1_000), st.sampled_from("wdhms")), min_size=1, max_size=5
    )
)
def test_parse_then_format_is_canonical(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{u}" for n, u in parts)
    value = parse_duration(text)
    assert parse_duration(format_duration(value)) == value
    assert format_duration(parse_duration(format_duration(value))) == format_duration(value)


def test_huge_duration_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"not a duration|too long|too large"):
        parse_duration("99999999999d")


def test_huge_auto_close_after_is_a_located_problem() -> None:
    (problem,) = problems_of(edit('auto_close_after = "5d"', 'auto_close_after = "99999999999d"'))
    assert (problem.line, problem.path) == (22, "workflow.auto_close_after")


def test_the_example_in_the_documentation_is_valid() -> None:
    doc = Path(__file__).parent.parent / "docs" / "configuration.md"
    blocks = re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks, "docs/configuration.md shows a complete example"
    for block in blocks:
        config = parse_config(block, "docs/configuration.md")
        assert validate(config.lifecycle) == []


def test_the_error_example_in_the_documentation_is_what_is_reported() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = re.findall(r"```toml\n(.*?)```", doc, re.S)[0]
    shown = next(b for b in re.findall(r"```text\n(.*?)```", doc, re.S) if "problem(s)" in b)
    broken = example.replace('category = "pending"', 'category = "waiting"').replace(
        'to = "resolved"', 'to = "solved"'
    )
    with pytest.raises(ConfigError) as info:
        parse_config(broken, "casedesk.toml")
    assert shown.splitlines()[1:] == str(info.value).splitlines()
