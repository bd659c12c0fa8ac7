"""``casedesk bench generate``: a large realistic data set written with bulk inserts.

Loyalty-programme cases over the last year (more recently, fewer at weekends and at night,
plus this week's spike of "redemption failing after the catalogue sync"), across channels,
priorities, categories, tags, teams and agents; their messages; every status change, message
and SLA breach as an audit event with a valid hash chain per case, sealed into the global chain;
SLA clocks under the built-in policies. Rows go in with PostgreSQL ``COPY`` (psycopg) or SQLite
``executemany`` in large transactions, a chunk of cases at a time. Run it with no worker
writing to the same database (it continues the audit seal chain itself).
"""

from __future__ import annotations

import logging
import multiprocessing
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from casedesk.datagen_content import (
    CHANNELS,
    EXTRA_TAGS,
    PRIORITIES,
    SPIKE,
    TEAMS,
    TOPICS,
    fill,
    pick,
)
from casedesk.datagen_rows import CaseRows, Head, Ids, Staff, chain_seals
from casedesk.datagen_times import pg_ts, sqlite_ts
from casedesk.db.sla_tables import SlaClock
from casedesk.db.tables import AuditEvent, AuditSeal, Case, Customer, Message, Team, User
from casedesk.domain.actors import Actor
from casedesk.services import audit, users

if TYPE_CHECKING:
    from casedesk.context import Context
    from casedesk.db.session import Database

log = logging.getLogger("casedesk.datagen")
CHUNK = 10_000
PARALLEL_FROM = 30_000  # cases; below it one process is quicker
YEAR = 365 * 86400
AGENTS_PER_TEAM = 6
BULK = Actor(kind="system", label="datagen", origin="cli")
Progress = Callable[[int, int], None]


def generate(ctx: Context, *, cases: int, seed: int = 7, progress: Progress | None = None) -> int:
    """Write ``cases`` cases with messages, audit events and SLA clocks; returns how many."""
    db = ctx.db
    plan = Plan(
        cases=cases,
        seed=seed,
        now=int(ctx.clock.now().timestamp()),
        staff=_staff(ctx),
        ts=pg_ts if db.is_postgresql else sqlite_ts,
        ids=_ids_after_sealing(ctx),
        head=_seal_head(db),
    )
    done = 0
    with _writer(db, cases) as write:
        for rows in _produced(plan):
            write.chunk(rows)
            done += len(rows.cases)
            if progress and rows.cases:
                progress(done, cases)
        # The last chunk holds the highest keys (its ``ids`` are read after it was made).
        write.finish(rows.ids)
    return cases


@dataclass(frozen=True)
class Plan:
    cases: int
    seed: int
    now: int
    staff: Staff
    ts: Callable[[int], str]
    ids: Ids
    head: Head


