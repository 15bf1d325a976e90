"""`ribao`: run each service, bring the local stack up and down, admin tasks."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from services.common.credentials import CredentialStore

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Epidemic-control daily reporting backend (日报告 / 零报告).",
)
stack_app = typer.Typer(no_args_is_help=True, help="The local stack: Kafka, ClickHouse, services.")
app.add_typer(stack_app, name="stack")
token_app = typer.Typer(
    no_args_is_help=True,
    help="Bearer credentials (admin): create, list, revoke, rotate. Tokens are shown once.",
)
app.add_typer(token_app, name="token")


def _say(msg: str) -> None:
    typer.echo(msg)


def _serve(app_: object, host: str, port: int) -> None:
    import uvicorn

    # log_config=None: uvicorn's loggers go to the root handler (services.common.logs)
    uvicorn.run(
        app_,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        log_config=None,
    )


@app.command()
def ingest() -> None:
    """Run the ingest service (POST /v1/events) in the foreground."""
    from services.common import logs
    from services.ingest.app import create_app
    from services.ingest.config import IngestSettings

    settings = IngestSettings()
    logs.configure(settings.log_format)
    if settings.ingest_workers > 1:
        from services.ingest.workers import serve

        serve(
            settings.ingest_host,
            settings.ingest_port,
            settings.ingest_workers,
            stop_timeout_s=settings.produce_timeout_s + 10,
        )
        return
    _serve(create_app(settings), settings.ingest_host, settings.ingest_port)


@app.command()
def api() -> None:
    """Run the API (reports, zero reports, jurisdictions) in the foreground."""
    from services.api.app import create_app
    from services.api.config import ApiSettings
    from services.common import logs

    settings = ApiSettings()
    logs.configure(settings.log_format)
    _serve(create_app(settings), settings.api_host, settings.api_port)


@app.command()
def aggregator() -> None:
    """Run the aggregator (Faust worker) in the foreground."""
    from services.aggregator.app import run_worker

    sys.argv = sys.argv[:1]  # Faust's worker reads argv; it gets none of ours
    run_worker()


@app.command()
def setup() -> None:
    """Apply ClickHouse migrations, create the events topic, load the registry."""
    from services.common.config import CommonSettings
    from services.common.setup import setup as do_setup

    do_setup(CommonSettings(), _say)


@app.command()
def verify() -> None:
    """Check the event archive against the events topic, partition by partition.

    Exits 1 when Kafka holds an offset (already folded) that the archive lacks,
    or the archive holds an offset Kafka does not have."""
    from services.aggregator.config import AggregatorSettings
    from services.common.verify import verify as check

    settings = AggregatorSettings()
    reports = check(settings, settings.aggregator_id)
    typer.echo(f"{'partition':>9} {'kafka offsets':>17} {'archived':>9} {'pending':>8}  problems")
    for r in reports:
        problems = [f"missing {a}..{b}" for a, b in r.missing[:20]]
        problems += [f"not in kafka {o}" for o in r.unknown[:20]]
        typer.echo(
            f"{r.partition:>9} {r.kafka_start:>8}..{r.kafka_end:<8} {r.archived:>9} {r.pending:>8}  "
            + (", ".join(problems) or "ok")
        )
    bad = [r for r in reports if not r.ok]
    typer.echo("archive matches the topic" if not bad else f"{len(bad)} partition(s) differ")
    raise typer.Exit(1 if bad else 0)


@app.command()
def replay(
    date: str = typer.Option(..., "--date", help="report date YYYY-MM-DD"),
    jurisdiction: str = typer.Option("00", "--jurisdiction", help="division code (default: the country)"),
    as_of: str | None = typer.Option(None, "--as-of", help="RFC 3339: what HQ saw then (default: now)"),
    cutoff: str = typer.Option("24:00", "--cutoff", help="HH:00"),
) -> None:
    """Re-read the events topic, recompute the figures for (J, D) as of T, and
    compare them with the served figures and the topic with the archive.

    Prints a summary and every difference; exits 1 when anything differs."""
    from datetime import datetime

    from schemas.records import EventRecord
    from services.api import params
    from services.api.config import ApiSettings
    from services.api.errors import ApiError
    from services.api.replay import archived_events, behind, compare_with_served
    from services.api.store import ReadStore
    from services.common import reference
    from services.common.clock import RecordClock
    from services.common.figures import flatten
    from services.common.topic_replay import read_until

    settings = ApiSettings()
    try:
        q = params.report_query(
            params.RawReportQuery(jurisdiction, date, cutoff, as_of, None),
            settings.zone,
            settings.grace_hours,
            RecordClock().now(),
        )
    except ApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    code, day, window, deadline, when = q.code, q.day, q.window, q.deadline, q.as_of
    bars: list[Any] = []
    total, stream = read_until(settings, when, progress=lambda n: bars[0].update(n))
    with typer.progressbar(length=total, label=f"reading {settings.events_topic}", file=sys.stderr) as bar:
        bars.append(bar)
        from_topic = behind([t.record for t in stream], code, window)
    store = ReadStore(settings)

    def key(r: EventRecord) -> tuple[str, datetime, str]:
        return (str(r.event.event_id), r.recorded_at, r.content_hash())

    topic_set = {key(r) for r in from_topic}
    archive_set = {key(e.record) for e in archived_events(store, code, window, when)}
    replayed = reference.daily_figures(from_topic, code, window, when, settings.focus_area_list)
    status = reference.reporting_status(from_topic, code, day, window, deadline, when)
    _served, _served_status, diffs = compare_with_served(
        store, settings.focus_area_list, code, day, window, when, deadline, replayed, status
    )
    typer.echo(
        f"{code} {day} cutoff {cutoff} as of {when.isoformat()}: {total} messages read, "
        f"{len(from_topic)} records behind the figures, {len(archive_set)} in the archive"
    )
    for missing in sorted(topic_set - archive_set):
        typer.echo(f"  in the topic, not in the archive: {missing[0]} recorded {missing[1].isoformat()}")
    for extra in sorted(archive_set - topic_set):
        typer.echo(f"  in the archive, not in the topic: {extra[0]} recorded {extra[1].isoformat()}")
    for d in diffs:
        typer.echo(f"  figure {d.figure}: served {d.served}, replayed from the topic {d.replayed}")
    problems = len(topic_set ^ archive_set) + len(diffs)
    figures_checked = len(list(flatten(replayed)))
    typer.echo(f"{figures_checked} figures compared, {problems} difference(s)")
    raise typer.Exit(1 if problems else 0)


@app.command("load-registry")
def load_registry_cmd(
    folder: Path | None = typer.Option(None, "--dir", help="registry folder (default RIBAO_REGISTRY_DIR)"),
) -> None:
    """(Re)load the jurisdiction registry into ClickHouse, replacing what is there.

    Restart ingest afterwards: it reads the registry's codes at start-up."""
    from services.common.config import CommonSettings
    from services.common.setup import load_registry

    settings = CommonSettings()
    if folder is not None:
        settings = settings.model_copy(update={"registry_dir": folder})
    load_registry(settings, _say, force=True)


