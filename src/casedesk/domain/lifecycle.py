"""The case lifecycle as data: statuses, their categories, transitions and their guards.

A ``Workflow`` is built from the ``[workflow]`` config section. Every rule about which status a
case may move to, who may move it and what the move needs lives here, as plain functions over
plain values, so the same answer is given to the API, the console, the portal and the worker.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from casedesk.domain.errors import MissingRequirement, TransitionNotAllowed

CATEGORIES = ("new", "open", "pending", "solved", "closed")
ACTORS = ("customer", "agent", "lead", "admin", "system")
REQUIREMENTS = ("reason", "resolution")


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    by: frozenset[str]
    requires: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TransitionRequest:
    """What the caller supplied with a move; which parts are needed depends on the transition."""

    reason_code: str | None = None
    reason: str | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class Problem:
    """A workflow definition error: ``path`` locates it in the config, ``message`` explains it."""

    path: tuple[str | int, ...]
    message: str


@dataclass(frozen=True)
class Workflow:
    statuses: tuple[Status, ...]
    transitions: tuple[Transition, ...]
    hold_reasons: tuple[str, ...] = ()
    _by_id: dict[str, Status] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({s.id: s for s in self.statuses})

    @property
    def initial(self) -> str:
        """New cases start in the first status of category ``new``."""
        return next(s.id for s in self.statuses if s.category == "new")

    def status(self, status_id: str) -> Status:
        return self._by_id[status_id]

    def has_status(self, status_id: str) -> bool:
        return status_id in self._by_id

    def category(self, status_id: str) -> str:
        return self._by_id[status_id].category

    def ids_in(self, *categories: str) -> list[str]:
        return [s.id for s in self.statuses if s.category in categories]

    def allowed_targets(self, current: str, actor: str) -> list[str]:
        """Statuses ``actor`` may move a case in ``current`` to, in configured order."""
        seen: list[str] = []
        for t in self.transitions:
            if current in t.sources and actor in t.by and t.target not in seen:
                seen.append(t.target)
        return seen

    def find(self, current: str, target: str, actor: str) -> Transition | None:
        for t in self.transitions:
            if current in t.sources and t.target == target and actor in t.by:
                return t
        return None

    def check(
        self, current: str, target: str, actor: str, request: TransitionRequest
    ) -> Transition:
        """The transition taken, or an error saying what is allowed or what is missing."""
        if not self.has_status(target):
            raise TransitionNotAllowed(
                f"'{target}' is not a status of this workflow; allowed from '{current}': "
                f"{', '.join(self.allowed_targets(current, actor)) or 'none'}",
                allowed=self.allowed_targets(current, actor),
            )
        transition = self.find(current, target, actor)
        if transition is None:
            allowed = self.allowed_targets(current, actor)
            raise TransitionNotAllowed(
                f"The role '{actor}' may not move a case from '{current}' to '{target}'; "
                f"allowed: {', '.join(allowed) or 'none'}",
                allowed=allowed,
            )
        if "reason" in transition.requires:
            if not request.reason_code:
                raise MissingRequirement(
                    f"Moving to '{target}' needs a reason_code, one of: "
                    f"{', '.join(self.hold_reasons)}",
                    field="reason_code",
                )
            if self.hold_reasons and request.reason_code not in self.hold_reasons:
                raise MissingRequirement(
                    f"'{request.reason_code}' is not a configured reason; use one of: "
                    f"{', '.join(self.hold_reasons)}",
                    field="reason_code",
                )
            if not (request.reason or "").strip():
                raise MissingRequirement(
                    f"Moving to '{target}' needs a reason: a short text saying what the case "
                    "waits for",
                    field="reason",
                )
        if "resolution" in transition.requires and not (request.resolution or "").strip():
            raise MissingRequirement(
                f"Moving to '{target}' needs a resolution note saying how the issue was fixed",
                field="resolution",
            )
        return transition

    def reopen_target(self, current: str) -> str | None:
        """Where a customer reply moves a solved case: the first transition a customer may take
        from it into an active status. ``None`` when the case is not solved."""
        if self.category(current) != "solved":
            return None
        for target in self.allowed_targets(current, "customer"):
            if self.category(target) in ("new", "open"):
                return target
        return None

    def acknowledge_target(self, current: str, actor: str = "customer") -> str | None:
        """Where accepting a resolution moves a solved case: its closed-category target."""
        if self.category(current) != "solved":
            return None
        for target in self.allowed_targets(current, actor):
            if self.category(target) == "closed":
                return target
        return None


def validate(workflow: Workflow) -> list[Problem]:
    """Every reason the workflow cannot run, each located by its config path."""
    problems: list[Problem] = []
    ids: set[str] = set()
    for i, s in enumerate(workflow.statuses):
        if s.id in ids:
            problems.append(Problem(("statuses", i, "id"), f"status '{s.id}' is defined twice"))
        ids.add(s.id)
        if s.category not in CATEGORIES:
            problems.append(
                Problem(
                    ("statuses", i, "category"),
                    f"status '{s.id}' has category '{s.category}'; use one of "
                    f"{', '.join(CATEGORIES)}",
                )
            )
    present = {s.category for s in workflow.statuses}
    for cat in ("new", "solved", "closed"):
        if cat not in present:
            problems.append(
                Problem(("statuses",), f"no status has category '{cat}'; every workflow needs one")
            )
    for i, t in enumerate(workflow.transitions):
        for src in sorted(t.sources):
            if src not in ids:
                problems.append(
                    Problem(("transitions", i, "from"), f"unknown status '{src}' in 'from'")
                )
        if t.target not in ids:
            problems.append(
                Problem(("transitions", i, "to"), f"unknown status '{t.target}' in 'to'")
            )
        for who in sorted(t.by):
            if who not in ACTORS:
                problems.append(
                    Problem(
                        ("transitions", i, "by"),
                        f"unknown actor '{who}'; use {', '.join(ACTORS)}",
                    )
                )
        for req in sorted(t.requires):
            if req not in REQUIREMENTS:
                problems.append(
                    Problem(
                        ("transitions", i, "requires"),
                        f"unknown requirement '{req}'; use {', '.join(REQUIREMENTS)}",
                    )
                )
        if "reason" in t.requires and not workflow.hold_reasons:
            problems.append(
                Problem(("hold_reasons",), "a transition requires a reason but no hold_reasons")
            )
    if problems:
        return problems
    for status_id in sorted(ids - reachable(workflow)):
        index = next(i for i, s in enumerate(workflow.statuses) if s.id == status_id)
        problems.append(
            Problem(
                ("statuses", index, "id"),
                f"status '{status_id}' cannot be reached from '{workflow.initial}' by any "
                "transition; add a transition into it or remove it",
            )
        )
    return problems


def reachable(workflow: Workflow) -> set[str]:
    """Statuses reachable from the initial status through any transition."""
    start = workflow.initial
    seen = {start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for t in workflow.transitions:
            if current in t.sources and t.target not in seen:
                seen.add(t.target)
                queue.append(t.target)
    return seen


DEFAULT_HOLD_REASONS = ("awaiting_customer", "third_party", "internal")


def default_workflow() -> Workflow:
    staff = frozenset({"agent", "lead", "admin"})
    return Workflow(
        statuses=(
            Status("open", "Open", "new"),
            Status("in_progress", "In Progress", "open"),
            Status("on_hold", "On Hold", "pending"),
            Status("resolved", "Resolved", "solved"),
            Status("closed", "Closed", "closed"),
        ),
        transitions=(
            Transition(frozenset({"open", "on_hold"}), "in_progress", staff),
            Transition(frozenset({"open", "in_progress"}), "on_hold", staff, frozenset({"reason"})),
            Transition(
                frozenset({"open", "in_progress", "on_hold"}),
                "resolved",
                staff,
                frozenset({"resolution"}),
            ),
            Transition(
                frozenset({"resolved"}),
                "closed",
                frozenset({"customer", "lead", "admin", "system"}),
            ),
            Transition(
                frozenset({"resolved"}),
                "in_progress",
                frozenset({"customer", "agent", "lead", "admin"}),
            ),
        ),
        hold_reasons=DEFAULT_HOLD_REASONS,
    )
