"""Several ingest processes on one port (`RIBAO_INGEST_WORKERS`).

One ingest process is one core at most (the GIL). With N workers the parent
binds the port once and starts N processes that accept on the same socket;
it only supervises: a worker that dies is started again, and SIGTERM (or
SIGINT) is passed to every worker, each of which finishes its requests and
waits for Kafka's acknowledgement of everything it queued (uvicorn's graceful
shutdown, then the app's lifespan) before the parent exits. A worker whose
parent dies gets SIGTERM from the kernel (PR_SET_PDEATHSIG), so a SIGKILLed
parent leaves no worker holding the port.

Each worker has its own record clock, strictly increasing in its own
residue class modulo N (worker k stamps only microseconds ≡ k mod N), so
stamps never tie across workers either.

The parent makes a folder for the run (removed when it stops) and hands it
to the workers through the environment: prometheus-client's multiprocess
folder (`PROMETHEUS_MULTIPROC_DIR`: any worker's /metrics answers for the
service) and the rate-limit store (`RIBAO_RATE_LIMIT_DIR`: one window per
credential for the service, not one per worker).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from services.common.parent_death import die_with_parent

log = logging.getLogger("ribao.ingest")

#: how often the parent looks for dead workers (s)
_WATCH_S = 0.5


def _run_worker(index: int, workers: int, parent: int, sockets: list[socket.socket]) -> None:
    import uvicorn

    from services.common import logs
    from services.common.clock import RecordClock
    from services.common.collector import tune_for_batches
    from services.ingest.app import create_app
    from services.ingest.config import IngestSettings

    die_with_parent(parent)
    settings = IngestSettings()
    logs.configure(settings.log_format)
    app = create_app(settings, RecordClock(step=workers, offset=index))
    tune_for_batches()  # a request's thousand events are one batch (services/common/collector.py)
    config = uvicorn.Config(
        app,
        host=settings.ingest_host,
        port=settings.ingest_port,
        log_level="info",
        access_log=False,
        log_config=None,
    )
    uvicorn.Server(config).run(sockets=sockets)


def serve(host: str, port: int, workers: int, stop_timeout_s: float) -> None:
    """Runs `workers` ingest processes on host:port until SIGTERM or SIGINT."""
    import uvicorn

    sock = uvicorn.Config("services.ingest.app:create_app", host=host, port=port).bind_socket()
    spawn = multiprocessing.get_context("spawn")
    run_dir = Path(tempfile.mkdtemp(prefix="ribao-ingest-"))
    (run_dir / "metrics").mkdir()
    # inherited by the spawned workers (prometheus-client reads it at import)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir / "metrics")
    os.environ["RIBAO_RATE_LIMIT_DIR"] = str(run_dir / "rate-limits")
    parent = os.getpid()
    stop = threading.Event()

    def start(index: int) -> BaseProcess:
        proc = spawn.Process(
            target=_run_worker, args=(index, workers, parent, [sock]), name=f"ingest-worker-{index}"
        )
        proc.start()
        log.info("ingest worker %d of %d: pid %s", index, workers, proc.pid)
        return proc

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    procs = [start(k) for k in range(workers)]
    try:
        while not stop.wait(_WATCH_S):
            for k, proc in enumerate(procs):
                if not proc.is_alive():
                    log.warning("ingest worker %d exited (code %s); starting it again", k, proc.exitcode)
                    _forget_metrics(proc.pid)
                    procs[k] = start(k)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: graceful
        for proc in procs:
            proc.join(stop_timeout_s)
            if proc.is_alive():
                log.warning("ingest worker %s still up after %.0fs: SIGKILL", proc.pid, stop_timeout_s)
                proc.kill()
                proc.join()
        sock.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def _forget_metrics(pid: int | None) -> None:
    """Drops a dead worker's live gauges (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    if pid is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
