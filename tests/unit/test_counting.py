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
from services.aggregator.contributions import (
    Deltas,
    appended,
    changed_submissions,
    difference,
    expanded,
    history,
    submissions,
)
from services.aggregator.counting_state import CountingState, Version, version_of
from services.aggregator.fold import TopicPosition, fold
from services.common.counting import Model, read_figures
from services.common.figures import DEFAULT_FOCUS_AREAS
from services.common.reference import daily_figures, reporting_status
from services.common.submissions import read_reporting
from services.common.windows import Window, report_window
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


def draw_question(data: st.DataObject, records: list[EventRecord]) -> tuple[str, date, Window, datetime]:
    """A report to ask: a jurisdiction, a date, a window (any cutoff) and an as_of."""
    code = data.draw(st.sampled_from(CODES))
    day = date.fromisoformat(data.draw(st.sampled_from(DAYS)))
    window = report_window(day, data.draw(st.integers(0, 24)), ZONE)
    return code, day, window, data.draw(st.sampled_from(as_of_choices(records)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_summed_deltas_equal_the_reference(data: st.DataObject) -> None:
    records = data.draw(record_sets(VILLAGES))
    deltas = CountingState(MODEL).apply(versions(records))
    for _ in range(6):
        code, day, window, as_of = draw_question(data, records)
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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_extending_a_history_equals_computing_it_whole(data: st.DataObject) -> None:
    records = data.draw(record_sets(VILLAGES))
    state = CountingState(MODEL)
    state.apply(versions(records))
    ids = MODEL.ids()
    for subject in state.members:
        now = state.counted(subject)
        # the subject as it was before its last few events arrived in recorded order
        k = data.draw(st.integers(0, len(now)))
        then = sorted(now, key=lambda c: c.since)[:k]
        new = appended(then, now, MODEL, ids)
        if new is not None:  # what the runner files: the new steps alone
            whole = difference(history(now, MODEL, ids), history(then, MODEL, ids))
            assert expanded(new) == expanded(whole), subject


def test_events_in_recorded_order_extend_the_history() -> None:
    day = datetime(2020, 1, 28, 2, tzinfo=UTC)
    records = [
        EventRecord.model_validate(
            {
                "recorded_at": day + timedelta(hours=i),
                "source": "t",
                "event": {
                    "event_id": f"00000000-0000-0000-0000-00000000000{i}",
                    "type": "isolation.started" if i % 2 else "screening.registered",
                    "jurisdiction": VILLAGES[i % 2],
                    "occurred_at": (day + timedelta(minutes=30 * i)).isoformat(),
                    "person": {"id": "p1"},
                    "data": {"mode": "home"} if i % 2 else {"category": "returnee"},
                },
            }
        )
        for i in range(4)
    ]
    state = CountingState(MODEL)
    state.apply(versions(records))
    now = state.counted("p:p1")
    for k in range(4):
        got = appended(now[:k], now, MODEL)
        assert got is not None
        assert expanded(got) == expanded(difference(history(now, MODEL), history(now[:k], MODEL)))


def _submission_rows(state: CountingState) -> list[tuple[int, tuple[str, int, int, int], int]]:
    return [(t, key, d) for (t, key), d in state.submitted.items()]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_submission_rows_give_the_reference_reporting_status(data: st.DataObject) -> None:
    """Section 5 from the submission rows (services/common/submissions.py),
    whatever the order and batching in which the events arrived."""
    records = data.draw(record_sets(VILLAGES))
    state = CountingState(MODEL)
    shuffled = data.draw(st.permutations(versions(records)))
    i = 0
    while i < len(shuffled):
        n = data.draw(st.integers(1, 6))
        state.apply(shuffled[i : i + n])
        i += n
    rows = _submission_rows(state)
    for _ in range(6):
        code, day, window, as_of = draw_question(data, records)
        got = read_reporting(
            rows, code, to_micros(window.start), to_micros(window.end), day.isoformat(), to_micros(as_of)
        )
        deadline = window.end + timedelta(hours=data.draw(st.sampled_from([-12, 0, 2])))
        want = reporting_status(records, code, day, window, deadline, as_of)
        first = None if want.submitted_at is None else to_micros(want.submitted_at)
        assert got.first_us == first, (code, day, window, as_of)
        assert got.status(to_micros(deadline)) == want.status, (code, day, window, as_of)
        assert got.contradicted == want.zero_report_contradicted, (code, day, window, as_of)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_changed_submissions_are_the_difference_of_the_two_sets_rows(data: st.DataObject) -> None:
    """What the runner files for a recount: the rows of the events that differ
    between the snapshot and the new counted set, equal to the difference of
    the two sets' whole rows, whatever arrived between them (any order)."""
    records = data.draw(record_sets(VILLAGES))
    shuffled = data.draw(st.permutations(versions(records)))
    k = data.draw(st.integers(0, len(shuffled)))
    before, after = CountingState(MODEL), CountingState(MODEL)
    before.apply(shuffled[:k])
    after.apply(shuffled)
    for subject in after.members:
        then, now = before.counted(subject), after.counted(subject)
        assert changed_submissions(then, now) == difference(submissions(now), submissions(then)), subject
