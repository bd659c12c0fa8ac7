"""SLA clocks of generated cases under the built-in policies (24x7): first response and
resolution (cycle 1), paused while On Hold, with the breach events the worker would have
written. Approximate by design (no escalations, no second cycle after a reopen): enough for the
SLA report and the sweep to have realistic rows to read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from casedesk.datagen_content import Step
from casedesk.datagen_times import iso_z, opt
from casedesk.domain.case_fields import PRIORITIES

# (first response, resolution) targets of the built-in SLA policies, by priority rank.
TARGETS = ((86400, 10 * 86400), (8 * 3600, 5 * 86400), (4 * 3600, 86400), (3600, 8 * 3600))


@dataclass
class _Breach:
    t: int
    kind: str
    data: dict[str, Any]


def merged(steps: list[Step], breaches: list[_Breach]) -> list[Any]:
    return sorted([*steps, *breaches], key=lambda s: s.t)


def sla_clocks(
    created: int, steps: list[Step], fr_target: int, res_target: int, now: int
) -> tuple[list[Callable[..., tuple[Any, ...]]], list[_Breach]]:
    """The first-response and resolution clocks (cycle 1) of a case and its breach events."""
    first = next((s.t for s in steps if s.kind == "agent_msg"), None)
    resolved = next((s.t for s in steps if s.kind == "status" and s.to == "resolved"), None)
    pauses: list[tuple[int, int | None, str | None]] = []
    for s in steps:
        if resolved is not None and s.t > resolved:
            break
        if s.kind == "status" and s.to == "on_hold":
            pauses.append((s.t, None, s.reason_code))
        elif s.kind == "status" and pauses and pauses[-1][1] is None:
            pauses[-1] = (pauses[-1][0], s.t, pauses[-1][2])
    clocks, breaches = [], []
    for metric, target, met, paused in (
        ("first_response", fr_target, first, []),
        ("resolution", res_target, resolved, pauses),
    ):
        held = sum((b or now) - a for a, b, _ in paused)
        ongoing_pause = bool(paused) and paused[-1][1] is None and met is None
        end = met if met is not None else now
        elapsed = end - created - held
        due = None if ongoing_pause else created + target + held
        breached_at = created + target + held if elapsed > target else None
        state = "met" if met is not None else ("paused" if ongoing_pause else "running")
        policy = f"default-{_PRIORITY_OF[(fr_target, res_target)]}"
        fired: dict[str, Any] = {}
        if breached_at is not None:
            fired["breach"] = {"at": iso_z(breached_at), "kind": "breach"}
            breaches.append(
                _Breach(
                    breached_at,
                    "breach",
                    {
                        "metric": metric,
                        "cycle": 1,
                        "policy": policy,
                        "checkpoint": "breach",
                        "due_at": iso_z(breached_at),
                        "elapsed_seconds": target,
                    },
                )
            )
        next_check = due if state == "running" and breached_at is None else None
        pause_json = json.dumps(
            [
                {
                    "start": iso_z(a),
                    "end": iso_z(b) if b else None,
                    "status": "on_hold",
                    "reason_code": r,
                }
                for a, b, r in paused
            ]
        )

        def row(
            ts: Callable[[int], str],
            metric: str = metric,
            target: int = target,
            due: int | None = due,
            next_check: int | None = next_check,
            met: int | None = met,
            breached_at: int | None = breached_at,
            over: int | None = (elapsed - target) if breached_at is not None and met else None,
            pause_json: str = pause_json,
            fired: dict[str, Any] = fired,
            state: str = state,
            policy: str = policy,
        ) -> tuple[Any, ...]:
            return (
                metric,
                1,
                policy,
                "24x7",
                target,
                ts(created),
                state,
                opt(ts, due),
                opt(ts, next_check),
                opt(ts, met),
                "reply" if metric == "first_response" and met else None,
                opt(ts, breached_at),
                over,
                pause_json,
                json.dumps(fired),
                "[]",
                ts(met or created),
            )

        clocks.append(row)
    return clocks, [b for b in breaches if b.t <= now]


_PRIORITY_OF = {targets: PRIORITIES[i] for i, targets in enumerate(TARGETS)}
