"""``casedesk demo``: a realistic demo data set for a loyalty-programme support team.

Everything goes through the same services as real traffic (intake for the channels, the case
services for agents' work), so the demo also shows SLA clocks, audit events and notifications.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, intake, users
from casedesk.services.customers import CustomerInput

if TYPE_CHECKING:
    from casedesk.context import Context

SETUP = Actor(kind="system", label="demo", origin="cli")


@dataclass(frozen=True)
class Story:
    channel: str
    name: str
    email: str
    subject: str
    body: str
    priority: str = "normal"
    tags: tuple[str, ...] = ()
    then: str = ""  # "progress", "hold", "resolve", "close" or "" (left open)


STORIES = (
    Story(
        "email",
        "Maria Lopez",
        "maria.lopez@example.com",
        "Points not credited for order #4471",
        "I bought a coffee machine last week but the 1,200 points never arrived.",
        "high",
        ("points",),
        "progress",
    ),
    Story(
        "chat",
        "Tom Becker",
        "tom.becker@example.com",
        "Cannot redeem my voucher",
        "The checkout says the voucher code is invalid, but it is still valid until June.",
        "normal",
        ("redemption",),
        "hold",
    ),
    Story(
        "portal",
        "Aiko Tanaka",
        "aiko.tanaka@example.com",
        "Wrong tier shown in the app",
        "I reached Gold in March but the app still says Silver.",
        "normal",
        ("tier",),
        "resolve",
    ),
    Story(
        "phone",
        "Jonas Berg",
        "jonas.berg@example.com",
        "Card lost, please block it",
        "Caller lost his membership card and wants it blocked and replaced.",
        "urgent",
        ("card",),
        "close",
    ),
    Story(
        "email",
        "Chloé Martin",
        "chloe.martin@example.com",
        "Redemption failed after catalogue sync",
        "Every redemption of the new headphones fails with an error since yesterday.",
        "high",
        ("redemption", "catalogue"),
        "",
    ),
    Story(
        "email",
        "Sam Okafor",
        "sam.okafor@example.com",
        "Merge my two accounts",
        "I have two loyalty accounts by mistake; please merge the points.",
        "low",
        ("account",),
        "progress",
    ),
    Story(
        "portal",
        "Priya Nair",
        "priya.nair@example.com",
        "Partner points missing (airline)",
        "My flight points from the partner airline did not show up after 30 days.",
        "normal",
        ("points", "partner"),
        "hold",
    ),
    Story(
        "chat",
        "Lena Fischer",
        "lena.fischer@example.com",
        "Redemption failed at checkout",
        "Tried to redeem 5,000 points for headphones; the page errored.",
        "high",
        ("redemption", "catalogue"),
        "",
    ),
    Story(
        "email",
        "Omar Haddad",
        "omar.haddad@example.com",
        "Unsubscribe from newsletters",
        "Please stop the weekly offers e-mail but keep my account.",
        "low",
        (),
        "resolve",
    ),
    Story(
        "phone",
        "Eva Novak",
        "eva.novak@example.com",
        "Points expired too early",
        "Customer says her points expired in January instead of December.",
        "normal",
        ("points", "expiry"),
        "",
    ),
)


def load(ctx: Context) -> int:
    """Load the demo data; returns how many cases were created."""
    now = ctx.clock.now
    team_names = ("Tier 1", "Tier 2")
    for name in team_names:
        with contextlib.suppress(Conflict):  # loading the demo twice keeps the teams
            users.create_team(ctx.db, name=name, actor=SETUP, now=now())
    staff = []
    for email, name, role, team in (
        ("lead@demo.casedesk.local", "Lee Lead", "lead", "Tier 2"),
        ("alex@demo.casedesk.local", "Alex Agent", "agent", "Tier 1"),
        ("sam@demo.casedesk.local", "Sam Support", "agent", "Tier 1"),
    ):
        password = secrets.token_urlsafe(9)
        try:
            user = users.create_user(
                ctx.db,
                email=email,
                name=name,
                role=role,
                team=team,
                password=password,
                actor=SETUP,
                now=now(),
            )
            print(f"  {role:5} {email}  password: {password}")
        except Conflict:
            user = users.get_user(ctx.db, email)
        staff.append(users.user_actor(user, origin="demo"))
    lead, alex, sam = staff
    created = 0
    for i, story in enumerate(STORIES):
        result = intake.receive(
            ctx.db,
            ctx.config,
            intake.InboundMessage(
                channel=story.channel,
                subject=story.subject,
                body=story.body,
                sender=CustomerInput(name=story.name, email=story.email),
                external_id=f"demo-{i}-{secrets.token_hex(4)}@demo.casedesk.local",
                priority=story.priority,
                tags=story.tags,
            ),
            now=now(),
        )
        if result.case_number is None:
            continue
        created += 1
        _work(ctx, result.case_number, story, agent=alex if i % 2 else sam, lead=lead)
    return created


def _work(ctx: Context, number: int, story: Story, *, agent: Actor, lead: Actor) -> None:
    """Move a demo case along as an agent would."""
    now = ctx.clock.now
    if not story.then:
        return
    cases.update_case(
        ctx.db, ctx.config, number, {"assignee": agent.id, "team": "Tier 1"}, actor=agent, now=now()
    )
    cases.transition_case(
        ctx.db, ctx.config, number, "in_progress", TransitionRequest(), actor=agent, now=now()
    )
    cases.add_message(
        ctx.db,
        ctx.config,
        number,
        actor=agent,
        now=now(),
        body=f"Hello {story.name.split()[0]}, thanks for getting in touch. "
        "We are looking into it now.",
    )
    if story.then == "hold":
        cases.transition_case(
            ctx.db,
            ctx.config,
            number,
            "on_hold",
            TransitionRequest("third_party", "Waiting for the partner to confirm the transfer"),
            actor=agent,
            now=now(),
        )
    if story.then in ("resolve", "close"):
        cases.transition_case(
            ctx.db,
            ctx.config,
            number,
            "resolved",
            TransitionRequest(resolution="Corrected in the member account and confirmed."),
            actor=agent,
            now=now(),
        )
    if story.then == "close":
        cases.transition_case(
            ctx.db, ctx.config, number, "closed", TransitionRequest(), actor=lead, now=now()
        )
