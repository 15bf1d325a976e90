"""`python -m services.cluster up|down|status|stop|kill|start` (deploy/cluster.sh)."""

from __future__ import annotations

import signal

import typer

from services.cluster import control, processes

app = typer.Typer(no_args_is_help=True, help="The local cluster (issue #15).")


def _say(msg: str) -> None:
    typer.echo(msg, err=True)


@app.command()
def up(infra: bool = typer.Option(False, "--infra", help="only the servers, set up")) -> None:
    """Start ZooKeeper, 3 Kafka brokers, 4 ClickHouse servers, set them up, start the services."""
    try:
        control.up(_say, infra_only=infra)
    except processes.ClusterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def down() -> None:
    """Stop every process of the cluster (its data stays under $RIBAO_CLUSTER_HOME)."""
    control.down(_say)


@app.command()
def status() -> None:
    """Each process, its pid and resident memory, and the total."""
    total = 0
    for name, pid, rss in control.status():
        total += rss
        typer.echo(f"{name:14} {'pid ' + str(pid) if pid else 'stopped':12} {rss / 1024:8.0f} MiB")
    typer.echo(f"{'total':14} {'':12} {total / 1024:8.0f} MiB")


@app.command()
def kill(name: str, sig: str = typer.Option("KILL", "--signal", help="KILL, TERM, STOP or CONT")) -> None:
    """Send one process a signal (fault drills)."""
    processes.stop(name, _say, signal.Signals[f"SIG{sig}"])


@app.command()
def start(name: str) -> None:
    """Start one process again (after kill or stop) and wait until it is ready."""
    lay = processes.layout()
    procs = {p.name: p for p in processes.services(lay)} | {p.name: p for p in processes.servers(lay, _say)}
    if name not in procs:
        typer.echo(f"error: no process {name!r}; one of {', '.join(procs)}", err=True)
        raise typer.Exit(2)
    processes.start_all([procs[name]], _say)


if __name__ == "__main__":
    app()
