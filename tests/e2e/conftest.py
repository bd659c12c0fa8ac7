"""End-to-end fixtures: a real ``casedesk serve`` on a loopback port against a fresh migrated
SQLite database (users made with the CLI, as an operator would), and Debian's Chromium driven
by Playwright. Screenshots of the main pages are written to ``docs/screenshots/`` by
``make screenshots`` (to a temporary folder otherwise).

Never ``playwright install``: the browser is the system's ``/usr/bin/chromium``. Without it the
tests skip, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.procs import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
# Screenshots are taken on every run (a page that fails to render fails the test) but written to
# the documentation only by ``make screenshots``, so test runs leave the working tree clean.
SCREENSHOTS = Path(
    os.environ.get("CASEDESK_SCREENSHOTS_DIR")
    or Path(tempfile.gettempdir()) / "casedesk-screenshots"
)
VIEWPORT = {"width": 1280, "height": 800}
CLI = str(Path(sys.executable).parent / "casedesk")
PASSWORD = "e2e-password-123"

CONFIG = """
[cases]
categories = ["billing", "hardware", "account", "shipping"]
fields = [
  { id = "order_ref", name = "Order reference", type = "text" },
  { id = "plan", name = "Plan", type = "select", options = ["free", "pro", "enterprise"] },
]

[[calendars]]
id = "london"
timezone = "Europe/London"
hours = { mon-fri = ["09:00-12:30", "13:30-17:30"] }

[[sla.policies]]
id = "urgent"
name = "Urgent, around the clock"
when = { priority = ["urgent"] }
calendar = "24x7"
targets = { first_response = "30m", next_response = "2h", resolution = "8h" }

[[sla.policies]]
id = "standard"
name = "Standard, business hours"
calendar = "24x7"
targets = { first_response = "4h", next_response = "8h", resolution = "3d" }

[[notify.destinations]]
id = "slack-support"
kind = "slack"
webhook_url_env = "CASEDESK_SLACK_WEBHOOK"

[[notify.routes]]
events = ["case.created", "sla.warning", "sla.breached"]
when = { priority = ["high", "urgent"] }
to = ["slack-support"]

[[responses]]
id = "vendor"
name = "Vendor ticket opened"
visibility = "internal"
body = "Vendor ticket opened for ${ticket_id}: VT-88213."
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists() and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason="Chromium is not at /usr/bin/chromium"))


@dataclass
class Server:
    url: str
    env: dict[str, str]
    admin_email: str
    admin_password: str
    log: Path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [CLI, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"casedesk {' '.join(args)}: {done.stderr}{done.stdout}"
        return done.stdout

    def add_user(self, email: str, name: str, role: str) -> None:
        self.cli(
            "user",
            "add",
            email,
            "--name",
            name,
            "--role",
            role,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )

    def api(self, email: str) -> httpx.Client:
        token = self.cli("token", "create", email, "--label", "e2e").strip()
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "casedesk.toml").write_text(CONFIG, encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "CASEDESK_DATABASE_URL": f"sqlite:///{tmp / 'casedesk.db'}",
        "CASEDESK_CONFIG": str(tmp / "casedesk.toml"),
        "CASEDESK_SECRET_KEY": secrets.token_urlsafe(32),
        "CASEDESK_BASE_URL": f"http://127.0.0.1:{port}",
        "CASEDESK_LOG_LEVEL": "warning",
    }
    env.pop("CASEDESK_SLACK_WEBHOOK", None)
    probe = Server(f"http://127.0.0.1:{port}", env, "", "", tmp / "server.log")
    probe.cli("db", "upgrade")
    boot = probe.cli("user", "bootstrap")
    email = re.search(r"e-mail:\s+(\S+)", boot)
    password = re.search(r"password:\s+(\S+)", boot)
    assert email and password, boot
    server = Server(probe.url, env, email.group(1), password.group(1), probe.log)
    with server.log.open("w") as log:
        proc = subprocess.Popen(
            [CLI, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"casedesk serve did not start:\n{server.log.read_text()}")
                time.sleep(0.2)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Make pages in fresh browser contexts (own cookies), closed after the test. Any script
    error or Content-Security-Policy violation on any page fails the test."""
    contexts: list[Any] = []
    problems: list[str] = []

    def make(viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            viewport=viewport or VIEWPORT, locale="en-GB", timezone_id="Europe/London"
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error"
                and "status of 403" not in msg.text
                and "status of 401" not in msg.text
                else None
            ),
        )
        return page

    yield make
    for c in contexts:
        c.close()
    assert not problems, problems


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Any, server: Server, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/console")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/console(\?.*)?$"))
