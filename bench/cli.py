"""python -m bench run [--quick] [--province 37] [--events N] [--out PATH] ...

Drives a realistic load (bench/loadgen.py) through the real stack started
from this checkout (its own database, topic and ports on the running Kafka
and ClickHouse) and reports each stage as a figure and as a ratio of the
ceiling measured in the same run; writes PATH (JSON) and PATH with .md.
Not a test: nothing here asserts a time.

    .venv/bin/python -m bench run --quick      # < 5 minutes: smoke run
    .venv/bin/python -m bench run              # full: 10 M events, ~1 M through HTTP
    .venv/bin/python -m bench dashboard        # the dashboard's first paint on the dev stack
    .venv/bin/python -m bench reads --results R.json --database D   # the reads alone, on a kept run's data
    .venv/bin/python -m bench restart --results R.json --database D # aggregator SIGKILL recovery there
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bench import http
from bench.options import preset
from bench.runner import main as run_main


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("dashboard", help="the dashboard's first paint (bench/dashboard.py)", add_help=False)
    sub.add_parser(
        "reads", help="the API stage alone over a kept run's database (bench/reads.py)", add_help=False
    )
    sub.add_parser(
        "restart", help="aggregator SIGKILL recovery on a kept run's data (bench/restart.py)", add_help=False
    )
    run = sub.add_parser("run", help="run the benchmark")
    run.add_argument("--quick", action="store_true", help="a smoke run (40k events, short stages)")
    run.add_argument("--province", help="province code whose villages carry the load (default 37, 山东)")
    run.add_argument("--events", type=int, help="events in the 30-day history")
    run.add_argument("--http-events", type=int, help="of which the last N go through POST /v1/events")
    run.add_argument("--batch", type=int, help="events per POST /v1/events request")
    run.add_argument("--senders", type=int, help="concurrent senders in the ingest stage")
    run.add_argument("--aggregators", type=int, help="aggregator workers (one consumer group)")
    run.add_argument("--ingest-workers", type=int, help="ingest processes (RIBAO_INGEST_WORKERS; default 2)")
    run.add_argument("--offered-rate", type=int, help="events/s offered while freshness is measured")
    run.add_argument("--freshness-seconds", type=float, help="how long the offered load lasts")
    run.add_argument("--api-runs", type=int, help="timed runs of each API view")
    run.add_argument("--ceiling-records", type=int, help="records/rows in each ceiling measurement")
    run.add_argument("--replay-date", help="report date of the replay, YYYY-MM-DD")
    run.add_argument("--seed", type=int)
    run.add_argument(
        "--token",
        default=http.default_token(),
        help=f"bearer token for ingest and API (env {http.TOKEN_ENV})",
    )
    run.add_argument("--out", type=Path, help="results file (JSON; the table goes next to it as .md)")
    run.add_argument("--note", help="a remark for the results, e.g. what else ran on the machine")
    run.add_argument("--keep", action="store_true", help="keep the database, topics and logs")
    return p


def main(argv: list[str] | None = None) -> None:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["dashboard"]:
        from bench import dashboard

        dashboard.main(given[1:])
        return
    if given[:1] == ["reads"]:
        from bench import reads

        reads.main(given[1:])
        return
    if given[:1] == ["restart"]:
        from bench import restart

        restart.main(given[1:])
        return
    args = parser().parse_args(argv)
    opts = preset(args.quick).with_overrides(
        province=args.province,
        events=args.events,
        http_events=args.http_events,
        batch=args.batch,
        senders=args.senders,
        aggregators=args.aggregators,
        ingest_workers=args.ingest_workers,
        offered_rate=args.offered_rate,
        freshness_seconds=args.freshness_seconds,
        api_runs=args.api_runs,
        ceiling_records=args.ceiling_records,
        replay_date=args.replay_date,
        seed=args.seed,
        token=args.token,
        out=args.out,
        keep=args.keep or None,
        note=args.note,
    )
    if args.quick and args.events is not None and args.http_events is None:
        opts = opts.with_overrides(http_events=opts.events)
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    run_main(opts, command)
