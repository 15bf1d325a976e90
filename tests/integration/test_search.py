"""GET /v1/jurisdictions?q= on the real registry (665,272 divisions): names
by substring, codes by prefix, each with its ancestors' names, at most 20,
within the caller's scope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import Pipeline


def search(p: Pipeline, token: str | None = None, **params: str) -> dict[str, Any]:
    resp = p.get("/v1/jurisdictions", token=token, **params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_a_name_finds_its_divisions_with_their_ancestors(pipeline: Pipeline) -> None:
    body = search(pipeline, q="许岭")
    first = body["results"][0]
    assert (first["code"], first["name"], first["level"]) == ("340826103000", "许岭镇", "town")
    assert [a["name"] for a in first["ancestors"]] == ["安徽省", "安庆市", "宿松县"]
    assert all("许岭" in r["name"] for r in body["results"])
    levels = ["province", "city", "county", "town", "village"]
    ranks = [(not r["name"].startswith("许岭"), levels.index(r["level"]), r["code"]) for r in body["results"]]
    assert ranks == sorted(ranks)


def test_at_most_20_and_only_within_the_scope(pipeline: Pipeline) -> None:
    everywhere = search(pipeline, q="石庙")
    assert len(everywhere["results"]) == 20 and everywhere["more"]
    assert {r["code"][:2] for r in everywhere["results"]} != {"37"}
    token = pipeline.credential("search-viewer-37", "viewer", "37")
    shandong = search(pipeline, token=token, q="石庙")
    assert shandong["results"] and all(r["code"].startswith("37") for r in shandong["results"])
    assert all(r["ancestors"][0]["name"] == "山东省" for r in shandong["results"])
    assert search(pipeline, token=token, q="许岭")["results"] == []


def test_a_code_prefix_lists_the_code_then_below_it(pipeline: Pipeline) -> None:
    body = search(pipeline, q="340826103", limit="5")
    got = [r["code"] for r in body["results"]]
    assert got[0] == "340826103000" and len(got) == 5 and body["more"]
    assert all(c.startswith("340826103") for c in got) and got[1:] == sorted(got[1:])


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"q": " "}, "q"), ({"q": "x" * 51}, "q"), ({"q": "许岭", "limit": "21"}, "limit"), ({}, "q")],
)
def test_bad_parameters_are_refused_by_name(
    pipeline: Pipeline, params: dict[str, str], parameter: str
) -> None:
    resp = pipeline.get("/v1/jurisdictions", **params)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["details"][0]["parameter"] == parameter


def test_a_token_is_needed(pipeline: Pipeline) -> None:
    resp = pipeline.get("/v1/jurisdictions", token="", q="许岭")
    assert resp.status_code == 401