@app.command()
def backup(folder: Path = typer.Argument(..., help="a new folder for this backup")) -> None:
    """Back up the ClickHouse database (RIBAO_CLICKHOUSE_DATABASE): FREEZE every
    table, copy the frozen parts to FOLDER. Run it on the ClickHouse host, as root
    or the server's user; the aggregators may resume once "frozen" is printed."""
    from services.backup import BackupError
    from services.backup import backup as do_backup
    from services.common.config import CommonSettings

    try:
        do_backup(CommonSettings(), folder, _say)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def restore(
    folder: Path = typer.Argument(..., help="a folder made by `ribao backup`"),
    schema_only: bool = typer.Option(
        False, "--schema-only", help="only create the tables (a new replica fetches the parts itself)"
    ),
) -> None:
    """Restore a backup into its database (which must not hold its tables): create
    the tables, attach the parts. Run it on the ClickHouse host, as root or the
    server's user; then see docs/deploy.md (aggregator offsets, the topic)."""
    from services.backup import BackupError
    from services.backup import restore as do_restore
    from services.common.config import CommonSettings

    try:
        for t in do_restore(CommonSettings(), folder, _say, schema_only=schema_only):
            typer.echo(
                f"{t.name:>20} {t.parts:>4} parts {t.rows_expected:>12,} rows backed up {t.rows_now:>12,} now"
            )
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("rebuild-counts")
def rebuild_counts(
    chunk: int = typer.Option(5000, min=1, max=1_000_000, help="subjects recounted per insert"),
) -> None:
    """Recompute the counts behind the daily figures from the stored facts
    (after migration 011 or a change of RIBAO_FOCUS_AREAS). Stop the aggregator first."""
    from services.aggregator.rebuild import rebuild
    from services.common.config import CommonSettings

    settings = CommonSettings()
    started = time.perf_counter()
    bar: list[Any] = []

    def begin(n: int) -> None:
        bar.append(typer.progressbar(length=n, label="recounting subjects", file=sys.stderr).__enter__())

    stats = rebuild(settings, chunk, progress=lambda n: bar[0].update(n), total=begin)
    if bar:
        bar[0].__exit__(None, None, None)
    took = time.perf_counter() - started
    typer.echo(
        f"recounted {stats.subjects} subjects ({stats.deltas} deltas) in {took:.1f} s "
        f"({stats.subjects / took if took else 0:.0f} subjects/s)"
    )


