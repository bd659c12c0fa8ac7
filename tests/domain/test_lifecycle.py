"""The case lifecycle: the default workflow step by step, and properties of any workflow."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casedesk.domain.errors import MissingRequirement, TransitionNotAllowed
from casedesk.domain.lifecycle import (
    ACTORS,
    CATEGORIES,
    Status,
    Transition,
    TransitionRequest,
    Workflow,
    default_workflow,
    reachable,
    validate,
)

FAST = settings(max_examples=100, deadline=None)
HOLD = TransitionRequest(reason_code="awaiting_customer", reason="Waiting for the invoice copy")
FULL = TransitionRequest(
    reason_code="awaiting_customer", reason="Waiting for logs", resolution="Replaced the cable"
)


@pytest.fixture
def wf() -> Workflow:
    return default_workflow()


# -- the default workflow --------------------------------------------------------------------


def test_default_workflow_is_valid_and_starts_open(wf: Workflow) -> None:
    assert validate(wf) == []
    assert wf.initial == "open"
    assert [s.id for s in wf.statuses] == ["open", "in_progress", "on_hold", "resolved", "closed"]
    assert [wf.category(s.id) for s in wf.statuses] == list(CATEGORIES)
    assert reachable(wf) == {s.id for s in wf.statuses}


def test_default_walk_through_every_status(wf: Workflow) -> None:
    status = wf.initial
    steps = [
        ("in_progress", "agent", TransitionRequest()),
        ("on_hold", "agent", HOLD),
        ("in_progress", "agent", TransitionRequest()),
        ("resolved", "agent", TransitionRequest(resolution="Reset the password")),
        ("closed", "customer", TransitionRequest()),
    ]
    for target, actor, request in steps:
        status = wf.check(status, target, actor, request).target
        assert status == target
    assert wf.category(status) == "closed"
    assert wf.allowed_targets(status, "admin") == []


@pytest.mark.parametrize(
    ("request_", "field", "words"),
    [
        (TransitionRequest(), "reason_code", "awaiting_customer"),
        (TransitionRequest(reason="waiting on the customer"), "reason_code", "reason_code"),
        (TransitionRequest(reason_code="holiday", reason="away"), "reason_code", "holiday"),
        (TransitionRequest(reason_code="third_party"), "reason", "reason"),
        (TransitionRequest(reason_code="third_party", reason="   "), "reason", "reason"),
    ],
)
def test_on_hold_needs_a_configured_reason_code_and_a_reason_text(
    wf: Workflow, request_: TransitionRequest, field: str, words: str
) -> None:
    with pytest.raises(MissingRequirement) as info:
        wf.check("in_progress", "on_hold", "agent", request_)
    assert info.value.extra["field"] == field
    assert words in info.value.detail
    assert info.value.status == 422


@pytest.mark.parametrize("reason_code", ["awaiting_customer", "third_party", "internal"])
def test_on_hold_accepts_every_hold_reason(wf: Workflow, reason_code: str) -> None:
    request = TransitionRequest(reason_code=reason_code, reason="see the ticket")
    assert wf.check("open", "on_hold", "lead", request).target == "on_hold"


@pytest.mark.parametrize("resolution", [None, "", "  \n "])
def test_resolved_needs_a_resolution(wf: Workflow, resolution: str | None) -> None:
    with pytest.raises(MissingRequirement) as info:
        wf.check("in_progress", "resolved", "agent", TransitionRequest(resolution=resolution))
    assert info.value.extra["field"] == "resolution"
    assert "resolution" in info.value.detail


@pytest.mark.parametrize("actor", ["customer", "lead", "admin", "system"])
def test_closing_a_resolved_case(wf: Workflow, actor: str) -> None:
    assert wf.check("resolved", "closed", actor, TransitionRequest()).target == "closed"


def test_an_agent_may_not_close_and_is_told_what_is_allowed(wf: Workflow) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        wf.check("resolved", "closed", "agent", TransitionRequest())
    assert info.value.extra["allowed"] == ["in_progress"]
    assert "agent" in info.value.detail
    assert "in_progress" in info.value.detail
    assert info.value.status == 409


def test_not_allowed_names_every_allowed_target(wf: Workflow) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        wf.check("open", "closed", "agent", TransitionRequest())
    assert info.value.extra["allowed"] == ["in_progress", "on_hold", "resolved"]
    for target in ("in_progress", "on_hold", "resolved"):
        assert target in info.value.detail


def test_unknown_target_is_not_allowed(wf: Workflow) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        wf.check("open", "archived", "agent", TransitionRequest())
    assert "archived" in info.value.detail
    assert info.value.extra["allowed"] == ["in_progress", "on_hold", "resolved"]


def test_nothing_is_allowed_says_none(wf: Workflow) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        wf.check("closed", "open", "admin", TransitionRequest())
    assert info.value.extra["allowed"] == []
    assert "none" in info.value.detail


def test_customer_and_system_may_not_work_an_open_case(wf: Workflow) -> None:
    assert wf.allowed_targets("open", "customer") == []
    assert wf.allowed_targets("open", "system") == []
    assert wf.allowed_targets("in_progress", "system") == []


def test_reopen_and_acknowledge_targets(wf: Workflow) -> None:
    assert wf.reopen_target("resolved") == "in_progress"
    assert wf.acknowledge_target("resolved") == "closed"
    assert wf.acknowledge_target("resolved", "system") == "closed"
    assert wf.acknowledge_target("resolved", "agent") is None
    for status in ("open", "in_progress", "on_hold", "closed"):
        assert wf.reopen_target(status) is None
        assert wf.acknowledge_target(status) is None


def test_ids_in_categories(wf: Workflow) -> None:
    assert wf.ids_in("new", "open", "pending") == ["open", "in_progress", "on_hold"]
    assert wf.ids_in("solved", "closed") == ["resolved", "closed"]


# -- validate: hand-written broken workflows ---------------------------------------------------


def _wf(statuses: list[tuple[str, str]], transitions: list[Transition], **kw: object) -> Workflow:
    return Workflow(
        statuses=tuple(Status(i, i.title(), c) for i, c in statuses),
        transitions=tuple(transitions),
        **kw,  # type: ignore[arg-type]
    )


BASIC = [("new", "new"), ("done", "solved"), ("gone", "closed")]
STAFF = frozenset({"agent"})


def test_validate_locates_each_problem() -> None:
    wf = _wf(
        [*BASIC, ("new", "open"), ("odd", "weird")],
        [
            Transition(frozenset({"nowhere"}), "done", STAFF),
            Transition(frozenset({"new"}), "missing", frozenset({"robot"})),
            Transition(frozenset({"done"}), "gone", STAFF, frozenset({"reason", "signature"})),
        ],
    )
    found = {(p.path, p.message.split(";")[0]) for p in validate(wf)}
    assert found == {
        (("statuses", 3, "id"), "status 'new' is defined twice"),
        (("statuses", 4, "category"), "status 'odd' has category 'weird'"),
        (("transitions", 0, "from"), "unknown status 'nowhere' in 'from'"),
        (("transitions", 1, "to"), "unknown status 'missing' in 'to'"),
        (("transitions", 1, "by"), "unknown actor 'robot'"),
        (("transitions", 2, "requires"), "unknown requirement 'signature'"),
        (("hold_reasons",), "a transition requires a reason but no hold_reasons"),
    }


@pytest.mark.parametrize("missing", ["new", "solved", "closed"])
def test_validate_needs_new_solved_and_closed(missing: str) -> None:
    statuses = [(i, c) for i, c in BASIC if c != missing]
    problems = validate(_wf(statuses, []))
    assert [p.path for p in problems] == [("statuses",)]
    assert f"'{missing}'" in problems[0].message


def test_validate_reports_unreachable_status_at_its_id() -> None:
    wf = _wf(
        [*BASIC, ("limbo", "pending")],
        [
            Transition(frozenset({"new"}), "done", STAFF),
            Transition(frozenset({"done"}), "gone", STAFF),
        ],
    )
    problems = validate(wf)
    assert [p.path for p in problems] == [("statuses", 3, "id")]
    assert "limbo" in problems[0].message
    assert "cannot be reached from 'new'" in problems[0].message


# -- properties of any workflow --------------------------------------------------------------

STATUS_IDS = st.sampled_from(
    [
        "open",
        "in_progress",
        "on_hold",
        "resolved",
        "closed",
        "triage",
        "waiting_vendor",
        "escalated",
        "reopened",
        "archived",
        "spam",
        "s1",
        "s2",
    ]
)
ACTOR_SETS = st.frozensets(st.sampled_from(ACTORS), min_size=1)
REQUIRES = st.frozensets(st.sampled_from(["reason", "resolution"]))
HOLD_REASONS = ("awaiting_customer", "vendor")


@st.composite
def workflows(draw: st.DrawFn, dangling: bool = False) -> Workflow:
    """A workflow with unique status ids, at least one new, solved and closed status, random
    transitions between them (and, with ``dangling``, sometimes into an undefined status)."""
    ids = draw(st.lists(STATUS_IDS, min_size=3, max_size=7, unique=True))
    categories = ["new", "solved", "closed"] + [draw(st.sampled_from(CATEGORIES)) for _ in ids[3:]]
    order = draw(st.permutations(range(len(ids))))
    statuses = tuple(Status(ids[i], ids[i].upper(), categories[i]) for i in order)
    targets = st.sampled_from(ids)
    if dangling:
        targets = targets | st.just("undefined_status")
    transitions = draw(
        st.lists(
            st.builds(
                Transition,
                sources=st.frozensets(st.sampled_from(ids), min_size=1, max_size=3),
                target=targets,
                by=ACTOR_SETS,
                requires=REQUIRES,
            ),
            max_size=10,
        )
    )
    return Workflow(statuses=statuses, transitions=tuple(transitions), hold_reasons=HOLD_REASONS)


REQUESTS = st.builds(
    TransitionRequest,
    reason_code=st.none() | st.sampled_from([*HOLD_REASONS, "", "other"]),
    reason=st.none() | st.sampled_from(["", " ", "waiting for parts"]),
    resolution=st.none() | st.sampled_from(["", "\t", "fixed"]),
)


def _supplied(transition: Transition, request: TransitionRequest) -> bool:
    ok = True
    if "reason" in transition.requires:
        ok &= request.reason_code in HOLD_REASONS and bool((request.reason or "").strip())
    if "resolution" in transition.requires:
        ok &= bool((request.resolution or "").strip())
    return ok


@FAST
@given(wf=workflows(), data=st.data(), request=REQUESTS)
def test_check_succeeds_iff_a_transition_exists_and_its_needs_are_met(
    wf: Workflow, data: st.DataObject, request: TransitionRequest
) -> None:
    ids = [s.id for s in wf.statuses]
    current = data.draw(st.sampled_from(ids))
    target = data.draw(st.sampled_from(ids))
    actor = data.draw(st.sampled_from(ACTORS))
    found = wf.find(current, target, actor)
    try:
        taken = wf.check(current, target, actor, request)
    except TransitionNotAllowed as exc:
        assert found is None
        assert exc.extra["allowed"] == wf.allowed_targets(current, actor)
    except MissingRequirement as exc:
        assert found is not None
        assert not _supplied(found, request)
        assert exc.extra["field"] in ("reason_code", "reason", "resolution")
    else:
        assert taken is found
        assert taken.target == target
        assert _supplied(taken, request)


@FAST
@given(wf=workflows(dangling=True), data=st.data())
def test_allowed_targets_are_exactly_the_findable_ones(wf: Workflow, data: st.DataObject) -> None:
    current = data.draw(st.sampled_from([s.id for s in wf.statuses]))
    actor = data.draw(st.sampled_from(ACTORS))
    candidates = {s.id for s in wf.statuses} | {t.target for t in wf.transitions}
    allowed = wf.allowed_targets(current, actor)
    assert len(allowed) == len(set(allowed))
    assert set(allowed) == {c for c in candidates if wf.find(current, c, actor) is not None}


@FAST
@given(wf=workflows())
def test_validate_reports_exactly_the_unreachable_statuses(wf: Workflow) -> None:
    problems = validate(wf)
    unreachable = {s.id for s in wf.statuses} - reachable(wf)
    assert wf.initial in reachable(wf)
    assert len(problems) == len(unreachable)
    reported = set()
    for p in problems:
        assert p.path[0] == "statuses" and p.path[2] == "id"
        reported.add(wf.statuses[p.path[1]].id)  # type: ignore[index]
        assert "cannot be reached" in p.message
    assert reported == unreachable


@FAST
@given(wf=workflows(dangling=True))
def test_validate_flags_every_transition_into_an_undefined_status(wf: Workflow) -> None:
    dangling = {i for i, t in enumerate(wf.transitions) if not wf.has_status(t.target)}
    flagged = {p.path[1] for p in validate(wf) if p.path[2:] == ("to",)}
    assert flagged == dangling


@FAST
@given(wf=workflows(dangling=True), data=st.data())
def test_allowed_moves_never_leave_the_defined_statuses(wf: Workflow, data: st.DataObject) -> None:
    if any(p.path[2:] == ("to",) for p in validate(wf)):
        return  # config check refuses such a workflow: nothing to walk
    status = wf.initial
    for _ in range(data.draw(st.integers(0, 25))):
        actor = data.draw(st.sampled_from(ACTORS))
        options = wf.allowed_targets(status, actor)
        if not options:
            continue
        target = data.draw(st.sampled_from(options))
        status = wf.check(status, target, actor, FULL).target
        assert wf.has_status(status)
        assert status in reachable(wf)
