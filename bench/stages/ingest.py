"""Stage 1: events/s through POST /v1/events in batches (202 = every event
acknowledged by Kafka with acks=all), and the requests' latency.

The bodies (JSON arrays of `batch` events) are built before the clock starts,
so the senders only send; `senders` threads post concurrently, each on its
own keep-alive connection. A 503 is retried with the same body (what the
contract tells a sender to do) and counted; any other refusal stops the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx

from bench import http
from bench.stages.progress import Progress
from bench.stats import latency_summary

JSON = {"content-type": "application/json"}


def bodies(events: Sequence[bytes], batch: int) -> list[tuple[int, bytes]]:
    """(events in it, body) of each request."""
    return [
        (len(events[i : i + batch]), b"[" + b",".join(events[i : i + batch]) + b"]")
        for i in range(0, len(events), batch)
    ]


class Refused(RuntimeError):
    pass


def post(c: httpx.Client, body: bytes) -> tuple[httpx.Response, int]:
    """Posts until the answer is not a 503; returns it and the 503s seen."""
    retries = 0
    while True:
        r = c.post("/v1/events", content=body, headers=JSON)
        if r.status_code != 503 or retries >= 20:
            break
        retries += 1
        time.sleep(0.5)
    if r.status_code != 202:
        raise Refused(f"POST /v1/events answered {r.status_code}: {r.text[:500]}")
    return r, retries


def run(base_url: str, token: str | None, requests: list[tuple[int, bytes]], senders: int) -> dict[str, Any]:
    total = sum(n for n, _ in requests)
    latencies: list[float] = []
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "retries": 0}
    errors: list[BaseException] = []
    progress = Progress("ingest (POST /v1/events)", total)

    def sender() -> None:
        with http.client(base_url, token) as c:
            while not errors:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= len(requests):
                    return
                n, body = requests[i]
                t = time.perf_counter()
                try:
                    _r, retries = post(c, body)
                except Exception as exc:
                    errors.append(exc)
                    return
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(ms)
                    state["done"] += n
                    state["retries"] += retries

    threads = [threading.Thread(target=sender, name=f"sender-{k}") for k in range(senders)]
    started = time.perf_counter()
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        time.sleep(0.5)
        progress.update(state["done"])
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return {
        "events": total,
        "requests": len(requests),
        "batch": requests[0][0] if requests else 0,
        "senders": senders,
        "seconds": round(seconds, 2),
        "events_per_s": round(total / seconds) if seconds else 0,
        "request_latency": latency_summary(latencies),
        "retries_503": state["retries"],
    }
