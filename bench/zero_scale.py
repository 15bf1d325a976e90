"""Benchmark: 零报告 and 日报告 latency at national scale, with a realistic day
of submissions from the registry's 620,573 villages in the store.

Not a test (nothing asserts a time). Run with Kafka and ClickHouse up
(`ribao stack up --infra`):

    .venv/bin/python -m bench.zero_scale [--runs 20] [--keep]

It writes a day of fact rows straight into a database of its own
(`ribao_zero_scale`, dropped at the end unless --keep): 60% of villages report
1-4 events (5% of them after the deadline), 25% send a zero report (1 in 50
of them contradicted by a real event), 15% send nothing; then counts them
as `ribao rebuild-counts` does (the reads use the counting model's rows,
not the fact rows). Then it starts the API on that database and times each
view over HTTP.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from schemas.records import to_micros
from services.aggregator.rebuild import rebuild
from services.common.clickhouse import client, migrate
from services.common.config import REPO_DIR, CommonSettings
from services.common.setup import load_registry
from services.common.windows import report_window

DAY = date(2020, 1, 28)
ZONE = ZoneInfo("Asia/Shanghai")
VIEWS = [
    ("village daily", "/v1/reports/daily", {"jurisdiction": "370102001002"}),
    ("county daily + children", "/v1/reports/daily", {"jurisdiction": "370102", "children": "true"}),
    ("province daily (山东)", "/v1/reports/daily", {"jurisdiction": "37"}),
    ("national daily", "/v1/reports/daily", {"jurisdiction": "00"}),
    ("province zero (山东, 62k villages)", "/v1/reports/zero", {"jurisdiction": "37"}),
    ("national zero (620k villages)", "/v1/reports/zero", {"jurisdiction": "00"}),
    ("national zero, towns", "/v1/reports/zero", {"jurisdiction": "00", "unit_level": "town"}),
]


#: each kind's fact attribute, as the fold files it (services/aggregator/fold.py)
ATTRS = {
    "screening.registered": "other",
    "isolation.started": "home",
    "case.classified": "suspected",
    "symptom.reported": "",
}


def load_day(settings: CommonSettings, seed: int = 1) -> int:
    rng = random.Random(seed)
    ch = client(settings)
    villages = [r[0] for r in ch.execute("SELECT code FROM divisions WHERE level = 'village'")]
    window = report_window(DAY, 24, ZONE)
    start, deadline = to_micros(window.start), to_micros(window.end + timedelta(hours=2))
    kinds = ("screening.registered", "isolation.started", "case.classified", "symptom.reported")
    rows = []
    for code in villages:
        roll = rng.random()
        if roll < 0.60:
            late = rng.random() < 0.05
            for _ in range(rng.randint(1, 4)):
                occurred = start + rng.randrange(86_400_000_000)
                recorded = (
                    (deadline + rng.randrange(3_600_000_000))
                    if late
                    else min(occurred + rng.randrange(3_600_000_000), deadline)
                )
                kind = rng.choice(kinds)
                rows.append(
                    (
                        kind,
                        code,
                        f"p{rng.getrandbits(40)}",
                        occurred,
                        recorded,
                        f"{rng.getrandbits(64):016x}",
                        ATTRS[kind],
                        "",
                        14,
                    )
                )
        elif roll < 0.85:
            recorded = start + rng.randrange(26 * 3_600_000_000)
            rows.append(
                (
                    "report.zero",
                    code,
                    "",
                    start,
                    recorded,
                    f"{rng.getrandbits(64):016x}",
                    DAY.isoformat(),
                    "",
                    0,
                )
            )
            if rng.random() < 0.02:
                rows.append(
                    (
                        "screening.registered",
                        code,
                        f"p{rng.getrandbits(40)}",
                        start + 3_600_000_000,
                        recorded + 1,
                        f"{rng.getrandbits(64):016x}",
                        "returnee",
                        "420100000000",
                        0,
                    )
                )
    cols = "kind, jurisdiction, subject, occurred_us, recorded_us, event_id, attr, origin, value"
    for i in range(0, len(rows), 200_000):
        ch.execute(f"INSERT INTO facts ({cols}) VALUES", rows[i : i + 200_000])
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the ribao_zero_scale database")
    args = parser.parse_args()
    settings = CommonSettings(clickhouse_database="ribao_zero_scale")
    print(f"setting up {settings.clickhouse_database} ...", flush=True)
    migrate(settings)
    load_registry(settings, lambda _m: None)
    have = client(settings).execute("SELECT count() FROM facts")[0][0]
    if have == 0:
        t = time.perf_counter()
        n = load_day(settings)
        print(f"loaded {n:,} fact rows (one day, 620,573 villages) in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        stats = rebuild(settings, total=lambda n: print(f"counting {n:,} subjects ...", flush=True))
        took = time.perf_counter() - t
        print(f"counted {stats.subjects:,} subjects ({stats.deltas:,} deltas) in {took:.1f}s")
    else:
        print(f"reusing {have:,} fact rows")
    port = "18180"
    from services.common.credentials import CredentialStore

    token = CredentialStore(settings).create(f"bench-{os.getpid()}", "viewer", "all")[1]
    auth = {"authorization": f"Bearer {token}"}
    env = dict(
        os.environ,
        RIBAO_CLICKHOUSE_DATABASE=settings.clickhouse_database,
        RIBAO_API_PORT=port,
        RIBAO_RATE_LIMIT="1000000/minute",
    )
    api = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "api"],
        env=env,
        cwd=REPO_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        as_of = datetime(2020, 1, 29, 12, tzinfo=UTC).isoformat()
        print(f"\n{'view':40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   (runs: {args.runs})")
        for name, path, params in VIEWS:
            query = {**params, "date": DAY.isoformat(), "as_of": as_of}
            first = httpx.get(base + path, params=query, headers=auth, timeout=60)
            first.raise_for_status()
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                httpx.get(base + path, params=query, headers=auth, timeout=60).raise_for_status()
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"{name:40} {statistics.median(times):8.1f} {p99:8.1f} {times[-1]:8.1f}")
            if path.endswith("zero") and params["jurisdiction"] == "00" and "unit_level" not in params:
                body = first.json()
                print(f"{'':40} expected {body['expected']:,}, counts {body['counts']}")
    finally:
        api.terminate()
        api.wait()
        if not args.keep:
            client(settings, database="default").execute(
                f"DROP DATABASE IF EXISTS {settings.clickhouse_database}"
            )


if __name__ == "__main__":
    main()
