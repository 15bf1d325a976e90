"""The counting model against the reference: the deltas the aggregator emits,
summed as the API sums them, give the reference's figures for every
jurisdiction level, date, cutoff and as_of, whatever the order and batching
in which the events arrive (services/aggregator/contributions.py,
counting_state.py, services/common/counting.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import codes
from schemas.records import EventRecord, to_micros
from services.aggregator.contributions import Deltas
from services.aggregator.counting_state import CountingState, Version, version_of
from services.aggregator.fold import TopicPosition, fold
from services.common.counting import Model, read_figures
from services.common.figures import DEFAULT_FOCUS_AREAS
from services.common.reference import daily_figures
from services.common.windows import report_window
from tests.integration.eventgen import DAYS, record_sets

ZONE = ZoneInfo("Asia/Shanghai")
#: villages in two towns of one county, another county and another province:
#: one person can count at every level
VILLAGES = ["340826103001", "340826103002", "340826104001", "341321100001", "420102001001"]
CODES = sorted({a for v in VILLAGES for a in codes.ancestors(v)})
MODEL = Model(DEFAULT_FOCUS_AREAS)


def versions(records: list[EventRecord]) -> list[Version]:
    return [version_of(fold(r, r.to_json(), TopicPosition(0, 0))) for r in records]


def rows(deltas: Deltas) -> list[tuple[int, tuple[str, int, int, int], int]]:
    return [(t, cell, d) for (t, cell), d in deltas.items()]


def as_of_choices(records: list[EventRecord]) -> list[datetime]:
    out = [datetime(2099, 1, 1, tzinfo=UTC)]
    for r in records:
        out += [r.recorded_at, r.recorded_at - timedelta(microseconds=1)]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_summed_deltas_equal_the_reference(data: st.DataObject) -> None:
    records = data.draw(record_sets(VILLAGES))
    deltas = CountingState(MODEL).apply(versions(records))
    for _ in range(6):
        code = data.draw(st.sampled_from(CODES))
        day = date.fromisoformat(data.draw(st.sampled_from(DAYS)))
        window = report_window(day, data.draw(st.integers(0, 24)), ZONE)
        as_of = data.draw(st.sampled_from(as_of_choices(records)))
        got = read_figures(
            rows(deltas), MODEL, code, to_micros(window.start), to_micros(window.end), to_micros(as_of)
        )
        assert got == daily_figures(records, code, window, as_of), (code, day, window, as_of)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_and_batching_emits_the_same_sums(data: st.DataObject) -> None:
    records = data.draw(record_sets(VILLAGES))
    whole = CountingState(MODEL).apply(versions(records))
    shuffled = data.draw(st.permutations(versions(records)))
    # a redelivered batch is the same versions again: the state is a set
    if shuffled:
        shuffled = shuffled + data.draw(st.lists(st.sampled_from(shuffled), max_size=5))
    state = CountingState(MODEL)
    summed: dict[tuple[int, tuple[str, int, int, int]], int] = defaultdict(int)
    i = 0
    while i < len(shuffled):
        n = data.draw(st.integers(1, 6))
        for key, d in state.apply(shuffled[i : i + n]).items():
            summed[key] += d
        i += n
    assert {k: v for k, v in summed.items() if v} == whole
