"""Rows of one chunk of generated cases: the case, its tags, messages, audit events (hashed
into the case's chain, as ``services.audit.record`` would) and SLA clocks; then the seals that
continue the global chain. Times are whole Unix seconds; ``ts`` formats them for the database.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from casedesk.datagen_content import DOMAINS, FIRST, LAST, Topic, life
from casedesk.datagen_sla import TARGETS, merged, sla_clocks
from casedesk.datagen_times import iso_z, opt
from casedesk.domain import audit_chain
from casedesk.domain.case_fields import PRIORITIES

CATEGORY = {
    "open": "new",
    "in_progress": "open",
    "on_hold": "pending",
    "resolved": "solved",
    "closed": "closed",
}
CUSTOMER_CHANNELS = ("email", "portal", "chat")
ActorRef = tuple[str, str | None, str, str]  # kind, id, label, origin


@dataclass
class Ids:
    """The next free key of each table; advanced as rows are made."""

    case: int
    customer: int
    message: int
    event: int
    clock: int


@dataclass
class Head:
    seq: int
    hash: str


def customer_name(number: int) -> tuple[str, str]:
    """The name and e-mail of generated customer ``number`` (derived, so not kept in memory)."""
    first, last = FIRST[number * 7 % len(FIRST)], LAST[number * 13 % len(LAST)]
    email = f"{first}.{last}.{number}@{DOMAINS[number % len(DOMAINS)]}".lower()
    return f"{first} {last}", email


@dataclass(frozen=True)
class Staff:
    teams: dict[str, int]  # name -> id
    agents: dict[str, list[tuple[int, str]]]  # team name -> [(user id, e-mail)]


@dataclass
class _State:
    """Where a generated case stands after the steps so far."""

    status: str = "open"
    first: int | None = None
    resolved: int | None = None
    closed: int | None = None
    reopen: int = 0


@dataclass
class CaseRows:
    ts: Callable[[int], str]
    ids: Ids
    staff: Staff
    now: int
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    clocks: list[tuple[Any, ...]] = field(default_factory=list)
    seals: list[tuple[Any, ...]] = field(default_factory=list)
    hashes: list[tuple[int, str]] = field(default_factory=list)

    def add_customer(self, rng: random.Random, created: int) -> None:
        number = self.ids.customer
        self.ids.customer += 1
        name, email = customer_name(number)
        phone = f"+4420{7000000 + number % 9000000:07d}" if rng.random() < 0.4 else None
        ref = f"LOY-{number:08d}"
        self.customers.append((number, name, email, phone, ref, self.ts(created)))
        chain = _Chain(self, None, f"customer:{number}")
        chain.add(
            created,
            "customer.created",
            ("system", None, "datagen", "cli"),
            {"email": email, "phone": phone, "external_ref": ref},
        )

    def add_case(
        self,
        rng: random.Random,
        created: int,
        topic: Topic,
        customer: int,
        *,
        subject: str,
        description: str,
        channel: str,
        priority: int,
        tags: list[str],
        assigned: bool,
    ) -> None:
        number = self.ids.case
        self.ids.case += 1
        team = topic.team
        agent_id, agent_email = rng.choice(self.staff.agents[team])
        assignee = agent_id if assigned else None
        name, email = customer_name(customer)
        agent = ("user", str(agent_id), agent_email, "console")
        cust = ("customer", str(customer), email, channel)
        opener = cust if channel in CUSTOMER_CHANNELS else agent
        chain = _Chain(self, number, f"case:{number}")
        chain.add(
            created,
            "case.created",
            opener,
            {
                "subject": subject,
                "channel": channel,
                "priority": PRIORITIES[priority],
                "status": "open",
                "category": topic.category,
                "tags": tags,
                "customer_id": customer,
                "team": team,
                "assignee": agent_email if assigned else None,
            },
        )
        last_customer = created if opener is cust else None
        if opener is cust:
            self._message(chain, created, "customer", customer, name, channel, description, cust)
        steps = life(rng, created, self.now, priority, topic.category)
        fr_target, res_target = TARGETS[priority]
        clocks, breaches = sla_clocks(created, steps, fr_target, res_target, self.now)
        state = _State()
        hold: tuple[str | None, str | None] = (None, None)
        resolution = None
        for step in merged(steps, breaches):
            if step.kind == "breach":
                chain.add(step.t, "sla.breached", ("system", None, "system", "worker"), step.data)
            elif step.kind == "agent_msg":
                self._message(
                    chain, step.t, "agent", agent_id, agent_email, channel, step.body, agent
                )
                state.first = state.first or step.t
            elif step.kind == "customer_msg":
                self._message(chain, step.t, "customer", customer, name, channel, step.body, cust)
                last_customer = step.t
            else:
                who = {"customer": cust, "system": ("system", None, "system", "worker")}.get(
                    step.by, agent
                )
                before = state.status
                chain.add(
                    step.t,
                    "case.status_changed",
                    who,
                    {
                        "from": before,
                        "to": step.to,
                        "reason_code": step.reason_code,
                        "reason": step.reason,
                        "resolution": step.resolution,
                    },
                )
                state.status = step.to
                if step.to == "on_hold":
                    hold = (step.reason_code, step.reason)
                elif step.to == "resolved":
                    state.resolved, resolution = step.t, step.resolution
                elif step.to == "closed":
                    state.closed = step.t
                elif before == "resolved":
                    state.reopen += 1
                    state.resolved = None
                if step.to != "on_hold":
                    hold = (None, None)
        status = state.status
        ts = self.ts
        self.cases.append(
            (
                number,
                subject,
                description,
                channel,
                customer,
                priority,
                topic.category,
                "{}",
                self.staff.teams[team],
                assignee,
                status,
                CATEGORY[status],
                hold[0],
                hold[1],
                resolution if status in ("resolved", "closed") else None,
                ts(created),
                ts(chain.last_t),
                opt(ts, state.first),
                opt(ts, state.resolved),
                opt(ts, state.closed),
                opt(ts, last_customer),
                state.reopen,
            )
        )
        self.tags.extend((number, tag) for tag in tags)
        for clock in clocks:
            self.clocks.append((self.ids.clock, number, *clock(ts)))
            self.ids.clock += 1

    def _message(
        self,
        chain: _Chain,
        t: int,
        kind: str,
        author: int,
        name: str,
        channel: str,
        body: str,
        actor: ActorRef,
    ) -> None:
        mid = self.ids.message
        self.ids.message += 1
        user = author if kind == "agent" else None
        customer = author if kind == "customer" else None
        self.messages.append(
            (mid, chain.number, "public", kind, user, customer, name, channel, body, self.ts(t))
        )
        chain.add(
            t,
            "message.added",
            actor,
            {
                "message_id": mid,
                "visibility": "public",
                "channel": channel,
                "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                "attachments": [],
            },
        )


class _Chain:
    """The audit events of one case, hashed one after another."""

    def __init__(self, rows: CaseRows, number: int | None, scope: str) -> None:
        self.rows, self.number, self.scope = rows, number, scope
        self.prev, self.seq, self.last_t = audit_chain.GENESIS, 0, 0

    def add(self, t: int, action: str, actor: ActorRef, data: dict[str, Any]) -> None:
        self.seq += 1
        kind, actor_id, label, origin = actor
        data_json = _dumps(data)
        digest = hashlib.sha256(
            f"{self.prev}\n{_canonical(self, t, action, actor, data_json)}".encode()
        ).hexdigest()
        event_id = self.rows.ids.event
        self.rows.ids.event += 1
        self.rows.events.append(
            (
                event_id,
                self.scope,
                self.seq,
                self.number,
                action,
                kind,
                actor_id,
                label,
                origin,
                data_json,
                self.rows.ts(t),
                self.prev,
                digest,
            )
        )
        self.rows.hashes.append((event_id, digest))
        self.prev, self.last_t = digest, max(self.last_t, t)


_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _canonical(chain: _Chain, t: int, action: str, actor: ActorRef, data_json: str) -> str:
    """``audit_chain.canonical`` of the event, written out (keys in sorted order) instead of
    encoding a dict: the generator's hottest line. Every string here but ``data`` is plain
    ASCII without quotes, so JSON encoding is the string in quotes; tests verify the chains."""
    kind, actor_id, label, origin = actor
    aid = "null" if actor_id is None else f'"{actor_id}"'
    number = "null" if chain.number is None else chain.number
    return (
        f'{{"action":"{action}","actor_id":{aid},"actor_kind":"{kind}",'
        f'"actor_label":"{label}","case_number":{number},"data":{data_json},'
        f'"occurred_at":"{iso_z(t)}","origin":"{origin}","scope":"{chain.scope}",'
        f'"seq":{chain.seq}}}'
    )


def chain_seals(rows: CaseRows, head: Head, sealed_at: str) -> Head:
    """Seal this chunk's events in id order after ``head``; returns the new head."""
    seq, prev = head.seq, head.hash
    for event_id, event_hash in rows.hashes:
        seq += 1
        new = audit_chain.seal_hash(prev, event_hash)
        rows.seals.append((seq, event_id, event_hash, prev, new, sealed_at))
        prev = new
    return Head(seq, prev)
