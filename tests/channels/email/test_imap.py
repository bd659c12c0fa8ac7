"""The IMAP poller against a real Dovecot on loopback: unseen mail becomes cases, is flagged
seen, a re-poll creates nothing new, and failures are recorded on the mailbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest

from casedesk.channels.email import imap
from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from tests.channels.email import dovecot
from tests.channels.email.conftest import CONFIG, counts, mime


@pytest.fixture(scope="session")
def imap_server() -> Iterator[dovecot.Dovecot]:
    reason = dovecot.missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the IMAP tests: {reason}")
        pytest.skip(reason)
    with dovecot.running() as server:
        yield server


@pytest.fixture
def mailbox_user(imap_server: dovecot.Dovecot, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CASEDESK_TEST_IMAP_PASSWORD", "s3cret")
    return imap_server.add_user()


def imap_config(server: dovecot.Dovecot, user: str, sink_port: int, *, tls: bool) -> AppConfig:
    plain = f"""
[[email.imap]]
host = "127.0.0.1"
port = {server.port}
tls = false
user = "{user}"
password_env = "CASEDESK_TEST_IMAP_PASSWORD"
interval = "30s"
"""
    secure = f"""
[[email.imap]]
host = "127.0.0.1"
port = {server.tls_port}
tls = true
ca_file = "{server.cert}"
user = "{user}"
password_env = "CASEDESK_TEST_IMAP_PASSWORD"
folder = "Archive"
"""
    text = CONFIG.replace("SINK_PORT", str(sink_port)) + plain + (secure if tls else "")
    return parse_config(text)


@pytest.fixture
def config(imap_server: dovecot.Dovecot, mailbox_user: str, sink_port: int) -> AppConfig:
    return imap_config(imap_server, mailbox_user, sink_port, tls=True)


def test_unseen_mail_becomes_cases_and_a_repoll_creates_nothing_new(
    ctx: Context, imap_server: dovecot.Dovecot, mailbox_user: str
) -> None:
    with imap_server.client(mailbox_user) as conn:
        conn.create("Archive")
    imap_server.deliver(mailbox_user, mime(message_id="imap-1@example.com"))
    imap_server.deliver(mailbox_user, mime(subject="Second", sender="bo@example.com"))
    imap_server.deliver(mailbox_user, b"complete garbage")
    assert imap.poll_due(ctx) == 3
    assert counts(ctx) == (2, 2, 1)
    assert imap_server.unseen(mailbox_user) == 0
    assert imap.poll_due(ctx) == 0  # not due yet
    with imap_server.client(mailbox_user) as conn:  # someone marks everything unread again
        conn.select("INBOX")
        conn.store("1:*", "-FLAGS", "\\Seen")
    imap_server.deliver(mailbox_user, mime(message_id="imap-1@example.com"))  # a copy, too
    ctx.clock.advance(timedelta(seconds=31))  # type: ignore[attr-defined]
    assert imap.poll_due(ctx) == 4
    assert counts(ctx) == (2, 2, 1)
    statuses = imap.mailbox_status(ctx)
    assert [s.ok for s in statuses] == [True, True]  # the IMAPS mailbox verified its cert


def test_a_refused_login_is_recorded_and_retried_later(
    ctx: Context,
    imap_server: dovecot.Dovecot,
    mailbox_user: str,
    sink_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One mailbox: Dovecot delays repeated failed logins from one address by seconds.
    ctx.config = imap_config(imap_server, mailbox_user, sink_port, tls=False)
    monkeypatch.setenv("CASEDESK_TEST_IMAP_PASSWORD", "wrong")
    assert imap.poll_due(ctx) == 0
    status = imap.mailbox_status(ctx)
    assert not status[0].ok and "authentication" in (status[0].last_error or "").lower()
    assert "wrong" not in (status[0].last_error or "")
    monkeypatch.delenv("CASEDESK_TEST_IMAP_PASSWORD")
    ctx.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    imap.poll_due(ctx)
    assert "CASEDESK_TEST_IMAP_PASSWORD" in (imap.mailbox_status(ctx)[0].last_error or "")
