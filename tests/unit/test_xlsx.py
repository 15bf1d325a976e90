"""The xlsx headings: every figure has its own Chinese heading."""

from __future__ import annotations

import re

import pytest

from services.api import xlsx
from services.common.figures import empty_figures, flatten


@pytest.mark.parametrize("areas", [("42", "4201"), ("11",)])
def test_every_figure_has_a_chinese_heading_of_its_own(areas: tuple[str, ...]) -> None:
    names = [n for n, _ in flatten(empty_figures(areas))]
    headings = [xlsx.figure_heading(n, {"42": "湖北省", "4201": "武汉市"}) for n in names]
    assert len(set(headings)) == len(names)
    assert all(re.search(r"[\u4e00-\u9fff]", h) for h in headings)
    assert headings[:2] == ["当日新增排查", "累计排查"]
    assert xlsx.figure_heading("isolation.current.home", {}) == "现有居家隔离"
    assert (
        xlsx.figure_heading("screened.by_origin.4201.new", {"4201": "武汉市"}) == "当日新增排查（来自武汉市）"
    )
