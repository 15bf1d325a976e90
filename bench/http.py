"""Every HTTP call of the benchmark goes through here, so that credentials are
added in one place: `Authorization: Bearer <token>` when a token is given
(`--token` or RIBAO_BENCH_TOKEN)."""

from __future__ import annotations

import os

import httpx

TOKEN_ENV = "RIBAO_BENCH_TOKEN"


def default_token() -> str | None:
    return os.environ.get(TOKEN_ENV) or None


def headers(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def client(base_url: str, token: str | None, timeout: float = 120.0) -> httpx.Client:
    """A client for one service (one per thread that talks to it), with the
    bearer token on every request. Keep-alive connections, as a real sender's."""
    return httpx.Client(
        base_url=base_url,
        headers=headers(token),
        timeout=timeout,
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
    )
