"""Request dependencies: the process context and the authenticated principal with its role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, Response
from pydantic import BaseModel

from casedesk.context import Context
from casedesk.domain.actors import Actor
from casedesk.services import users


# Dependencies without I/O are ``async`` so FastAPI does not hop to a worker thread for them.
async def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


@dataclass(frozen=True)
class Principal:
    user: users.Identity
    actor: Actor


def principal(request: Request, ctx: Context = Depends(context)) -> Principal:
    """The user behind ``Authorization: Bearer <token>``; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Send an API token as 'Authorization: Bearer <token>'")
    found = users.authenticate_token(ctx.db, token.strip(), now=ctx.clock.now())
    if found is None:
        raise HTTPException(401, "This API token is unknown or revoked")
    return Principal(found, users.user_actor(found, origin=f"token:{found.token_label}"))


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only users whose role is in ``roles``."""

    async def check(p: Principal = Depends(principal)) -> Principal:
        if p.user.role not in roles:
            raise HTTPException(
                403, f"This needs the role {' or '.join(roles)}; you are {p.user.role}"
            )
        return p

    return check


STAFF = ("admin", "lead", "agent")
staff = require(*STAFF)
leads = require("admin", "lead")
admins = require("admin")


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Serialise a response model once, here. Returning a ``Response`` from a sync endpoint
    spares FastAPI a second validation pass and a trip to the thread pool; the route's
    ``response_model`` still documents the shape."""
    return Response(model.model_dump_json(), status, headers, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
