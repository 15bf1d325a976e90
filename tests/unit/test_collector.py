"""The collector's settings for the aggregator's processes (services/common/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.common.collector import YOUNG, tune_for_batches


@pytest.fixture
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored")
def test_what_is_alive_is_frozen_and_young_collections_are_rarer() -> None:
    kept = [[i] for i in range(1000)]
    tune_for_batches()
    assert gc.get_threshold()[0] == YOUNG > 700
    assert gc.get_freeze_count() >= len(kept)
    # frozen objects are out of every generation the collector traverses
    assert not any(o is kept for o in gc.get_objects())
