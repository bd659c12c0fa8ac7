"""Waking the sockets that watch a case when a message is written on it, in any process.

A socket (a chat visitor, an agent's live stream) ``watch``-es a case and sleeps on an
``asyncio.Event``. A wake-up carries no message: the socket reads the case's messages newer
than the last one it sent, so a doubled, late or lost wake-up never duplicates or drops a
message (per case, message ids are written in commit order: each write locks the case row).

Where wake-ups come from:

- ``announce`` after a write in this process (the chat socket after a visitor's message);
- on PostgreSQL, ``LISTEN casedesk_live``: a trigger (migration 0007) sends
  ``NOTIFY casedesk_live, '<case>'`` when a message on a chat case commits, whichever process
  or path wrote it (an agent's reply through the API or the console, an e-mail, the portal).
  One listener thread per process holds a dedicated connection; after it reconnects every
  watcher is woken to catch up;
- a poller that checks the newest message id of each watched case every ``poll_interval``
  seconds: on SQLite (no NOTIFY) it carries replies written by other requests and processes;
  on PostgreSQL it is the safety net and serves watched cases that are not chats.

Why not a hook in ``services.case_events.after_change``: the trigger sees every writer
without any service knowing about chat, and NOTIFY is transactional, so a reply that rolls back
is never announced.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from casedesk.db.session import Database
from casedesk.db.tables import Message

log = logging.getLogger("casedesk.chat")
CHANNEL = "casedesk_live"
HEALTH_CHECK_SECONDS = 30.0


@dataclass(eq=False)
class Watch:
    """One socket's interest in one case (moved when the chat continues in a follow-up)."""

    case_number: int
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.loop.call_soon_threadsafe(self.event.set)

    async def wait(self, timeout: float) -> bool:
        """True when woken within ``timeout`` seconds; the event is re-armed either way."""
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.event.clear()


class ChatBus:
    """The watchers of one process and the feeds that wake them."""

    def __init__(self, db: Database, *, poll_interval: float = 1.0) -> None:
        self.db = db
        self.poll_interval = poll_interval
        self._watches: dict[int, set[Watch]] = defaultdict(set)
        self._newest: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.listening = threading.Event()  # set while the PostgreSQL listener is connected

    # -- watchers ------------------------------------------------------------------------------

    def watch(self, case_number: int) -> Watch:
        """Watch a case from the running event loop."""
        w = Watch(case_number, asyncio.get_running_loop())
        with self._lock:
            self._watches[case_number].add(w)
        return w

    def move(self, w: Watch, case_number: int) -> None:
        with self._lock:
            self._forget(w)
            w.case_number = case_number
            self._watches[case_number].add(w)

    def unwatch(self, w: Watch) -> None:
        with self._lock:
            self._forget(w)

    def _forget(self, w: Watch) -> None:
        found = self._watches.get(w.case_number)
        if found is not None:
            found.discard(w)
            if not found:
                del self._watches[w.case_number]
                self._newest.pop(w.case_number, None)

    def watched(self) -> list[int]:
        with self._lock:
            return list(self._watches)

    def announce(self, case_number: int) -> None:
        """A message was written on ``case_number`` here: wake its local watchers now (other
        processes hear of chat cases from the trigger's NOTIFY, of the rest by polling)."""
        self._wake(case_number)

    def _wake(self, case_number: int) -> None:
        with self._lock:
            targets = list(self._watches.get(case_number, ()))
        for w in targets:
            w.wake()

    def _wake_all(self) -> None:
        with self._lock:
            targets = [w for ws in self._watches.values() for w in ws]
        for w in targets:
            w.wake()

    # -- feeds ---------------------------------------------------------------------------------

    def start(self) -> None:
        feeds = [("casedesk-chat-poll", self._poll_loop)]
        if self.db.is_postgresql:
            feeds.append(("casedesk-chat-listen", self._listen_loop))
        for name, target in feeds:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def poll_once(self) -> None:
        """Wake the watchers of every watched case whose newest message id grew."""
        cases = self.watched()
        for start in range(0, len(cases), 500):
            chunk = cases[start : start + 500]
            with self.db.query() as conn:
                rows = conn.execute(
                    select(Message.case_number, func.max(Message.id))
                    .where(Message.case_number.in_(chunk))
                    .group_by(Message.case_number)
                ).all()
            for number, newest in rows:
                with self._lock:
                    before = self._newest.get(number)
                    if number in self._watches:
                        self._newest[number] = newest
                # A case seen for the first time is woken too: a reply may have landed between
                # its socket's first read and this poll.
                if before is None or newest > before:
                    self._wake(number)

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll_once()
            except Exception:  # the next round tries again; a socket never dies of it
                log.exception("chat bus poll failed")

    def _listen_loop(self) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(False)
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    self._wake_all()  # catch up on anything written while not listening
                    backoff = 0.5
                    self._listen(conn)
            except Exception as exc:
                log.warning("chat bus listener lost its connection (%s); reconnecting", exc)
            finally:
                self.listening.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def _listen(self, conn: object) -> None:
        import psycopg

        assert isinstance(conn, psycopg.Connection)
        quiet = 0.0
        while not self._stop.is_set():
            got = False
            for note in conn.notifies(timeout=0.25):
                got = True
                if note.payload.isdigit():
                    self._wake(int(note.payload))
            quiet = 0.0 if got else quiet + 0.25
            if quiet >= HEALTH_CHECK_SECONDS:  # a silent connection may be a dead one
                conn.execute("SELECT 1")
                quiet = 0.0
