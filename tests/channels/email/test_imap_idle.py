"""IMAP IDLE against a real Dovecot on loopback: mail arriving while a watcher idles becomes a
case within seconds, one watcher per mailbox holds the lease (a second waits, takes over when
it is given back or runs out), watchers stop when asked, record connection errors, fall back
to polling without IDLE, and the worker starts them; ``idle`` in the config."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from imap_tools.mailbox import BaseMailBox
from sqlalchemy import select, update

from casedesk import worker
from casedesk.channels.email import imap, imap_idle
from casedesk.config import AppConfig, ConfigError, parse_config
from casedesk.config_email import ImapMailbox, email_settings
from casedesk.context import Context
from casedesk.db.session import Database
from tests.channels.email import dovecot, test_imap
from tests.channels.email.conftest import counts, mime
from tests.channels.email.test_imap import imap_config
from tests.conftest import _pg_admin
from tests.procs import free_port

# The Dovecot server and its mailbox users, shared with the poller's tests.
imap_server = test_imap.imap_server
mailbox_user = test_imap.mailbox_user

DEADLINE = 8.0  # seconds; IDLE takes mail in about one, polls here come every 30 s


@pytest.fixture
def config(imap_server: dovecot.Dovecot, mailbox_user: str, sink_port: int) -> AppConfig:
    """One plain-IMAP mailbox with ``interval = "30s"`` and ``idle`` left at its default."""
    return imap_config(imap_server, mailbox_user, sink_port, tls=False)


def mailbox_of(ctx: Context) -> ImapMailbox:
    [mailbox] = email_settings(ctx.config).imap
    return mailbox


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@contextmanager
def watching(ctx: Context, **kw: float) -> Iterator[imap_idle.Watcher]:
    """A started watcher, stopped and joined afterwards."""
    stop = threading.Event()
    watcher = imap_idle.Watcher(ctx, mailbox_of(ctx), stop, **kw)
    watcher.start()
    try:
        yield watcher
    finally:
        stop.set()
        watcher.join(10)


def next_poll_at(ctx: Context, mailbox: ImapMailbox) -> datetime | None:
    with ctx.db.read() as s:
        return s.scalar(select(imap.T.c.next_poll_at).where(imap.T.c.key == mailbox.key))


def other_worker(ctx: Context) -> Context:
    """The same database and config as another worker process would see them."""
    return Context(ctx.settings, ctx.config, Database(ctx.settings.database_url), ctx.clock)


def test_mail_arriving_during_idle_becomes_a_case_within_seconds(
    ctx: Context, imap_server: dovecot.Dovecot, mailbox_user: str
) -> None:
    imap_server.deliver(mailbox_user, mime(subject="Before"))
    # No recheck after a round (see ``Watcher._idle``): only IDLE's news can take the mail.
    with watching(ctx, recheck=3600) as watcher:
        wait_for(lambda: watcher.state == "idling", "the watcher idles")
        assert counts(ctx)[0] == 1  # what was unseen at connect was taken first
        imap_server.deliver(mailbox_user, mime(subject="During"))
        wait_for(lambda: counts(ctx)[0] == 2, "the new message became a case")
        imap_server.deliver(mailbox_user, mime(subject="And again"))  # IDLE was re-entered
        wait_for(lambda: counts(ctx)[0] == 3, "the third message became a case")
        wait_for(lambda: imap_server.unseen(mailbox_user) == 0, "all flagged seen")
    [status] = imap.mailbox_status(ctx)
    assert status.ok and status.taken == 3


def test_mail_stored_just_after_a_round_is_taken_by_the_recheck(
    ctx: Context,
    imap_server: dovecot.Dovecot,
    mailbox_user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The race the recheck is for: a message stored after a round's search and before IDLE
    # begins, which Dovecot may leave unannounced for half a minute.
    take_all = imap_idle.Watcher._take_all
    rounds: list[int] = []

    def then_deliver(self: imap_idle.Watcher, box: BaseMailBox) -> None:
        take_all(self, box)
        rounds.append(1)
        if len(rounds) == 1:
            imap_server.deliver(mailbox_user, mime(subject="Right after the round"))

    monkeypatch.setattr(imap_idle.Watcher, "_take_all", then_deliver)
    with watching(ctx):
        wait_for(lambda: counts(ctx)[0] == 1, "the message became a case")
    assert len(rounds) >= 2


def test_a_second_holder_waits_while_the_lease_is_held(
    ctx: Context, imap_server: dovecot.Dovecot, mailbox_user: str
) -> None:
    second = other_worker(ctx)
    try:
        with watching(ctx) as first:
            wait_for(lambda: first.state == "idling", "the first watcher idles")
            with watching(second, renew=0.05) as waiting:
                wait_for(lambda: waiting.lease_attempts >= 3, "the second one tried thrice")
                assert waiting.state == "waiting" and not waiting.holding
                assert not imap.claim(second, mailbox_of(second))  # nor may a poll start
                assert first.state == "idling"
                first.stop.set()  # the first one stops and gives the lease back
                first.join(10)
                wait_for(lambda: waiting.state == "idling", "the second one took over")
                imap_server.deliver(mailbox_user, mime(subject="To the new holder"))
                wait_for(lambda: counts(ctx)[0] == 1, "the new holder took the message")
    finally:
        second.db.dispose()


def test_a_database_error_on_the_lease_is_retried_within_seconds(
    ctx: Context, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The watcher's database is not there yet (its first lease claims fail with a real
    # connection error), then appears: the watcher must take the lease within seconds, not
    # after a whole renewal period (30 s by default).
    if ctx.db.is_postgresql:
        name = f"cdt_later_{os.getpid()}_{time.monotonic_ns()}"
        url = ctx.settings.database_url.rsplit("/", 1)[0] + "/" + name

        def appear() -> None:
            _pg_admin(f"CREATE DATABASE {name} TEMPLATE {request.getfixturevalue('pg_template')}")

        def vanish() -> None:
            _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        target = tmp_path / "later" / "casedesk.db"
        url = f"sqlite:///{target}"

        def appear() -> None:
            target.parent.mkdir()
            shutil.copy(request.getfixturevalue("sqlite_template"), target)

        def vanish() -> None:
            pass

    later = Context(ctx.settings, ctx.config, Database(url), ctx.clock)
    try:
        with watching(later) as watcher:
            wait_for(lambda: watcher.state == "waiting", "the watcher failed to take the lease")
            appear()
            wait_for(lambda: watcher.state == "idling", "the watcher took the lease")
    finally:
        later.db.dispose()
        vanish()


def test_a_dead_holders_lease_runs_out_and_a_stalled_holder_steps_down(
    ctx: Context, imap_server: dovecot.Dovecot, mailbox_user: str
) -> None:
    mailbox = mailbox_of(ctx)
    # A holder that took the lease and died: nobody renews it.
    assert imap.claim_until(ctx, mailbox, imap_idle.LEASE) is not None
    with watching(ctx, renew=0.05) as watcher:
        wait_for(lambda: watcher.lease_attempts >= 3, "the watcher tried thrice")
        assert watcher.state == "waiting"
        ctx.clock.advance(timedelta(seconds=imap_idle.LEASE + 1))  # type: ignore[attr-defined]
        wait_for(lambda: watcher.state == "idling", "the watcher took the lapsed lease")
        # Another worker claimed the row behind its back (as after a long stall): the watcher
        # finds at its next renewal that the row is no longer what it wrote, and steps down.
        with ctx.db.write() as s:
            s.execute(
                update(imap.T)
                .where(imap.T.c.key == mailbox.key)
                .values(next_poll_at=ctx.clock.now() + timedelta(minutes=5))
            )
        wait_for(lambda: watcher.state == "waiting", "the watcher stepped down")
        assert not watcher.holding


def test_the_watcher_stops_when_asked_and_gives_the_lease_back(
    ctx: Context, imap_server: dovecot.Dovecot, mailbox_user: str
) -> None:
    mailbox = mailbox_of(ctx)
    with watching(ctx) as watcher:
        wait_for(lambda: watcher.state == "idling", "the watcher idles")
        assert mailbox.key in imap_idle.watched()
        assert not imap.claim(ctx, mailbox)
        watcher.stop.set()
        watcher.join(5)  # IDLE looks at the stop event every second
        assert not watcher.thread.is_alive() and watcher.state == "stopped"
    assert mailbox.key not in imap_idle.watched()
    assert (
        next_poll_at(ctx, mailbox) == ctx.clock.now()
    )  # given back: a poll or another watcher may start now
    imap_server.deliver(mailbox_user, mime())
    # The poll pass of a process that watches the mailbox itself leaves it to its watcher.
    assert imap.poll_due(ctx, skip={mailbox.key}) == 0
    assert imap.poll_due(ctx) == 1


CLOSED_PORT = """
[[email.imap]]
host = "127.0.0.1"
port = {port}
tls = false
user = "{user}"
password_env = "CASEDESK_TEST_IMAP_PASSWORD"
interval = "30s"
"""


def test_a_connection_error_is_recorded_and_retried_with_backoff(
    ctx: Context, mailbox_user: str
) -> None:
    # Nothing listens on the port.
    ctx.config = parse_config(CLOSED_PORT.format(port=free_port(), user=mailbox_user))
    with watching(ctx, backoff=0.05) as watcher:
        wait_for(lambda: not imap.mailbox_status(ctx)[0].ok, "the error was recorded")
        error = imap.mailbox_status(ctx)[0].last_error or ""
        assert "ConnectionRefused" in error
        wait_for(lambda: watcher.state == "backoff", "the watcher backs off")
        assert watcher.holding  # it keeps the mailbox while it retries
        assert not imap.claim(ctx, mailbox_of(ctx))
    assert not watcher.thread.is_alive()


def test_without_idle_on_the_server_the_poll_pass_takes_over(
    ctx: Context,
    imap_server: dovecot.Dovecot,
    mailbox_user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap_idle, "supports_idle", lambda box: False)
    mailbox = mailbox_of(ctx)
    imap_server.deliver(mailbox_user, mime(subject="Before"))
    with watching(ctx) as watcher:
        watcher.join(DEADLINE)  # it polls once and ends
        assert not watcher.thread.is_alive() and watcher.state == "polling"
    assert counts(ctx)[0] == 1
    assert mailbox.key not in imap_idle.watched()
    assert imap.poll_due(ctx) == 0  # the row is set like after a poll: due in ``interval``
    imap_server.deliver(mailbox_user, mime(subject="Later"))
    ctx.clock.advance(timedelta(seconds=mailbox.interval))  # type: ignore[attr-defined]
    assert imap.poll_due(ctx, skip=imap_idle.watched()) == 1


def test_the_worker_starts_idle_and_its_poll_pass_leaves_the_mailbox_alone(
    ctx: Context, imap_server: dovecot.Dovecot, mailbox_user: str
) -> None:
    mailbox = mailbox_of(ctx)
    lease_end = ctx.clock.now() + timedelta(seconds=imap_idle.LEASE)
    stop = worker.start_in_thread(ctx, interval=0.05)
    try:
        wait_for(lambda: mailbox.key in imap_idle.watched(), "the worker started a watcher")
        # (Not ``claim`` here: before the watcher took the lease, that would poll instead.)
        wait_for(lambda: next_poll_at(ctx, mailbox) == lease_end, "the watcher took the lease")
        imap_server.deliver(mailbox_user, mime(subject="Via the worker"))
        # The clock stands still, so no poll comes due: only IDLE can take it.
        wait_for(lambda: counts(ctx)[0] == 1, "the message became a case")
    finally:
        stop.set()
    wait_for(lambda: mailbox.key not in imap_idle.watched(), "the watcher stopped")


@pytest.mark.parametrize(
    ("line", "idle", "problem"),
    [
        ("", True, None),
        ("idle = false", False, None),
        ('idle = "yes"', None, "give true or false"),
        ("idle = 1", None, "give true or false"),
    ],
)
def test_idle_in_the_config(line: str, idle: bool | None, problem: str | None) -> None:
    text = f"""[[email.imap]]
host = "imap.example.com"
user = "support"
password_env = "IMAP_PW"
{line}
"""
    if problem is None:
        [box] = email_settings(parse_config(text, "c.toml")).imap
        assert box.idle is idle
        return
    with pytest.raises(ConfigError) as error:
        parse_config(text, "c.toml")
    [found] = [p for p in error.value.problems if p.path == "email.imap[0].idle"]
    assert problem in found.message and (found.line, found.column) == (5, 1)
