"""``casedesk config check``: what an operator sees for a good and for a broken config file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from casedesk.cli import app
from tests.test_config import CONFIG

CASEDESK = Path(sys.executable).with_name("casedesk")
BROKEN = CONFIG.replace('to = "resolved"', 'to = "solved"').replace(
    'category = "pending"', 'category = "waiting"'
)
BROKEN_LINES = [
    ":11:47: workflow.statuses[2].category: status 'on_hold' has category 'waiting'; "
    "use one of new, open, pending, solved, closed",
    ":18:48: workflow.transitions[2].to: unknown status 'solved' in 'to'",
]


def unwrapped(text: str) -> str:
    """The output with rich's soft line breaks (it wraps at 80 columns off a terminal) undone."""
    return text.replace("\n", "")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("CASEDESK_CONFIG", raising=False)
    return CliRunner()


@pytest.fixture
def good(tmp_path: Path) -> Path:
    file = tmp_path / "casedesk.toml"
    file.write_text(CONFIG, encoding="utf-8")
    return file


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    file = tmp_path / "bad.toml"
    file.write_text(BROKEN, encoding="utf-8")
    return file


def test_valid_file_exits_0_and_explains_the_workflow(runner: CliRunner, good: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(good)])
    assert result.exit_code == 0, result.output
    out = unwrapped(result.stdout)
    assert f"config {good} is valid" in out
    assert "ticket IDs: CASE-000001" in out
    assert (
        "statuses: open (new), in_progress (open), on_hold (pending), resolved (solved), "
        "closed (closed)" in out
    )
    assert "in_progress|open -> on_hold by admin, agent, lead needs reason" in out
    assert "resolved -> closed by admin, customer, lead, system" in out
    assert "auto-close after 5d in a solved status" in out
    assert result.stderr == ""


def test_without_a_path_the_built_in_defaults_are_checked(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "(built-in defaults) is valid" in unwrapped(result.stdout)
    assert "on_hold (pending)" in unwrapped(result.stdout)


def test_casedesk_config_names_the_file(runner: CliRunner, bad: Path) -> None:
    result = runner.invoke(app, ["config", "check"], env={"CASEDESK_CONFIG": str(bad)})
    assert result.exit_code == 1
    assert f"{bad}{BROKEN_LINES[1]}" in unwrapped(result.stderr)


def test_invalid_file_exits_1_and_prints_each_problem_located(
    runner: CliRunner, bad: Path
) -> None:
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 1
    err = unwrapped(result.stderr)
    assert "2 problem(s)" in err
    for line in BROKEN_LINES:
        assert f"{bad}{line}" in err
    assert result.stdout == ""


def test_unreadable_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = runner.invoke(app, ["config", "check", str(missing)])
    assert result.exit_code == 1
    assert f"{missing}:1:1:" in unwrapped(result.stderr)
    assert "cannot read" in unwrapped(result.stderr)


def test_toml_syntax_error(runner: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "syntax.toml"
    file.write_text(CONFIG.replace("digits = 6", "digits = = 6"), encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(file)])
    assert result.exit_code == 1
    assert "not valid TOML" in unwrapped(result.stderr)
    assert "line 4, column 10" in unwrapped(result.stderr)


@pytest.mark.parametrize("status", ["[b]solved", "[/x]"])
def test_problem_text_is_printed_literally(
    runner: CliRunner, tmp_path: Path, status: str
) -> None:
    file = tmp_path / "markup.toml"
    file.write_text(CONFIG.replace('to = "resolved"', f'to = "{status}"'), encoding="utf-8")
    result = runner.invoke(app, ["config", "check", str(file)])
    assert result.exit_code == 1
    assert f"unknown status '{status}' in 'to'" in unwrapped(result.stderr)


# -- the installed command, as a real process --------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "CASEDESK_CONFIG")}
    return subprocess.run(
        [str(CASEDESK), "config", "check", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any]]:
    """``casedesk config check`` run once on the good and once on the broken file."""
    folder = tmp_path_factory.mktemp("installed")
    runs = {}
    for name, text in (("good", CONFIG), ("bad", BROKEN)):
        file = folder / f"{name}.toml"
        file.write_text(text, encoding="utf-8")
        runs[name] = (file, _run(str(file)))
    return runs


def test_installed_command(installed: dict[str, tuple[Path, Any]]) -> None:
    good, ok = installed["good"]
    assert ok.returncode == 0, ok.stderr
    assert f"config {good} is valid" in unwrapped(ok.stdout)
    bad, failed = installed["bad"]
    assert failed.returncode == 1
    for line in BROKEN_LINES:
        assert f"{bad}{line}" in unwrapped(failed.stderr)


def test_each_problem_is_one_line(installed: dict[str, tuple[Path, Any]]) -> None:
    bad, failed = installed["bad"]
    lines = failed.stderr.splitlines()
    for line in BROKEN_LINES:
        assert f"{bad}{line}" in lines
