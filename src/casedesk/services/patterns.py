"""Recurring-issue patterns: clusters of similar recent cases, computed by the worker into
``report_clusters`` so the patterns report reads them instead of clustering per request.

``refresh_clusters`` runs in the worker's slow-job thread (never delaying the SLA sweep) but
works at most every ``INTERVAL``: one read
of ``report_jobs`` decides, and a conditional UPDATE claims the run, so with several workers
exactly one computes. The computation: TF-IDF over subject (counted twice) and description of
the cases created in the last ``WINDOW``, k-means on the L2-normalised vectors, clusters kept
when large and cohesive enough; each is labelled with the subject nearest its centre and
compared with the window before (cases of that window nearest the same centre).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from casedesk.db.report_tables import ReportCluster, ReportClusterCase, ReportJob
from casedesk.db.session import Database
from casedesk.db.tables import Case

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.patterns")
JOB = "clusters"
INTERVAL = timedelta(minutes=15)
WINDOW = timedelta(days=7)
MAX_DOCS = 20_000  # the newest cases of the window when it holds more
MIN_SIZE = 3
MIN_COHESION = 0.25
MAX_K = 40
MERGE = 0.4  # cosine of two centres above which their clusters are one
SAMPLE = 5


def refresh_clusters(ctx: Context, *, force: bool = False) -> int:
    """Recompute clusters when due (or ``force``); returns how many cases were clustered."""
    now = ctx.clock.now()
    if not force and not _due(ctx.db, now):
        return 0
    if not _claim(ctx.db, now, force=force):
        return 0
    clustered = compute(ctx.db, now=now)
    with ctx.db.write() as s:
        s.execute(update(ReportJob).where(ReportJob.name == JOB).values(last_result=clustered))
    return clustered


def _due(db: Database, now: datetime) -> bool:
    with db.read() as s:
        last = s.execute(select(ReportJob.last_run_at).where(ReportJob.name == JOB)).first()
    return last is None or last[0] is None or last[0] <= now - INTERVAL


def _claim(db: Database, now: datetime, *, force: bool) -> bool:
    """Take this run: only one of several workers sees its UPDATE change the row."""
    try:
        with db.write() as s:
            due = or_(ReportJob.last_run_at.is_(None), ReportJob.last_run_at <= now - INTERVAL)
            claim = update(ReportJob).where(ReportJob.name == JOB)
            if not force:
                claim = claim.where(due)
            if s.execute(claim.values(last_run_at=now)).rowcount:  # type: ignore[attr-defined]
                return True
            if s.get(ReportJob, JOB) is not None:
                return False
            s.execute(insert(ReportJob).values(name=JOB, last_run_at=now, last_result=0, note=""))
            return True
    except IntegrityError:  # another worker inserted the row first
        return False


@dataclass(frozen=True)
class Doc:
    number: int
    subject: str
    text: str
    category: str | None
    channel: str


def _docs(db: Database, since: datetime, until: datetime) -> list[Doc]:
    with db.read() as s:
        rows = s.execute(
            select(Case.number, Case.subject, Case.description, Case.category, Case.channel)
            .where(Case.created_at >= since, Case.created_at < until)
            .order_by(Case.number.desc())
            .limit(MAX_DOCS)
        ).all()
    return [
        Doc(
            r.number,
            r.subject,
            f"{r.subject} {r.subject} {(r.description or '')[:500]}",
            r.category,
            r.channel,
        )
        for r in rows
    ]


@dataclass
class Found:
    label: str
    terms: list[str]
    members: list[int]
    sample: list[int]
    cohesion: float
    previous: int
    category: str | None
    channel: str | None


def cluster(docs: list[Doc], previous: list[Doc]) -> list[Found]:
    """The cohesive clusters among ``docs``, with how many of ``previous`` fall in each."""
    if len(docs) < 2 * MIN_SIZE:
        return []
    import numpy as np
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        stop_words="english",
        sublinear_tf=True,
        min_df=2,
        max_df=0.5,
        ngram_range=(1, 2),
        max_features=20_000,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",  # words, not ticket numbers or amounts
    )
    try:
        x = vectorizer.fit_transform([d.text for d in docs])
    except ValueError:  # nothing left after stop words and min_df
        return []
    k = max(2, min(MAX_K, round(math.sqrt(len(docs) / 2))))
    model: Any = (
        KMeans(n_clusters=k, n_init=3, random_state=0)
        if len(docs) <= 5000
        else MiniBatchKMeans(n_clusters=k, n_init=3, random_state=0, batch_size=2048)
    )
    labels, centres = _merged(x, model.fit_predict(x), model.cluster_centers_)
    k = len(centres)
    unit = _unit(centres)
    sims = np.asarray(x @ unit.T)
    terms = vectorizer.get_feature_names_out()
    prev_best: Any = None
    if previous:
        prev_sims = np.asarray(vectorizer.transform([d.text for d in previous]) @ unit.T)
        prev_best = (prev_sims.argmax(axis=1), prev_sims.max(axis=1))
    out = []
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        if len(idx) < MIN_SIZE:
            continue
        member_sims = sims[idx, c]
        cohesion = float(member_sims.mean())
        if cohesion < MIN_COHESION:
            continue
        order = idx[np.argsort(-member_sims)]
        floor_ = max(MIN_COHESION, float(np.percentile(member_sims, 10)))
        prev = 0
        if prev_best is not None:
            prev = int(((prev_best[0] == c) & (prev_best[1] >= floor_)).sum())
        top_terms = _top_terms(terms, centres[c])
        members = [docs[i] for i in order]
        out.append(
            Found(
                label=members[0].subject[:300],
                terms=top_terms,
                members=[d.number for d in members],
                sample=[d.number for d in members[:SAMPLE]],
                cohesion=round(cohesion, 3),
                previous=prev,
                category=_most_common([d.category for d in members]),
                channel=_most_common([d.channel for d in members]),
            )
        )
    out.sort(key=lambda f: -len(f.members))
    return out


def _top_terms(terms: Any, weights: Any, n: int = 5) -> list[str]:
    """The heaviest terms of a centre, skipping those whose words are already shown."""
    import numpy as np

    out: list[str] = []
    covered: set[str] = set()
    for i in np.argsort(-weights)[:50]:
        words = set(str(terms[i]).split())
        if weights[i] <= 0 or words <= covered:
            continue
        out.append(str(terms[i]))
        covered |= words
        if len(out) == n:
            break
    return out


def _unit(m: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(m, axis=1)
    norms[norms == 0] = 1.0
    return m / norms[:, None]


def _merged(x: Any, labels: Any, centres: Any) -> tuple[Any, Any]:
    """k-means is run with a generous k; clusters whose centres point the same way (cosine of
    at least ``MERGE``) are then joined, so one topic is not split in two."""
    import numpy as np

    k = len(centres)
    unit = _unit(centres)
    close = unit @ unit.T >= MERGE
    root = list(range(k))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i in range(k):
        for j in range(i + 1, k):
            if close[i, j]:
                root[find(j)] = find(i)
    groups = sorted({find(int(c)) for c in set(labels.tolist())})  # only clusters with members
    index = {g: n for n, g in enumerate(groups)}
    merged = np.array([index[find(int(c))] for c in labels])
    new_centres = np.vstack(
        [np.asarray(x[merged == n].mean(axis=0)).ravel() for n in range(len(groups))]
    )
    return merged, new_centres


def _most_common(values: list[str | None]) -> str | None:
    found = Counter(v for v in values if v)
    return found.most_common(1)[0][0] if found else None


def compute(db: Database, *, now: datetime) -> int:
    """Cluster the window ending ``now`` and replace the stored clusters; returns the number
    of cases in kept clusters."""
    start = now - WINDOW
    docs = _docs(db, start, now)
    previous = _docs(db, start - WINDOW, start)
    found = cluster(docs, previous)
    with db.write() as s:
        s.execute(delete(ReportClusterCase))
        s.execute(delete(ReportCluster))
        for f in found:
            cluster_id = s.execute(
                insert(ReportCluster)
                .values(
                    computed_at=now,
                    window_start=start,
                    window_end=now,
                    label=f.label,
                    terms=f.terms,
                    size=len(f.members),
                    previous_size=f.previous,
                    top_category=f.category,
                    top_channel=f.channel,
                    cohesion=f.cohesion,
                    sample=f.sample,
                )
                .returning(ReportCluster.id)
            ).scalar_one()
            s.execute(
                insert(ReportClusterCase),
                [{"cluster_id": cluster_id, "case_number": n} for n in f.members],
            )
    log.info(
        "clustered %d of %d recent cases into %d clusters",
        sum(len(f.members) for f in found),
        len(docs),
        len(found),
    )
    return sum(len(f.members) for f in found)
