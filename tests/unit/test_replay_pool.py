from __future__ import annotations

import operator

from services.api.replay_pool import ReplayPool


def test_every_item_is_mapped_once_by_the_processes() -> None:
    pool = ReplayPool(2)
    try:
        got = list(pool.map_unordered(operator.neg, range(101)))
        again = list(pool.map_unordered(operator.neg, range(7)))  # the pool is reused
    finally:
        pool.close()
    assert sorted(got) == sorted(-i for i in range(101))
    assert sorted(again) == sorted(-i for i in range(7))


def test_no_workers_runs_in_the_caller() -> None:
    assert list(ReplayPool(0).map_unordered(operator.neg, [1, 2, 3])) == [-1, -2, -3]
