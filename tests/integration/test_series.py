"""GET /v1/reports/series on the real stack: each date's figures are the
reference implementation's (services/common/reference.py) for that date,
cutoff and as_of, the rolling sums are sums of the reference's daily values
(dates before `from` included), and the parameters are refused by name."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.records import EventRecord
from services.common import reference
from services.common.figures import flatten
from services.common.windows import report_window
from tests.integration.eventgen import DAYS, record_sets, relabel
from tests.integration.harness import Pipeline, produce, wait_caught_up
from tests.integration.test_daily_figures import unused_town

ZONE = ZoneInfo("Asia/Shanghai")
EXAMPLES = int(os.environ.get("RIBAO_PROPERTY_EXAMPLES", "6"))
#: the series asked for: the generated events' dates and the one after them
FROM, TO = DAYS[1], "2020-01-30"


@pytest.fixture(scope="module")
def towns(pipeline: Pipeline) -> Iterator[list[tuple[str, list[str]]]]:
    """Towns of 江西 with at least three villages (1,647: one per example, enough
    for RIBAO_PROPERTY_EXAMPLES=200 and more; 宣城's 100-odd ran out at 200)."""
    rows = pipeline.query(
        "SELECT parent, groupArray(code) FROM divisions WHERE level = 'village' AND parent LIKE '36%' "
        "GROUP BY parent HAVING count() >= 3 ORDER BY parent LIMIT 2000"
    )
    yield [(town, sorted(villages)[:3]) for town, villages in rows]


def series(p: Pipeline, code: str, **params: str) -> dict[str, Any]:
    resp = p.get("/v1/reports/series", jurisdiction=code, **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _dates(first: str, last: str) -> list[str]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def expected(records: list[EventRecord], code: str, cutoff: int, as_of: datetime) -> list[dict[str, Any]]:
    """The reference's figures of FROM..TO, with each `.new` figure's rolling
    sums over the reference's values of the 7 and 14 dates ending there."""
    first = date.fromisoformat(FROM) - timedelta(days=13)
    days = _dates(first.isoformat(), TO)
    daily = [
        reference.daily_figures(records, code, report_window(date.fromisoformat(d), cutoff, ZONE), as_of)
        for d in days
    ]
    flat = [dict(flatten(f)) for f in daily]
    out = []
    for i in range(13, len(days)):
        figures = daily[i]

        def add(node: dict[str, Any], prefix: str, i: int = i) -> None:
            for key in list(node):
                value = node[key]
                if isinstance(value, dict):
                    add(value, f"{prefix}{key}.", i)
                elif key == "new":
                    name = f"{prefix}new"
                    node["new_rolling7"] = sum(f[name] for f in flat[i - 6 : i + 1])
                    node["new_rolling14"] = sum(f[name] for f in flat[i - 13 : i + 1])

        add(figures, "")
        out.append({"date": days[i], "figures": figures})
    return out


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    print_blob=True,
)
@given(data=st.data())
def test_every_date_and_rolling_sum_is_the_reference(
    pipeline: Pipeline, towns: list[tuple[str, list[str]]], data: st.DataObject
) -> None:
    town, villages = unused_town(pipeline, towns)
    records = relabel(data.draw(record_sets(villages), label="records"), villages, villages)
    produce(pipeline.settings, records, batch=data.draw(st.integers(1, 8), label="batch"))
    wait_caught_up(pipeline)
    times = sorted({r.recorded_at for r in records})
    as_ofs = [data.draw(st.sampled_from(times), label="as_of"), datetime.now(ZONE)]
    compared = 0
    for cutoff in ("24:00", "18:00"):
        for as_of in as_ofs:
            for code in (town, villages[0]):
                got = series(
                    pipeline, code, **{"from": FROM, "to": TO, "cutoff": cutoff}, as_of=as_of.isoformat()
                )
                assert (got["from"], got["to"], got["cutoff"]) == (FROM, TO, cutoff)
                want = expected(records, code, int(cutoff[:2]), as_of)
                assert got["dates"] == want, (code, cutoff, as_of.isoformat())
                compared += 1
    assert compared == 8


def test_a_series_date_is_the_daily_report_and_figures_select(pipeline: Pipeline) -> None:
    """On whatever the session posted: a date of the series is that date's
    daily report; `figures=` keeps the figures (and groups) named, and csv
    has a row per date with the same numbers."""
    p = pipeline
    code, day = "34", DAYS[1]
    whole = series(p, code, **{"from": DAYS[0], "to": DAYS[2]})
    assert [d["date"] for d in whole["dates"]] == list(DAYS)
    as_of = whole["as_of"]
    daily = p.get("/v1/reports/daily", jurisdiction=code, date=day, as_of=as_of).json()
    got = whole["dates"][1]["figures"]
    assert {n: v for n, v in flatten(got) if "rolling" not in n} == dict(flatten(daily["figures"]))
    some = series(p, code, **{"from": day, "to": day}, as_of=as_of, figures="screened.new,isolation.current")
    assert some["dates"][0]["figures"] == {
        "screened": {
            "new": got["screened"]["new"],
            "new_rolling7": got["screened"]["new_rolling7"],
            "new_rolling14": got["screened"]["new_rolling14"],
        },
        "isolation": {"current": got["isolation"]["current"]},
    }
    resp = p.get(
        "/v1/reports/series", jurisdiction=code, to=DAYS[2], as_of=as_of, format="csv", figures="cases"
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 30 and rows[-1]["date"] == DAYS[2] and rows[-2]["date"] == DAYS[1]
    cases = dict(flatten({"cases": got["cases"]}))
    assert {n: int(rows[-2][n]) for n in cases} == cases
    assert "screened.new" not in rows[0]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "2020-01-10", "to": "2020-01-09"}, "from"),
        ({"from": "2019-01-01", "to": "2020-01-09"}, "from"),
        ({"to": "2099-01-01"}, "to"),
        ({"to": "2020-02-30"}, "to"),
        ({"from": "yesterday"}, "from"),
        ({"figures": "screened.nope"}, "figures"),
        ({"figures": ","}, "figures"),
        ({"cutoff": "18:30"}, "cutoff"),
        ({"format": "text"}, "format"),
    ],
)
def test_bad_parameters_are_refused_by_name(
    pipeline: Pipeline, params: dict[str, str], parameter: str
) -> None:
    resp = pipeline.get("/v1/reports/series", jurisdiction="34", **params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["details"][0]["parameter"] == parameter


def test_366_dates_are_answered(pipeline: Pipeline) -> None:
    body = series(pipeline, "3418", **{"from": "2019-01-29", "to": "2020-01-29"}, figures="screened.new")
    assert len(body["dates"]) == 366
