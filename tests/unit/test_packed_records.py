"""Several events in one Kafka record (schemas/records.py): packing by
partition (ingest, the bench's preload) and cutting a take of records into
the aggregator's batches (services/aggregator/records.py)."""

from __future__ import annotations

from itertools import pairwise

import orjson
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import pack, unpack
from services.aggregator.dead_letters import Message
from services.aggregator.records import chunks, lines_of
from services.common.producer import pack_by_partition
from tests.unit.test_fold import record, screening

values = st.lists(st.binary(min_size=1, max_size=40).map(lambda b: orjson.dumps(b.hex())), max_size=30)


@given(values)
def test_unpack_gives_back_what_was_packed(vs: list[bytes]) -> None:
    if vs:
        assert unpack(pack(vs)) == vs


def test_event_records_are_lines_and_a_json_value_across_lines_is_one() -> None:
    a, b = record(screening()).to_json(), record(screening()).to_json()
    assert b"\n" not in a
    assert unpack(pack([a, b])) == [a, b]
    assert unpack(a) == [a]  # a record written before: one event
    spread = orjson.dumps(orjson.loads(a), option=orjson.OPT_INDENT_2)
    assert unpack(spread) == [spread]  # not from ingest, but one JSON value
    assert unpack(b"junk\n") == [b"junk", b""]  # each line its own dead letter


@given(
    st.lists(st.tuples(st.integers(0, 5), st.binary(min_size=1, max_size=50)), max_size=60),
    st.integers(1, 200),
)
def test_pack_by_partition_keeps_every_value_once_in_order_and_under_the_cap(
    messages: list[tuple[int, bytes]], cap: int
) -> None:
    values = [v.replace(b"\n", b" ") for _, v in messages]
    packed = pack_by_partition([p for p, _ in messages], values, cap)
    members = [m for r in packed for m in r.members]
    assert sorted(members) == list(range(len(messages)))
    for r in packed:
        assert all(messages[m][0] == r.partition for m in r.members)
        assert list(r.members) == sorted(r.members)  # in order within a partition
        assert unpack(r.value) == [values[m] for m in r.members]
        assert len(r.value) <= cap or len(r.members) == 1
    # and no two records of one partition could have been one
    by_partition: dict[int, list[int]] = {}
    for r in packed:
        by_partition.setdefault(r.partition, []).append(len(r.value))
    for sizes in by_partition.values():
        assert all(x + 1 + y > cap for x, y in pairwise(sizes))


@given(st.lists(st.integers(1, 7), max_size=20), st.integers(1, 10))
def test_chunks_hold_every_line_once_in_order_and_ack_a_record_with_its_last_line(
    sizes: list[int], most: int
) -> None:
    records = [(k, [Message(0, k, i, None, b"x") for i in range(n)]) for k, n in enumerate(sizes)]
    cut = list(chunks(records, most))
    lines = [(m.offset, m.line) for c in cut for m in c.lines]
    assert lines == [(k, i) for k, n in enumerate(sizes) for i in range(n)]
    assert all(len(c.lines) <= most for c in cut)
    assert [k for c in cut for k in c.completed] == list(range(len(sizes)))
    seen = 0
    for c in cut:
        seen += len(c.lines)
        for k in c.completed:  # acknowledged only once its every line is in this chunk or before
            assert sum(sizes[: k + 1]) <= seen


def test_lines_of_a_record() -> None:
    a, b = record(screening()).to_json(), record(screening()).to_json()
    assert lines_of(3, 9, None, pack([a, b])) == [Message(3, 9, 0, None, a), Message(3, 9, 1, None, b)]
    assert lines_of(3, 9, b"k", None) == [Message(3, 9, 0, b"k", None)]
