"""``/api/v1/users``, ``/teams``, ``/tokens`` and ``/customers``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from casedesk.context import Context
from casedesk.db.tables import User
from casedesk.domain.errors import Forbidden
from casedesk.services import customers, users
from casedesk.web.deps import Principal, admins, context, principal, staff
from casedesk.web.schemas import (
    CustomerIn,
    CustomerOut,
    NewTokenOut,
    TeamIn,
    TeamOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)

router = APIRouter(prefix="/api/v1", tags=["people"])
Ctx = Annotated[Context, Depends(context)]
Admin = Annotated[Principal, Depends(admins)]
Staff = Annotated[Principal, Depends(staff)]


@router.get("/users", response_model=list[UserOut])
def list_users(ctx: Ctx, _: Staff) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(ctx.db)]


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(body: UserIn, ctx: Ctx, who: Admin) -> UserOut:
    user = users.create_user(
        ctx.db,
        email=body.email,
        name=body.name,
        role=body.role,
        team=body.team,
        password=body.password,
        actor=who.actor,
        now=ctx.clock.now(),
    )
    return UserOut.of(users.get_user(ctx.db, user.id))


@router.get("/users/me", response_model=UserOut)
def me(ctx: Ctx, who: Annotated[Principal, Depends(principal)]) -> UserOut:
    return UserOut.of(users.get_user(ctx.db, who.user.id))


@router.get("/teams", response_model=list[TeamOut])
def list_teams(ctx: Ctx, _: Staff) -> list[TeamOut]:
    return [TeamOut(id=t.id, name=t.name) for t in users.list_teams(ctx.db)]


@router.post("/teams", status_code=201, response_model=TeamOut)
def create_team(body: TeamIn, ctx: Ctx, who: Admin) -> TeamOut:
    team = users.create_team(ctx.db, name=body.name, actor=who.actor, now=ctx.clock.now())
    return TeamOut(id=team.id, name=team.name)


def _token_out(t: object) -> TokenOut:
    return TokenOut.model_validate(t, from_attributes=True)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(ctx: Ctx, who: Staff) -> list[TokenOut]:
    """Your own tokens (never the secrets)."""
    return [_token_out(t) for t in users.list_tokens(ctx.db, who.user.id)]


@router.post("/tokens", status_code=201, response_model=NewTokenOut)
def create_token(body: TokenIn, ctx: Ctx, who: Staff) -> NewTokenOut:
    """A new API token, shown once in ``token``. Admins may issue one for another user."""
    owner: users.Identity | User = who.user
    if body.user is not None and str(body.user) not in (str(owner.id), owner.email):
        if who.user.role != "admin":
            raise Forbidden("only admins may issue tokens for another user")
        owner = users.get_user(ctx.db, body.user)
    issued = users.create_token(
        ctx.db, user_id=owner.id, label=body.label, actor=who.actor, now=ctx.clock.now()
    )
    return NewTokenOut(**_token_out(issued.record).model_dump(), token=issued.token)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, ctx: Ctx, who: Staff) -> TokenOut:
    """Revoke a token at once; admins may revoke anyone's."""
    return _token_out(
        users.revoke_token(ctx.db, token_id=token_id, actor=who.actor, now=ctx.clock.now())
    )


@router.post("/customers", status_code=201, response_model=CustomerOut)
def create_customer(body: CustomerIn, ctx: Ctx, who: Staff) -> CustomerOut:
    """Find or create a customer by e-mail, external reference or phone."""
    customer = customers.create(
        ctx.db, customers.CustomerInput(**body.model_dump()), actor=who.actor, now=ctx.clock.now()
    )
    return CustomerOut.of(customer)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: int, ctx: Ctx, _: Staff) -> CustomerOut:
    return CustomerOut.of(customers.get(ctx.db, customer_id))