@app.command()
def jsonschema(
    out: Path = typer.Option(Path("schemas/events.v1.schema.json"), help="where to write it"),
    check: bool = typer.Option(False, help="fail if the file differs instead of writing it"),
) -> None:
    """Write the JSON Schema of the v1 events for upstream integrators."""
    from schemas.jsonschema import render

    text = render()
    if check:
        if not out.exists() or out.read_text("utf-8") != text:
            typer.echo(f"{out} is out of date: run `ribao jsonschema`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{out} is up to date")
        return
    out.write_text(text, "utf-8")
    typer.echo(f"wrote {out}")


def _credentials() -> CredentialStore:
    from services.common.config import CommonSettings
    from services.common.credentials import CredentialStore

    return CredentialStore(CommonSettings())


def _token_command(action: Any) -> Any:
    from services.common.credentials import CredentialError

    try:
        return action()
    except CredentialError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="who holds it, e.g. county-340826-cdc"),
    role: str = typer.Option(..., help="reporter, viewer, auditor or admin"),
    scope: str = typer.Option(..., help="division code whose subtree it reaches, or 'all'"),
    expires: str | None = typer.Option(
        None, help="when it stops working: 90d, 12h, 30m, or an RFC 3339 time (default: never)"
    ),
) -> None:
    """Create a credential and print its token (stored only as a hash)."""
    cred, token = _token_command(
        lambda: _credentials().create(name, role, scope, expires_us=_expiry(expires))
    )
    typer.echo(
        f"created {cred.name}: role {cred.role}, scope {scope}, expires {_expires_text(cred.expires_us)}; "
        "token (shown once):",
        err=True,
    )
    typer.echo(token)


