"""Live reads on a kept bench store, as if served at the end of its run: a
report as of the store's last stamp, with the clock at that stamp (what HQ's
live view read then), once with the side rule of counts_sql.params (nothing is
stamped after now) and once with the nearer whole hour (the rule before it).
Both must give the same report; it prints each one's p50/p99 and the exact
rows the tail holds.

    python -m bench.tail_side --database ribao_bench_9a49b1d8 --runs 20
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from schemas.records import from_micros
from services.api import counts_sql, divisions
from services.api.daily import DailyQuery
from services.api.store import ReadStore
from services.common.config import CommonSettings
from services.common.windows import deadline, report_window

ZONE = ZoneInfo("Asia/Shanghai")
HOUR_US = 3_600_000_000


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--province", default="370000000000")
    args = ap.parse_args()
    settings = CommonSettings().model_copy(update={"clickhouse_database": args.database})
    store = ReadStore(settings)
    ((last,),) = store.query("SELECT max(t) FROM counts_exact")
    as_of_us = int(last) + 1
    ((rows,),) = store.query(
        "SELECT count() FROM counts_exact WHERE code = %(c)s AND t > %(lo)s AND t <= %(hi)s",
        {"c": int(args.province), "lo": as_of_us // HOUR_US * HOUR_US, "hi": as_of_us},
    )
    ((county,),) = store.query(
        "SELECT intDiv(code, 1000000) * 1000000 AS c FROM counts_exact WHERE t > %(lo)s"
        " AND code %% 1000000 = 0 AND code %% 100000000 != 0 GROUP BY c ORDER BY count() DESC LIMIT 1",
        {"lo": as_of_us // HOUR_US * HOUR_US},
    )
    as_of = from_micros(as_of_us)
    day = as_of.astimezone(ZONE).date()
    window = report_window(day, 24, ZONE)
    query = DailyQuery(store, ())
    county_code = str(county).zfill(12)
    towns = [kid.code for kid in divisions.children(store, county_code)]
    # (the report's code, the codes read at once)
    scopes = {
        "province daily": (args.province, [args.province]),
        "county daily + children": (county_code, [county_code, *towns]),
        "county daily": (county_code, [county_code]),
    }
    rules: dict[str, Callable[[], int]] = {
        "clock at the last stamp (side rule)": lambda: as_of_us,
        "clock far after (nearer whole hour)": lambda: as_of_us + 100 * HOUR_US,
    }
    print(f"as of {as_of.isoformat()} ({as_of_us - as_of_us // HOUR_US * HOUR_US} µs into the hour);")
    print(f"{rows:,} exact rows of {args.province} stamped since the whole hour before it\n")
    print("| read | rule | p50 ms | p99 ms |\n| --- | --- | ---: | ---: |")
    for name, (scope, group_codes) in scopes.items():
        answers = []
        for rule, clock in rules.items():
            counts_sql.now_us = clock
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                got = query.run(scope, group_codes, window, as_of, day.isoformat(), deadline(window, 2))
                times.append((time.perf_counter() - started) * 1000)
            answers.append(got)
            print(f"| {name} | {rule} | {_p(times, 0.5):.1f} | {_p(times, 0.99):.1f} |")
        assert answers[0] == answers[1], f"{name}: the two rules disagree"
    print("\nboth rules gave the same report for every read")


if __name__ == "__main__":
    main()
