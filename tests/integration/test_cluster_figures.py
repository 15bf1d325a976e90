"""Issue #15, item 2: sharding keeps figures exact. One fixed set of records
is written to a single-node pipeline (the shared stack) and to a pipeline on
the local cluster (2 shards x 2 replicas, 2 aggregators sharing the topic's
partitions, 2 API processes reading through different servers); every answer
of the daily report (with children, several as_of), the series, the
zero-report view and the auditor's replay is the same on both, figure by
figure, and the daily figures equal the reference implementation's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from schemas.records import EventRecord
from services.common import reference
from services.common.windows import report_window
from tests.integration import cluster
from tests.integration.eventgen import DAYS, bulk_records
from tests.integration.faults import end_offsets, flat, villages_of, wait_processed, write_registry
from tests.integration.harness import Pipeline, new_pipeline, produce, require_services

ZONE = ZoneInfo("Asia/Shanghai")
COUNTY = "341702"
RECORDS = 3000


@pytest.fixture(scope="module")
def servers(cluster_servers: cluster.ClusterServers) -> cluster.ClusterServers:
    return cluster_servers


@pytest.fixture(scope="module")
def pair(
    servers: cluster.ClusterServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Pipeline, Pipeline, dict[str, str], list[EventRecord]]]:
    """(single node, cluster, the cluster's service URLs, the records), both caught up."""
    work = tmp_path_factory.mktemp("cluster-figures")
    (work / "single").mkdir()
    clustered = cluster.cluster_pipeline(work / "cluster", servers.layout, ("3417",))
    single = new_pipeline(
        work / "single", RIBAO_REGISTRY_DIR=str(write_registry(work / "registry", ("3417",)))
    )
    require_services(single.settings)
    from services.common.setup import setup

    setup(single.settings, report=lambda _msg: None)
    single.token = single.credential("single-admin", "admin", "all")
    try:
        records = bulk_records(15, villages_of(clustered, COUNTY), RECORDS)
        for p in (single, clustered):
            produce(p.settings, records)
        single.start("aggregator")
        single.start("api", f"{single.api_url}/readyz", timeout=120)
        urls = cluster.start_services(clustered, servers.layout)
        for p in (single, clustered):
            wait_processed(p, end_offsets(p), timeout=600)
        yield single, clustered, urls, records
    finally:
        single.stop_all()
        cluster.remove(clustered)
        from services.common.clickhouse import client
        from services.common.topics import delete_topic

        client(single.settings, database="default").execute(
            f"DROP DATABASE IF EXISTS {single.settings.clickhouse_database}"
        )
        s = single.settings
        delete_topic(s, s.events_topic, s.dead_letter_topic_name, s.subjects_topic_name)


def as_ofs() -> list[datetime]:
    """Before, during and after the records' days (recorded times run to BASE + ~90 h)."""
    start = datetime(2020, 1, 27, 16, tzinfo=UTC)
    return [start + timedelta(hours=h) for h in (-10, 7, 30, 55)] + [datetime.now(UTC)]


def answer(base: str, p: Pipeline, path: str, **params: str) -> Any:
    resp = httpx.get(f"{base}{path}", params=params, headers=p.headers(), timeout=120)
    assert resp.status_code == 200, (base, path, params, resp.text[:300])
    return resp.json()


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The figures that differ, by row and dotted name: (cluster, one node)."""
    rows = [("", a, b)] + [
        (x["jurisdiction"]["code"], x, y)
        for x, y in zip(a.get("children", []), b.get("children", []), strict=False)
    ]
    out: dict[str, tuple[Any, Any]] = {}
    for name, x, y in rows:
        fx, fy = flat(x["figures"]), flat(y["figures"])
        out |= {
            f"{name}:{k}": (fx.get(k), fy.get(k)) for k in fx.keys() | fy.keys() if fx.get(k) != fy.get(k)
        }
    return out


def test_daily_figures_same_on_one_node_and_on_the_cluster(
    pair: tuple[Pipeline, Pipeline, dict[str, str], list[EventRecord]],
) -> None:
    single, clustered, urls, records = pair
    compared = 0
    apis = [urls["api-1"], urls["api-2"]]
    towns = sorted({v[:9] for v in villages_of(clustered, COUNTY)})[:3]
    for n, day in enumerate(DAYS):
        for m, as_of in enumerate(as_ofs()):
            for code in (COUNTY, *towns):
                params = {"jurisdiction": code, "date": day, "as_of": as_of.isoformat(), "children": "true"}
                one = answer(single.api_url, single, "/v1/reports/daily", **params)
                many = answer(apis[(n + m) % 2], clustered, "/v1/reports/daily", **params)
                assert many == one, (code, day, as_of, differences(many, one))
                compared += (1 + len(one["children"])) * len(flat(one["figures"]))
            window = report_window(date.fromisoformat(day), 24, ZONE)
            want = reference.daily_figures(records, COUNTY.ljust(12, "0"), window, as_of)
            county = answer(apis[m % 2], clustered, "/v1/reports/daily", jurisdiction=COUNTY, date=day,
                            as_of=as_of.isoformat())  # fmt: skip
            assert county["figures"] == want, (day, as_of)
    print(f"{compared} daily figures equal on one node and on the cluster")
    assert compared > 1000


def test_series_same_on_one_node_and_on_the_cluster(
    pair: tuple[Pipeline, Pipeline, dict[str, str], list[EventRecord]],
) -> None:
    single, clustered, urls, _records = pair
    towns = sorted({v[:9] for v in villages_of(clustered, COUNTY)})[:2]
    compared = 0
    for n, as_of in enumerate(as_ofs()):
        for code in (COUNTY, *towns):
            params = {"jurisdiction": code, "from": DAYS[0], "to": DAYS[-1], "as_of": as_of.isoformat()}
            one = answer(single.api_url, single, "/v1/reports/series", **params)
            many = answer(urls[f"api-{n % 2 + 1}"], clustered, "/v1/reports/series", **params)
            assert many == one, (code, as_of)
            compared += sum(len(flat(d["figures"])) for d in one["dates"])
    print(f"{compared} series figures equal on one node and on the cluster")
    assert compared > 100


def test_zero_report_view_same_on_one_node_and_on_the_cluster(
    pair: tuple[Pipeline, Pipeline, dict[str, str], list[EventRecord]],
) -> None:
    single, clustered, urls, _records = pair
    for n, day in enumerate(DAYS):
        for as_of in as_ofs():
            params = {"jurisdiction": COUNTY, "date": day, "as_of": as_of.isoformat(), "limit": "10000"}
            one = answer(single.api_url, single, "/v1/reports/zero", **params)
            many = answer(urls[f"api-{n % 2 + 1}"], clustered, "/v1/reports/zero", **params)
            assert many == one, (day, as_of)


def test_replay_same_on_one_node_and_on_the_cluster(
    pair: tuple[Pipeline, Pipeline, dict[str, str], list[EventRecord]],
) -> None:
    single, clustered, urls, _records = pair
    for n, day in enumerate(DAYS):
        as_of = as_ofs()[-2].isoformat()
        params = {"jurisdiction": COUNTY, "date": day, "as_of": as_of, "limit": "10000"}
        one = answer(single.api_url, single, "/v1/audit/replay", **params)
        many = answer(urls[f"api-{n % 2 + 1}"], clustered, "/v1/audit/replay", **params)
        assert {k: v for k, v in many.items() if k != "events"} == {
            k: v for k, v in one.items() if k != "events"
        }, day
        assert len(many["events"]) == len(one["events"]), day
        for i, (a, b) in enumerate(zip(many["events"], one["events"], strict=True)):
            assert a == b, (day, i, a, b)
