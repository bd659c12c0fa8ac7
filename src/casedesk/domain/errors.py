"""Domain exceptions, mapped to RFC 9457 problems by the web layer."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation a caller can act on."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class TransitionNotAllowed(Conflict):
    title = "Transition not allowed"


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class MissingRequirement(InvalidInput):
    title = "Transition requirement missing"
