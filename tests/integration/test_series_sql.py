"""The series query (services/api/series_sql.py) on both engines, ClickHouse
18.16 and the current one (chdb): for any deltas, every date's figures are
`counting.read_figures`'s for that date's window, the plain-Python read the
daily report is checked against; with windows of one length (Asia/Shanghai)
and of 23 and 25 hours (Europe/Berlin across its changes of summer time)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.records import to_micros
from services.api import series_sql
from services.common.clickhouse import client, migrations
from services.common.config import CommonSettings
from services.common.counting import BUCKET_US, Model, read_figures
from services.common.figures import flatten
from services.common.windows import report_window
from tests.integration.harness import require_services
from tests.integration.test_store_compat import Chdb, Server

MODEL = Model(("42", "4201"))
COUNTERS = sorted(MODEL.ids().values())
Delta = tuple[int, tuple[str, int, int, int], int]
_CODES = itertools.count(1)


def _tables() -> list[str]:
    """The statements of migrations 011 and 018 that make the tables the series
    reads: the counts, and the stamps that pick the side of T it reads exactly."""
    made = ("counts (", "counts_exact (", "submissions_stamps (")
    return [
        s
        for m in migrations()
        if m.version in (11, 18)
        for s in m.statements
        if any(f"CREATE TABLE IF NOT EXISTS {t}" in s for t in made)
    ]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Chdb | Server]]:
    base = CommonSettings()
    require_services(base)
    conf = base.model_copy(update={"clickhouse_database": f"ribao_series_{uuid.uuid4().hex[:8]}"})
    client(conf, database="default").execute(f"CREATE DATABASE {conf.clickhouse_database}")
    current = Chdb(tmp_path_factory.mktemp("chdb"))
    both: list[Chdb | Server] = [Server(conf), current]
    try:
        for engine in both:
            for statement in _tables():
                engine.execute(statement)
        yield both
    finally:
        current.close()
        client(conf, database="default").execute(f"DROP DATABASE IF EXISTS {conf.clickhouse_database}")


class _Runner:
    def __init__(self, engine: Chdb | Server) -> None:
        self._engine = engine

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._engine.execute(sql, params)


def _store(engine: Chdb | Server, deltas: list[Delta]) -> None:
    hour = BUCKET_US
    engine.insert(
        "counts",
        "code, counter, bucket, gap, stamp_hour, delta",
        [(int(c), k, b, g, -(-t // hour), d) for t, (c, k, b, g), d in deltas],
    )
    engine.insert(
        "counts_exact",
        "code, t, counter, bucket, gap, delta",
        [(int(c), t, k, b, g, d) for t, (c, k, b, g), d in deltas],
    )
    engine.insert("submissions_stamps", "t", [(t,) for t in sorted({t for t, _, _ in deltas})])


CASES = [
    # zone, first date, dates, cutoff hour
    ("Asia/Shanghai", date(2020, 1, 20), 20, 24),
    ("Asia/Shanghai", date(2020, 1, 27), 3, 18),
    ("Europe/Berlin", date(2020, 3, 25), 9, 24),  # a 23-hour day (29 March)
    ("Europe/Berlin", date(2020, 10, 22), 8, 6),  # a 25-hour window (25 October)
]


@st.composite
def _deltas(draw: st.DrawFn, code: str, s: int, e: int, stamps: tuple[int, int]) -> list[Delta]:
    row = st.tuples(
        st.integers(*stamps),
        st.tuples(st.just(code), st.sampled_from(COUNTERS), st.integers(s - 40, e + 3), st.integers(1, 48)),
        st.integers(-2, 3).filter(bool),
    )
    return draw(st.lists(row, min_size=1, max_size=60))


# no shrinking: each step is two engines' round trips (minutes); the failing
# example is printed in full instead
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    print_blob=True,
)
@given(data=st.data())
def test_every_date_is_the_read_of_its_window_on_both_engines(
    engines: list[Chdb | Server], data: st.DataObject
) -> None:
    zone_name, first, n, cutoff = data.draw(st.sampled_from(CASES), label="windows")
    zone = ZoneInfo(zone_name)
    windows = [report_window(first + timedelta(days=i), cutoff, zone) for i in range(n)]
    starts = [to_micros(w.start) for w in windows]
    end = to_micros(windows[-1].end)
    # a code of its own per example (the tables are shared by the examples):
    # not drawn, since Hypothesis draws the same simple values again and
    # then an earlier example's deltas would count too
    code = str(10**11 + next(_CODES))
    lo, hi = starts[0] - 5 * BUCKET_US, end + 10 * BUCKET_US
    deltas = data.draw(_deltas(code, starts[0] // BUCKET_US, end // BUCKET_US, (lo, hi)), label="deltas")
    stamps = sorted({t for t, _, _ in deltas})
    as_of = data.draw(
        st.sampled_from([*stamps, stamps[0] - 1, hi, lo + BUCKET_US // 2, lo + BUCKET_US]), label="as_of"
    )
    # the read's "now" picks which side of T it reads one by one (the sums
    # are the same either way); a drawn one puts later stamps after "now"
    now = data.draw(st.sampled_from([None, as_of, as_of + BUCKET_US // 4, hi]), label="now")
    p = series_sql.params(code, starts, end, as_of, now)
    assert bool(p["hours"]) == (zone_name == "Asia/Shanghai")
    answers = []
    for engine in engines:
        _store(engine, deltas)
        answers.append(series_sql.figures(_Runner(engine), MODEL, code, starts, end, as_of, now))
    assert answers[0] == answers[1]
    for w, got in zip(windows, answers[0], strict=True):
        want = read_figures(deltas, MODEL, code, to_micros(w.start), to_micros(w.end), as_of)
        assert got == dict(flatten(want)), (zone_name, w.start.isoformat(), as_of)


def test_a_window_off_the_hour_is_refused() -> None:
    start = to_micros(datetime(2020, 1, 1, tzinfo=ZoneInfo("Asia/Kolkata")))
    with pytest.raises(ValueError):
        series_sql.params("340000000000", [start], start + 24 * BUCKET_US, start)
