"""Config reload on SIGHUP: a valid file replaces the running config in every process; an
invalid one is refused with its located problems and the running config stays."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from casedesk.config import Settings, load_config
from casedesk.context import Context
from casedesk.db.migrate import upgrade
from casedesk.db.session import Database
from casedesk.processes import Supervisor
from casedesk.reload import reload_config, reload_on_hangup
from tests.procs import free_port, listeners, wait_until

CASEDESK = str(Path(sys.executable).with_name("casedesk"))
GOOD = """\
[[workflow.statuses]]
id = "open"
name = "{open_name}"
category = "new"

[[workflow.statuses]]
id = "solved"
name = "Solved"
category = "solved"

[[workflow.statuses]]
id = "closed"
name = "Closed"
category = "closed"

[[workflow.transitions]]
from = ["open"]
to = "solved"
by = ["agent", "lead"]

[[workflow.transitions]]
from = ["solved"]
to = "open"
by = ["agent", "customer"]

[[workflow.transitions]]
from = ["solved"]
to = "closed"
by = ["customer", "system"]
"""
BROKEN = GOOD.format(open_name="Open") + (
    '\n[[workflow.transitions]]\nfrom = ["open"]\nto = "nowhere"\nby = ["agent"]\n'
)


def test_a_valid_file_replaces_the_running_config(tmp_path: Path) -> None:
    path = tmp_path / "casedesk.toml"
    path.write_text(GOOD.format(open_name="Open"))
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", config=str(path))
    ctx = Context(settings=settings, config=load_config(path), db=Database(settings.database_url))
    try:
        path.write_text(GOOD.format(open_name="Waiting for us"))
        assert reload_config(ctx)
        assert ctx.config.lifecycle.status("open").name == "Waiting for us"
    finally:
        ctx.db.dispose()


def test_an_invalid_file_is_refused_and_the_running_config_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "casedesk.toml"
    path.write_text(GOOD.format(open_name="Open"))
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", config=str(path))
    ctx = Context(settings=settings, config=load_config(path), db=Database(settings.database_url))
    running = ctx.config
    try:
        path.write_text(BROKEN)
        with caplog.at_level(logging.ERROR, logger="casedesk.reload"):
            assert not reload_config(ctx)
        assert ctx.config is running
        logged = caplog.text
        assert "not reloaded" in logged and "nowhere" in logged
        assert f"{path}:{BROKEN.count(chr(10)) - 1}:" in logged  # located by line
    finally:
        ctx.db.dispose()


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[int, Path, int]]:
    workers = request.param
    url = f"sqlite:///{tmp_path}/serve.db"
    upgrade(url)
    path = tmp_path / "casedesk.toml"
    path.write_text(GOOD.format(open_name="Open"))
    env = {**os.environ, "CASEDESK_DATABASE_URL": url, "CASEDESK_CONFIG": str(path)}
    boot = subprocess.run(
        [CASEDESK, "user", "bootstrap", "--email", "admin@example.com"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = next(line.split()[-1] for line in boot.stdout.splitlines() if "API token" in line)
    port = free_port()
    process = subprocess.Popen(
        [CASEDESK, "serve", "--port", str(port), "--workers", str(workers), "--no-worker"],
        env={**env, "CASEDESK_TEST_TOKEN": token},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("w"),
    )
    try:
        wait_until(lambda: _open_name(port, token) is not None and listeners(port) == workers)
        request.node.token = token
        request.node.log = tmp_path / "serve.log"
        yield port, path, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _open_name(port: int, token: str) -> str | None:
    """The display name of "open" as one process (a new connection each time) sees it."""
    try:
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/workflow",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
    except httpx.TransportError:
        return None
    names = {s["id"]: s["name"] for s in answer.json()["statuses"]}
    return names["open"]


@pytest.mark.parametrize("server", [1, 2], indirect=True, ids=["one-process", "two-processes"])
def test_sighup_reloads_every_process_and_refuses_a_broken_file(
    server: tuple[int, Path, int], request: pytest.FixtureRequest
) -> None:
    port, path, pid = server
    token = request.node.token
    path.write_text(GOOD.format(open_name="Waiting for us"))
    os.kill(pid, signal.SIGHUP)
    # New connections land on either process: all of 20 in a row must see the new name.
    wait_until(lambda: all(_open_name(port, token) == "Waiting for us" for _ in range(20)))

    path.write_text(BROKEN)
    os.kill(pid, signal.SIGHUP)
    # Every config holder logs its refusal: the server's own (embedded worker) and each web
    # process's (one process: one more in the same process).
    holders = request.node.callspec.params["server"] + 1
    wait_until(lambda: request.node.log.read_text().count("not reloaded") >= holders)
    assert {_open_name(port, token) for _ in range(20)} == {"Waiting for us"}
    assert "restarting" not in request.node.log.read_text()  # no process died of a SIGHUP


def _starts_slowly(config_path: str, marker: str) -> None:
    """A supervised process that takes a while to start, then reloads on SIGHUP and writes
    the name of "open" it then runs with."""
    time.sleep(1.0)
    ctx: Any = SimpleNamespace(settings=SimpleNamespace(config=config_path), config=None)
    reload_on_hangup(ctx)
    deadline = time.monotonic() + 20
    while ctx.config is None:
        if time.monotonic() > deadline:
            raise SystemExit(1)
        time.sleep(0.05)
    Path(marker).write_text(ctx.config.lifecycle.status("open").name)


def test_a_reload_asked_for_while_a_process_starts_waits_for_it(tmp_path: Path) -> None:
    path = tmp_path / "casedesk.toml"
    path.write_text(GOOD.format(open_name="Waiting for us"))
    marker = tmp_path / "marker"
    process = Supervisor(_starts_slowly, (str(path), str(marker)), 1)._start()
    assert process.pid is not None
    os.kill(process.pid, signal.SIGHUP)  # still starting: SIGHUP's default would kill it
    process.join(timeout=30)
    assert process.exitcode == 0
    assert marker.read_text() == "Waiting for us"
