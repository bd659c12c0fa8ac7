"""``email_intake_per_s``: raw MIME messages parsed, threaded and stored per second through the
e-mail intake pipeline (``channels.email.inbound.take``: parser, rate limit, intake service,
participants, acknowledgement queued in the outbox), on a fresh database.

The stream is what a support mailbox sees: new requests from many customers (a third with an
HTML alternative, some with a small attachment), replies naming the previous message in
In-Reply-To, and out-of-office answers to casedesk's acknowledgements. Messages are built before
the clock starts. Several threads take mail at once, as the SMTP listener does with concurrent
sessions, and on PostgreSQL two processes do (as two listeners or workers would: a 2-core
machine runs Python code in two processes at once, not in two threads of one); each thread owns
its senders, so a reply never overtakes the message it answers.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from casedesk.channels.email import inbound
from casedesk.clock import SystemClock
from casedesk.config import Settings, parse_config
from casedesk.context import Context
from casedesk.db.session import Database

MESSAGES = 3000
SENDERS = 600
PROCESSES = {"sqlite": 1, "postgresql": 2}
THREADS = {"sqlite": 2, "postgresql": 4}
CONFIG = """\
[email]
addresses = ["support@bench.example"]
outbound = { host = "127.0.0.1", port = 2525, from = "support@bench.example" }
rate_limit = { messages = 1000, per = "1h" }
"""
_TEXT = (
    "Hello,\n\nafter the last update I cannot log in to my account any more. The page says my "
    "password is wrong, but it worked yesterday. I tried resetting it twice.\n\nThanks,\n"
)
_HTML = (
    "<html><body><p>Hello,</p><p>after the <b>last update</b> I cannot log in.</p></body></html>"
)


def _message(i: int, sender: int, *, reply_to: str | None, auto: bool) -> tuple[str, bytes]:
    msg = EmailMessage()
    ident = f"bench-{i}@client{sender % 37}.example"
    msg["From"] = f"Customer {sender} <customer{sender}@client{sender % 37}.example>"
    msg["To"] = "Support <support@bench.example>"
    msg["Subject"] = ("Automatic reply: " if auto else "Re: " if reply_to else "") + (
        f"Cannot log in after update ({sender})"
    )
    msg["Date"] = formatdate(1767600000 + i, usegmt=True)
    msg["Message-ID"] = f"<{ident}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
        msg.set_content("I am out of the office until Monday.")
        return ident, msg.as_bytes()
    quoted = "\nOn Mon, 5 Jan 2026, Support wrote:\n> Could you tell us more?\n" if reply_to else ""
    msg.set_content(_TEXT + quoted)
    if i % 3 == 0:
        msg.add_alternative(_HTML, subtype="html")
    if i % 10 == 0:
        msg.add_attachment(
            b"%PDF-1.4 " + bytes(2000),
            maintype="application",
            subtype="pdf",
            filename="screenshot.pdf",
        )
    return ident, msg.as_bytes()


def corpus(count: int = MESSAGES, senders: int = SENDERS, seed: int = 11) -> list[list[bytes]]:
    """Messages per sender, in the order they must arrive."""
    rng = random.Random(seed)
    streams: list[list[bytes]] = [[] for _ in range(senders)]
    last: dict[int, str] = {}
    for i in range(count):
        sender = rng.randrange(senders)
        previous = last.get(sender)
        roll = rng.random()
        auto = previous is not None and roll < 0.1
        reply = previous if previous is not None and roll < 0.45 else None
        ident, raw = _message(i, sender, reply_to=reply, auto=auto)
        if not auto:
            last[sender] = ident
        streams[sender].append(raw)
    return streams


def _intake_process(
    url: str, threads: int, streams: list[list[bytes]], ready: Any, go: Any, results: Any
) -> None:
    """One intake process (as one SMTP listener or worker would be): warms up, waits for the
    start signal, takes its share of the mail on ``threads`` threads, reports the outcomes."""
    ctx = Context(
        settings=Settings(database_url=url),
        config=parse_config(CONFIG, "bench.toml"),
        db=Database(url, pool_size=threads + 2),
        clock=SystemClock(),
    )
    inbound.take(ctx, _message(-1 - os.getpid(), 0, reply_to=None, auto=False)[1], source="bench")
    work = [[raw for stream in streams[t::threads] for raw in stream] for t in range(threads)]
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def run(part: list[bytes]) -> None:
        seen: dict[str, int] = {}
        for raw in part:
            outcome = inbound.take(ctx, raw, source="bench").outcome
            seen[outcome] = seen.get(outcome, 0) + 1
        with lock:
            for k, v in seen.items():
                outcomes[k] = outcomes.get(k, 0) + v

    workers = [threading.Thread(target=run, args=(part,)) for part in work]
    ready.release()
    go.wait()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ctx.db.dispose()
    results.put(outcomes)


def email_intake_per_s(url: str, kind: str) -> dict[str, Any]:
    """Several intake processes at once on PostgreSQL (any number may run against it), one on
    SQLite (one writer at a time); every sender's mail stays in one thread of one process, in
    order, so a reply never overtakes the message it answers."""
    processes, threads = PROCESSES[kind], THREADS[kind]
    streams = corpus()
    shares = [streams[p::processes] for p in range(processes)]
    mp = multiprocessing.get_context("spawn")
    ready, go, results = mp.Semaphore(0), mp.Event(), mp.Queue()
    procs = [
        mp.Process(target=_intake_process, args=(url, threads, share, ready, go, results))
        for share in shares
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    outcomes: dict[str, int] = {}
    for _ in procs:
        for k, v in results.get().items():
            outcomes[k] = outcomes.get(k, 0) + v
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    total = sum(len(stream) for share in shares for stream in share)
    return {
        "email_intake_per_s": round(total / elapsed, 1),
        "email_intake_messages": total,
        "email_intake_processes": processes,
        "email_intake_threads": threads,
        "email_intake_outcomes": dict(sorted(outcomes.items())),
    }
