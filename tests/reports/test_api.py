"""``/api/v1/reports``: roles, JSON, CSV (Accept: text/csv), bad input; and the ``/reports``
pages: sign-in, roles, charts with their tables and CSV links."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.reports.conftest import build_known
from tests.ui.conftest import Browsers

REPORTS = ("timelines", "bottlenecks", "sla", "backlog", "patterns")


@pytest.fixture
def lead(api: Any) -> Any:
    build_known(api.ctx)
    return api.as_role("lead")


def test_roles(api: Any) -> None:
    assert api.get("/api/v1/reports/timelines").status_code == 403  # agents may not
    assert api.as_role("lead").get("/api/v1/reports/timelines").status_code == 200
    assert api.as_role("admin").get("/api/v1/reports").status_code == 200
    assert api.client.get("/api/v1/reports/backlog").status_code == 401


def test_every_report_as_json(lead: Any) -> None:
    index = lead.get("/api/v1/reports").json()
    assert [r["name"] for r in index["reports"]] == list(REPORTS)
    for name in REPORTS:
        body = lead.get(f"/api/v1/reports/{name}", params={"by": "channel"}).json()
        assert body["report"] == name and body["by"] == "channel"
        assert body["tables"], name
        for table in body["tables"].values():
            assert all(set(row) == set(table["columns"]) for row in table["rows"])


def test_csv_with_accept_header(lead: Any) -> None:
    resp = lead.get(
        "/api/v1/reports/timelines",
        params={"since": "2026-01-05", "until": "2026-01-06", "table": "volume"},
        headers={"Accept": "text/csv"},
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["x-report-tables"] == "response_times, volume"
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(resp.text)))
    assert rows == [
        ["day", "created", "resolved", "closed"],
        ["2026-01-05", "4", "1", "0"],
        ["2026-01-06", "0", "1", "0"],
    ]
    # Without ?table= the first table of the report; empty cells for missing figures.
    first = lead.get("/api/v1/reports/timelines", params={"format": "csv", "by": "team"})
    table = list(csv.DictReader(io.StringIO(first.text)))
    none = next(r for r in table if r["slice"] == "(none)")
    assert none["first_response_median_s"] == ""


def test_csv_neutralises_formulas(lead: Any) -> None:
    assert lead.post("/api/v1/cases", json={"subject": "x", "category": "=cmd"}).status_code == 201
    resp = lead.get(
        "/api/v1/reports/patterns", params={"table": "categories"}, headers={"Accept": "text/csv"}
    )
    assert "'=cmd" in resp.text


def test_bad_input_is_a_problem(lead: Any) -> None:
    for params, field in (
        ({"since": "yesterday"}, "since"),
        ({"by": "colour"}, "by"),
        ({"priority": "meh"}, "priority"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
        ({"colour": "red"}, "colour"),
        ({"table": "nope"}, "table"),
        ({"calendar": "mars"}, "calendar"),
    ):
        resp = lead.get("/api/v1/reports/timelines", params=params)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["field"] == field
    assert lead.get("/api/v1/reports/nothing").status_code == 404


def test_report_pages(ctx: Any) -> None:
    from casedesk.web.app import create_app

    build_known(ctx)
    browsers = Browsers(ctx, create_app(ctx))
    try:
        anonymous = browsers.anonymous()
        resp = anonymous.get("/reports/timelines")
        assert resp.status_code == 303 and "/console/login" in resp.headers["location"]
        assert browsers.signed_in("agent").get("/reports").status_code == 403
        lead = browsers.signed_in("lead")
        assert lead.get("/reports").status_code == 200
        for name in REPORTS:
            page = lead.get(f"/reports/{name}", params={"by": "team"})
            assert page.status_code == 200, page.text
            assert "vendor/chartjs/chart.umd.min.js" in page.text
            assert 'class="report-chart"' in page.text
            assert f"/reports/{name}.csv?" in page.text
        page = lead.get("/reports/timelines", params={"since": "2026-01-05"}).text
        assert 'data-chart="line"' in page and 'id="tbl-volume"' in page
        download = lead.get(
            "/reports/timelines.csv", params={"since": "2026-01-05", "table": "volume"}
        )
        assert download.status_code == 200
        assert download.text.startswith("day,created,resolved,closed")
        bad = lead.get("/reports/timelines", params={"since": "soon"})
        assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
        assert lead.get("/static/vendor/chartjs/chart.umd.min.js").status_code == 200
    finally:
        browsers.close()
