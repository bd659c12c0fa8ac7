"""SQLite writers in several processes take turns on a lock file beside the database: a
process holding the turn keeps every other process, forked ones included, waiting."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from casedesk.db.session import _TurnFile


def _take_turn(turn: _TurnFile, taken: multiprocessing.Queue[float]) -> None:
    with turn:
        taken.put(time.monotonic())


def test_a_forked_process_waits_for_the_turn_its_parent_holds(tmp_path: Path) -> None:
    turn = _TurnFile(str(tmp_path / "cases.db-writers"))
    fork = multiprocessing.get_context("fork")
    taken: multiprocessing.Queue[float] = fork.Queue()
    with turn:  # the descriptor exists before the fork, so the child inherits it
        child = fork.Process(target=_take_turn, args=(turn, taken))
        child.start()
        time.sleep(0.5)
        released = time.monotonic()
    child.join(timeout=10)
    assert child.exitcode == 0
    assert taken.get(timeout=5) >= released