def chunks(plan: Plan) -> Iterator[CaseRows]:
    """The data set, a chunk of rows at a time: customers first, then cases oldest first.
    Pure: the same plan gives the same rows."""
    rng = random.Random(plan.seed)
    ids, head, now = replace(plan.ids), plan.head, plan.now
    customers = max(1, plan.cases // 3)
    created = _creation_times(rng, plan.cases, now)
    recent = [i for i, t in enumerate(created) if t > now - 7 * 86400]
    spike = set(rng.sample(recent, min(len(recent), max(12, plan.cases // 2000))))
    first_customer = ids.customer
    for start in range(0, customers, CHUNK * 3):
        rows = CaseRows(plan.ts, ids, plan.staff, now)
        for _ in range(start, min(customers, start + CHUNK * 3)):
            rows.add_customer(rng, now - YEAR - rng.randrange(30 * 86400))
        head = chain_seals(rows, head, plan.ts(now))
        yield rows
    for start in range(0, plan.cases, CHUNK):
        rows = CaseRows(plan.ts, ids, plan.staff, now)
        for i in range(start, min(plan.cases, start + CHUNK)):
            topic = SPIKE if i in spike else _topic(rng)
            customer = first_customer + int(customers * rng.random() ** 1.6)
            rows.add_case(rng, created[i], topic, customer, **_fields(rng, topic))
        head = chain_seals(rows, head, plan.ts(now))
        yield rows


def _produced(plan: Plan) -> Iterator[CaseRows]:
    """``chunks(plan)``, made in a child process for large sets so generating (Python) and
    writing (the database) run side by side on two cores."""
    if plan.cases < PARALLEL_FROM:
        yield from chunks(plan)
        return
    mp = multiprocessing.get_context("fork")
    queue: Any = mp.Queue(maxsize=3)
    child = mp.Process(target=_produce, args=(plan, queue), daemon=True)
    child.start()
    try:
        while (rows := queue.get()) is not None:
            if isinstance(rows, BaseException):
                raise RuntimeError("generating the data set failed") from rows
            yield rows
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()


def _produce(plan: Plan, queue: Any) -> None:
    try:
        for rows in chunks(plan):
            rows.hashes.clear()  # only needed for the seals, already made
            queue.put(rows)
        queue.put(None)
    except BaseException as exc:  # the parent must not wait forever
        queue.put(exc)


def _ids_after_sealing(ctx: Context) -> Ids:
    while audit.seal(ctx.db, now=ctx.clock.now()) > 0:  # earlier events first, then ours
        pass
    return _next_ids(ctx.db)


def _staff(ctx: Context) -> Staff:
    """Teams and their agents, created through the services when missing."""
    db, now = ctx.db, ctx.clock.now()
    out: dict[str, list[tuple[int, str]]] = {}
    teams: dict[str, int] = {}
    for team in TEAMS:
        with db.read() as s:
            exists = s.scalar(select(Team.id).where(Team.name == team))
        if exists is None:
            exists = users.create_team(db, name=team, actor=BULK, now=now).id
        teams[team] = int(exists)
        out[team] = []
        for n in range(1, AGENTS_PER_TEAM + 1):
            email = f"{team}.agent{n}@staff.example"
            with db.read() as s:
                found = s.execute(select(User.id, User.email).where(User.email == email)).first()
            if found is None:
                user = users.create_user(
                    db,
                    email=email,
                    name=f"{team.title()} Agent {n}",
                    role="agent",
                    team=team,
                    actor=BULK,
                    now=now,
                )
                out[team].append((user.id, user.email))
            else:
                out[team].append((int(found[0]), str(found[1])))
    return Staff(teams, out)


def _next_ids(db: Database) -> Ids:
    with db.read() as s:
        top = s.execute(
            select(
                select(func.max(Case.number)).scalar_subquery(),
                select(func.max(Customer.id)).scalar_subquery(),
                select(func.max(Message.id)).scalar_subquery(),
                select(func.max(AuditEvent.id)).scalar_subquery(),
                select(func.max(SlaClock.id)).scalar_subquery(),
            )
        ).one()
    return Ids(*((v or 0) + 1 for v in top))


def _seal_head(db: Database) -> Head:
    with db.read() as s:
        row = s.execute(
            select(AuditSeal.seq, AuditSeal.hash).order_by(AuditSeal.seq.desc()).limit(1)
        ).first()
    return Head(int(row[0]), str(row[1])) if row else Head(0, "0" * 64)


def _creation_times(rng: random.Random, n: int, now: int) -> list[int]:
    """Sorted creation times over the last year: growing volume, quieter weekends and nights."""
    out = []
    start = now - YEAR
    for _ in range(n):
        while True:
            t = start + int(YEAR * rng.random() ** 0.8)  # more cases recently
            wd = datetime.fromtimestamp(t, UTC).weekday()
            hour = t % 86400 // 3600
            keep = (0.45 if wd >= 5 else 1.0) * (1.0 if 7 <= hour <= 20 else 0.25)
            if rng.random() < keep:
                break
        out.append(t)
    out.sort()
    return out


def _topic(rng: random.Random) -> Any:
    return rng.choices(TOPICS, [t.weight for t in TOPICS])[0]


def _fields(rng: random.Random, topic: Any) -> dict[str, Any]:
    tags = list(topic.tags)
    if rng.random() < 0.35:
        tags.append(rng.choice(EXTRA_TAGS))
    return {
        "subject": fill(rng, rng.choice(topic.subjects)),
        "description": " ".join(fill(rng, d) for d in rng.sample(topic.details, 2)),
        "channel": str(pick(rng, CHANNELS)),
        "priority": int(pick(rng, PRIORITIES)),  # type: ignore[call-overload]
        "tags": sorted(set(tags)),
        "assigned": rng.random() < 0.85,
    }


def _writer(db: Database, cases: int) -> Any:
    from casedesk import datagen_writers

    return datagen_writers.open_writer(db, cases=cases)


__all__ = ["generate"]
