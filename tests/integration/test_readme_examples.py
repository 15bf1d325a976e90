"""The README's examples, one per event type, posted as written to the real
stack: each is accepted and moves its figure, so the docs cannot drift.

Only what cannot stay fixed in a document is changed: event ids are mapped
to fresh ones (consistently, so the retraction still names its target), and
the zero report gets today's date (ingest takes only the last 7 days)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from schemas.events import EVENT_TYPES
from services.common.config import REPO_DIR
from tests.integration.harness import Pipeline, poll

SECTION = "## Posting events: one example per type"
DAY = "2020-02-10"


def readme_examples() -> list[dict[str, Any]]:
    text = (REPO_DIR / "README.md").read_text("utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end >= 0 else len(text)]
    return [orjson.loads(block) for block in re.findall(r"```json\n(.*?)```", section, flags=re.DOTALL)]


def figures(p: Pipeline, code: str, day: str) -> dict[str, Any]:
    resp = p.get("/v1/reports/daily", jurisdiction=code, date=day)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def moved(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """The figures that changed, by dotted name, and by how much."""
    out: dict[str, int] = {}

    def walk(a: dict[str, Any], b: dict[str, Any], prefix: str) -> None:
        for key, value in b.items():
            if isinstance(value, dict):
                walk(a[key], value, f"{prefix}{key}.")
            elif value != a[key]:
                out[f"{prefix}{key}"] = value - a[key]

    walk(before, after, "")
    return out


def test_every_readme_example_is_accepted_and_moves_its_figure(pipeline: Pipeline) -> None:
    p = pipeline
    examples = readme_examples()
    assert sorted(e["type"] for e in examples) == sorted(EVENT_TYPES)
    fresh = {e["event_id"]: str(uuid.uuid4()) for e in examples}
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    for e in examples:
        e["event_id"] = fresh[e["event_id"]]
        if e["type"] == "event.retracted":
            e["data"]["target_event_id"] = fresh[e["data"]["target_event_id"]]
        if e["type"] == "report.zero":
            e["data"]["report_date"] = today
            e["occurred_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    by_type = {e["type"]: e for e in examples}
    village = by_type["screening.registered"]["jurisdiction"]
    zero = by_type["report.zero"]
    assert {e["jurisdiction"] for e in examples} - {zero["jurisdiction"]} == {village}
    counted = [e for e in examples if e["type"] not in ("report.zero", "event.retracted")]
    assert all(e["occurred_at"].startswith(DAY) for e in counted)

    before = figures(p, village, DAY)["figures"]
    for e in examples:
        if e["type"] == "event.retracted":
            continue
        resp = p.post(e)
        assert resp.status_code == 202, (e["type"], resp.text)
        assert resp.json()["events"][0]["status"] == "accepted"
    want = {
        "screened.new": 1,
        "screened.cumulative": 1,
        "screened.by_category.returnee.new": 1,
        "screened.by_category.returnee.cumulative": 1,
        "screened.by_origin.42.new": 1,
        "screened.by_origin.42.cumulative": 1,
        "screened.by_origin.4201.new": 1,
        "screened.by_origin.4201.cumulative": 1,
        "symptomatic.new": 1,
        "isolation.started.home": 1,
        "isolation.started.total": 1,
        "isolation.ended.total": 1,
        "isolation.current.home": 1,  # another person's isolation ended
        "isolation.current.total": 1,
        "cases.confirmed.new": 1,
        "cases.confirmed.cumulative": 1,
        "venues.closed.new": 1,
        "venues.reopened.new": 1,
        "checkpoints.people_checked": 320,
        "checkpoints.vehicles_checked": 85,
        "checkpoints.fevers_found": 2,
        "checkpoints.turned_back": 4,
    }
    poll(
        lambda: moved(before, figures(p, village, DAY)["figures"]),
        lambda got: got == want,
        what="every example's figure moved",
    )
    zero_day = poll(
        lambda: figures(p, zero["jurisdiction"], today)["reporting"],
        lambda r: r["status"] == "zero_reported",
        what="the zero report counted",
    )
    assert zero_day["submitted_at"] is not None

    retraction = by_type["event.retracted"]
    resp = p.post(retraction)
    assert resp.status_code == 202, resp.text
    screened = {k: v for k, v in want.items() if k.startswith("screened.")}
    poll(
        lambda: moved(before, figures(p, village, DAY)["figures"]),
        lambda got: got == {k: v for k, v in want.items() if k not in screened},
        what="the retracted screening no longer counted",
    )
    # the same examples again (all archived by now): each a duplicate
    again = p.post(examples)
    assert again.status_code == 202, again.text
    assert [e["status"] for e in again.json()["events"]] == ["duplicate"] * len(examples)
