from __future__ import annotations

from services.aggregator.dead_letters import DeadLetter, Message, split_unknown
from tests.unit.test_fold import record, screening


def test_a_jurisdiction_missing_from_the_registry_makes_a_dead_letter() -> None:
    known = record(screening())
    stray = record(screening() | {"jurisdiction": "340826103999"})
    m1, m2 = Message(0, 7, 0, b"340826", known.to_json()), Message(1, 9, 3, b"340826", stray.to_json())
    keep, dead = split_unknown([(m1, known), (m2, stray)], {"340826103999"})
    assert keep == [(m1, known)]
    assert dead == [
        DeadLetter(1, 9, 3, b"340826", stray.to_json(), "jurisdiction 340826103999 is not in the registry")
    ]


def test_a_dead_letter_names_its_source_and_reason_in_headers() -> None:
    letter = DeadLetter(2, 41, 5, None, b"junk", "not JSON")
    assert dict(letter.headers("ribao.events.v1")) == {
        "ribao.source.topic": b"ribao.events.v1",
        "ribao.source.partition": b"2",
        "ribao.source.offset": b"41",
        "ribao.source.line": b"5",
        "ribao.error": b"not JSON",
    }
