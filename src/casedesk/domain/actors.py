"""Who did something: a user, a customer, the system or a channel, and through what."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "customer" | "system" | "channel"
    label: str
    id: int | None = None
    role: str | None = None  # for users: "admin" | "lead" | "agent"
    origin: str = "internal"  # e.g. "token:ci-bot", "session", "smtp", "worker"

    @property
    def workflow_role(self) -> str:
        """The name the workflow's ``by`` lists use for this actor."""
        if self.kind == "user" and self.role:
            return self.role
        return "customer" if self.kind == "customer" else "system"

    @property
    def ref(self) -> str | None:
        return None if self.id is None else str(self.id)


SYSTEM = Actor(kind="system", label="system", origin="worker")