def _expiry(text: str | None) -> int:
    """µs of `--expires` (0 when not given: never)."""
    from services.common.credentials import parse_expiry

    if text is None:
        return 0
    return int(_token_command(lambda: parse_expiry(text, time.time_ns() // 1000)))


def _expires_text(expires_us: int) -> str:
    from services.common.credentials import format_us

    return format_us(expires_us) if expires_us else "never"


@token_app.command("list")
def token_list(
    revoked: bool = typer.Option(False, "--revoked", help="include revoked credentials"),
) -> None:
    """List credentials (never their tokens)."""
    from schemas import codes

    now_us = time.time_ns() // 1000
    for c in _credentials().all():
        if c.active or revoked:
            state = ("expired" if c.expired(now_us) else "active") if c.active else "revoked"
            scope = codes.significant(c.scope) or "all"
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(c.created_us / 1e6))
            dev = " dev" if c.dev else ""
            typer.echo(
                f"{c.name}\t{c.role}\t{scope}\t{state}{dev}\tcreated {created}\t"
                f"expires {_expires_text(c.expires_us)}\tid {c.token_id}"
            )


@token_app.command("revoke")
def token_revoke(name: str = typer.Argument(..., help="the credential's name")) -> None:
    """Revoke a credential (services refuse it within RIBAO_CREDENTIALS_REFRESH_S)."""
    cred = _token_command(lambda: _credentials().revoke(name))
    typer.echo(f"revoked {cred.name}")


@token_app.command("rotate")
def token_rotate(
    name: str = typer.Argument(..., help="the credential's name"),
    expires: str | None = typer.Option(
        None, help="a new expiry: 90d, 12h, 30m, or an RFC 3339 time (default: keep the current one)"
    ),
) -> None:
    """Give a credential a new token; the old one stops working."""
    new_expiry = None if expires is None else _expiry(expires)
    cred, token = _token_command(lambda: _credentials().rotate(name, new_expiry))
    typer.echo(
        f"rotated {cred.name}, expires {_expires_text(cred.expires_us)}; new token (shown once):", err=True
    )
    typer.echo(token)


def _dev_token(home: Path) -> str:
    """Dev mode: a fresh token for the `dev-admin` credential, also written to
    $RIBAO_HOME/dev-token (readable by the owner only)."""
    from services.common.credentials import DEV_CREDENTIAL, CredentialError

    store = _credentials()
    try:
        _cred, token = store.rotate(DEV_CREDENTIAL)
    except CredentialError:
        _cred, token = store.create(DEV_CREDENTIAL, "admin", "all", dev=True)
    path = home / "dev-token"
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RIBAO_DEV_MODE", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@stack_app.command("up")
def stack_up(
    infra_only: bool = typer.Option(False, "--infra", help="only Kafka and ClickHouse, set up"),
    prometheus: bool = typer.Option(
        False,
        "--prometheus",
        envvar="RIBAO_PROMETHEUS",
        help="also start Debian's prometheus scraping the services (deploy/prometheus/)",
    ),
    prometheus_port: int = typer.Option(9090, "--prometheus-port", envvar="RIBAO_PROMETHEUS_PORT"),
    cluster: bool = typer.Option(
        False,
        "--cluster",
        help="the local cluster instead (deploy/cluster.sh: 3 brokers, ZooKeeper, 2x2 ClickHouse, "
        "2 processes per service, under $RIBAO_CLUSTER_HOME)",
    ),
) -> None:
    """Start Kafka and ClickHouse, set them up, start the three services
    (and Prometheus with --prometheus or RIBAO_PROMETHEUS=1)."""
    if cluster:
        from services.cluster.control import up
        from services.cluster.processes import ClusterError

        try:
            up(_say, infra_only=infra_only)
        except ClusterError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        return
    from services.aggregator.config import AggregatorSettings
    from services.api.config import ApiSettings
    from services.common.config import CommonSettings
    from services.common.setup import setup as do_setup
    from services.ingest.config import DEV_HMAC_KEY, IngestSettings
    from services.prometheus import PrometheusMissing
    from services.stack import StackError, home, infra, prometheus_service, services, start_service

    started = time.monotonic()
    env = _child_env()
    try:
        infra("start", "kafka")
        infra("start", "clickhouse")
        do_setup(CommonSettings(), _say)
        if infra_only:
            typer.echo(f"infrastructure up in {time.monotonic() - started:.0f}s")
            return
        os.environ.update({k: v for k, v in env.items() if k == "RIBAO_DEV_MODE"})
        ingest_settings, api_settings = IngestSettings(), ApiSettings()
        aggregator_settings = AggregatorSettings()
        aggregator_id = aggregator_settings.aggregator_id
        metrics_port = aggregator_settings.aggregator_metrics_port
        for svc in services(
            ingest_settings.ingest_port,
            api_settings.api_port,
            ingest_settings.kafka_bootstrap,
            aggregator_id,
            ingest_settings.events_topic,
        ):
            start_service(svc, env, _say)
        if prometheus:
            start_service(
                prometheus_service(
                    ingest_settings.ingest_port, api_settings.api_port, metrics_port, prometheus_port
                ),
                env,
                _say,
            )
    except (StackError, PrometheusMissing) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if ingest_settings.hmac_key is None:
        typer.echo(f"dev mode: person ids are hashed with the built-in key {DEV_HMAC_KEY!r}")
    if ingest_settings.dev_mode:
        token = _dev_token(home())
        typer.echo(f"dev mode: admin token (all jurisdictions, also in {home() / 'dev-token'}):\n  {token}")
    prometheus_line = f"\n  prometheus http://127.0.0.1:{prometheus_port}/alerts" if prometheus else ""
    typer.echo(f"""
stack up in {time.monotonic() - started:.0f}s
  ingest  http://{ingest_settings.ingest_host}:{ingest_settings.ingest_port}/v1/events
  api     http://{api_settings.api_host}:{api_settings.api_port}/v1/reports/daily?jurisdiction=340826103
  dashboard http://{api_settings.api_host}:{api_settings.api_port}/  (docs: /docs)
  metrics http://{ingest_settings.ingest_host}:{ingest_settings.ingest_port}/metrics, \
http://{api_settings.api_host}:{api_settings.api_port}/metrics, \
http://{aggregator_settings.aggregator_metrics_host}:{metrics_port}/metrics{prometheus_line}
  kafka   {ingest_settings.kafka_bootstrap} (topic {ingest_settings.events_topic})
  clickhouse {api_settings.clickhouse_host}:{api_settings.clickhouse_port} \
(database {api_settings.clickhouse_database})
stop with: ribao stack down""")


@stack_app.command("down")
def stack_down(
    keep_infra: bool = typer.Option(False, "--keep-infra", help="leave Kafka and ClickHouse running"),
    cluster: bool = typer.Option(False, "--cluster", help="the local cluster instead (every process)"),
) -> None:
    """Stop the services, then Kafka and ClickHouse (their data folders stay)."""
    if cluster:
        from services.cluster.control import down

        down(_say)
        return
    from services.stack import infra, stop_service

    for name in ("prometheus", "api", "aggregator", "ingest"):
        stop_service(name, _say)
    if not keep_infra:
        infra("stop", "clickhouse")
        infra("stop", "kafka")


@stack_app.command("status")
def stack_status() -> None:
    """Say what is running."""
    from services.stack import infra, running_pid

    for name in ("ingest", "aggregator", "api", "prometheus"):
        pid = running_pid(name)
        typer.echo(f"{name}: running (pid {pid})" if pid else f"{name}: stopped")
    infra("status", "kafka")
    infra("status", "clickhouse")


if __name__ == "__main__":
    app()
