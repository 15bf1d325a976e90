"""The series (contract section 6, `GET /v1/reports/series`): the section 4
figures of J for each date from `from` to `to`, with the rolling sums of
every `.new` figure beside it, from one store query (series_sql.py)."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from typing import Any

from schemas.records import to_micros
from services.api import divisions, models, series_sql
from services.api.errors import BadParameter
from services.api.params import SeriesQuery
from services.api.report import iso, jurisdiction
from services.api.state import ApiState
from services.common.counting import Model
from services.common.figures import Figures, empty_figures, flatten
from services.common.windows import format_cutoff, report_window

#: the rolling sums beside each `.new` figure: over the 7 and 14 dates ending on D
ROLLING = (7, 14)
#: the dates before `from` that the longest rolling sum reads
BEFORE = max(ROLLING) - 1


def figure_names(areas: Sequence[str]) -> list[str]:
    """Every dotted figure name of section 4, in the figures' order."""
    return [name for name, _ in flatten(empty_figures(areas))]


def selection(raw: str | None, names: Sequence[str]) -> list[str]:
    """The figures asked for (`figures=`, a comma list; default all), in the
    figures' order. A name may be a figure (`screened.new`) or a group of them
    (`isolation.current`, `screened`); a `.new` figure brings its rolling sums."""
    if raw is None:
        return list(names)
    wanted = [w.strip() for w in raw.split(",") if w.strip()]
    if not wanted:
        raise BadParameter("figures", "a comma-separated list of dotted figure names, e.g. screened.new")
    chosen: set[str] = set()
    for w in wanted:
        found = [n for n in names if n == w or n.startswith(w + ".")]
        if not found:
            raise BadParameter("figures", f"{w} is not a figure (e.g. screened.new, isolation.current)")
        chosen.update(found)
    return [n for n in names if n in chosen]


def with_rolling(values: Sequence[dict[str, int]], selected: Sequence[str], skip: int) -> list[Figures]:
    """The selected figures of each date after the first `skip` (nested by
    dotted name), each `.new` figure followed by its rolling sums over the
    dates up to it (those before `from` included)."""
    # running totals of each `.new` figure: a rolling sum is a difference of two
    prefix = {
        n: list(itertools.accumulate((v[n] for v in values), initial=0))
        for n in selected
        if n.endswith(".new")
    }
    paths = [(n, *n.rsplit(".", 1)) for n in selected]
    out = []
    for d in range(skip, len(values)):
        nested: Figures = {}
        groups: dict[str, Figures] = {}
        for name, group, leaf in paths:
            node = groups.get(group)
            if node is None:
                node = nested
                for part in group.split("."):
                    node = node.setdefault(part, {})
                groups[group] = node
            node[leaf] = values[d][name]
            if leaf == "new":
                sums = prefix[name]
                for span in ROLLING:
                    node[f"new_rolling{span}"] = sums[d + 1] - sums[max(0, d + 1 - span)]
        out.append(nested)
    return out


def build_series(state: ApiState, q: SeriesQuery, raw_figures: str | None) -> models.SeriesReport:
    zone = state.settings.zone
    areas = state.settings.focus_area_list
    selected = selection(raw_figures, figure_names(areas))
    division = divisions.division(state.store, q.code)
    days = q.dates(BEFORE)
    windows = [report_window(d, q.cutoff_hour, zone) for d in days]
    starts = [to_micros(w.start) for w in windows]
    values = series_sql.figures(
        state.store, Model(tuple(areas)), q.code, starts, to_micros(windows[-1].end), to_micros(q.as_of)
    )
    return models.SeriesReport.model_validate(
        {
            "jurisdiction": jurisdiction(division),
            "from": q.first.isoformat(),
            "to": q.last.isoformat(),
            "cutoff": format_cutoff(q.cutoff_hour),
            "as_of": iso(q.as_of.astimezone(zone)),
            "dates": [
                {"date": day.isoformat(), "figures": f}
                for day, f in zip(days[BEFORE:], with_rolling(values, selected, BEFORE), strict=True)
            ],
        }
    )


def to_csv(report: models.SeriesReport) -> str:
    """One row per date: the parameters, then a column per dotted figure name
    (the rolling sums named `screened.new_rolling7`, ...)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [n for n, _ in flatten(report.dates[0].figures)] if report.dates else []
    writer.writerow(["code", "name", "date", "cutoff", "as_of", *names])
    j = report.jurisdiction
    for row in report.dates:
        flat = dict(flatten(row.figures))
        writer.writerow([j.code, j.name, row.date, report.cutoff, report.as_of, *(flat[n] for n in names)])
    return out.getvalue()


def as_json(report: models.SeriesReport) -> dict[str, Any]:
    return report.model_dump(mode="json", by_alias=True)
