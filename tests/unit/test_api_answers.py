"""The API's answers as documented: the figures model is exactly the figures'
shape, the OpenAPI document has no FastAPI 422, parameters are refused by
name, and the text report says how far its figures go."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from services.api import models, params
from services.api.app import create_app
from services.api.errors import BadParameter
from services.api.text_report import as_of_text
from services.common.figures import empty_figures

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 1, 15, tzinfo=UTC)  # 09:15 in Shanghai


@pytest.mark.parametrize("areas", [("42", "4201"), (), ("11", "1101", "31")])
def test_the_figures_model_is_the_figures_shape(areas: tuple[str, ...]) -> None:
    figures = empty_figures(areas)
    # same keys, same order: the JSON does not change by going through the model
    assert orjson.dumps(models.Figures.model_validate(figures).model_dump()) == orjson.dumps(figures)


def test_the_figures_model_refuses_a_key_it_does_not_document() -> None:
    figures = empty_figures()
    figures["checkpoints"]["masks_handed_out"] = 1
    with pytest.raises(ValueError):
        models.Figures.model_validate(figures)


def test_the_document_has_no_fastapi_422() -> None:
    doc = create_app().openapi()
    text = orjson.dumps(doc).decode()
    assert '"422"' not in text and "HTTPValidationError" not in text
    for path, item in doc["paths"].items():
        for op in item.values():
            if path.startswith("/v1/"):
                assert {"200", "400", "401", "429", "503"} <= set(op["responses"]), path
                error = op["responses"]["400"]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/ErrorResponse"}


def query(**raw: str | None) -> params.ReportQuery:
    fields: dict[str, str | None] = {"jurisdiction": "341823", "date": None, "cutoff": None, "as_of": None}
    fields |= {"grace_hours": None} | raw
    return params.report_query(params.RawReportQuery(**fields), SH, 2, NOW)  # type: ignore[arg-type]


def refusal(**raw: str | None) -> BadParameter:
    with pytest.raises(BadParameter) as caught:
        query(**raw)
    return caught.value


def test_the_future_is_refused_by_name() -> None:
    assert refusal(as_of="2026-11-30T09:20:01+08:00").parameter == "as_of"
    assert query(as_of="2026-11-30T09:15:00+08:00").as_of == NOW
    # a client clock a little ahead: as of now, and the answer says now
    assert query(as_of="2026-11-30T09:20:00+08:00").as_of == NOW
    assert refusal(date="2026-12-01").parameter == "date"
    assert query(date="2026-11-30").day.isoformat() == "2026-11-30"
    # with cutoff 09:00, tomorrow's window opened at 09:00 today; with 10:00 it has not
    assert query(date="2026-12-01", cutoff="09:00").day.isoformat() == "2026-12-01"
    assert refusal(date="2026-12-01", cutoff="10:00").parameter == "date"


def test_grace_hours_says_its_range() -> None:
    for raw in ("-1", "169", "-0.5"):
        error = refusal(grace_hours=raw)
        assert error.parameter == "grace_hours" and "non-negative" in error.message, raw
    assert "number of hours" in refusal(grace_hours="soon").message
    assert query(grace_hours="0").deadline == query(grace_hours="0.0").deadline


def test_formats_are_refused_by_name() -> None:
    assert params.output_format(None, ("json", "csv")) == "json"
    with pytest.raises(BadParameter) as caught:
        params.output_format("xlsx", ("json", "csv"))
    assert caught.value.parameter == "format" and "json, csv" in caught.value.message
    with pytest.raises(BadParameter):
        params.output_format("text", ("json", "csv"))


def report(as_of: str, date: str = "2026-11-30", cutoff: str = "24:00") -> dict[str, object]:
    q = query(date=date, cutoff=cutoff, as_of=as_of)
    return {
        "date": date,
        "cutoff": cutoff,
        "as_of": as_of,
        "window": {"start": q.window.start.isoformat(), "end": q.window.end.isoformat()},
    }


def test_the_text_report_says_how_far_its_figures_go() -> None:
    assert as_of_text(report("2026-11-30T09:15:00+08:00")) == "11月30日9时15分"
    assert as_of_text(report("2026-11-30T09:00:59+08:00")) == "11月30日9时"
    assert as_of_text(report("2026-11-30T09:15:00+08:00", "2026-11-29")) == "2026年11月29日24时"
    assert as_of_text(report("2026-11-29T10:00:00+08:00", "2026-11-29")) == "11月29日10时"
    # cutoff 18:00: the window of 11-30 ends at 18:00 on the 30th, not yet at 09:15
    assert as_of_text(report("2026-11-30T09:15:00+08:00", cutoff="18:00")) == "11月30日9时15分"
    assert as_of_text(report("2026-11-30T09:15:00+08:00", "2026-11-29", "18:00")) == "2026年11月29日18时"
