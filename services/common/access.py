"""Who is calling: bearer-token authentication, roles, scopes and a
per-credential rate limit, shared by ingest and the API.

Routes declare what they need with `Depends(require("viewer", ...))`, which
returns the caller's `Credential`. Credentials are read from ClickHouse and
cached; the cache is refreshed every `credentials_refresh_s`, and at once
(at most every MISS_RELOAD_S) when a token does not match, so a new or rotated
token works immediately and a revoked one stops within the refresh interval.
Rate limiting uses the `limits` library's moving window, one per credential
for the whole service: in memory, or in a file the service's processes share
(`RIBAO_RATE_LIMIT_DIR`, set by the ingest parent under RIBAO_INGEST_WORKERS).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from schemas import codes
from services.common import metrics
from services.common.config import CommonSettings
from services.common.credentials import Credential, CredentialStore, Role, format_us, parse_token
from services.common.rate_store import SharedFileStorage
from services.common.request_context import RateLimitState, current

log = logging.getLogger("ribao.access")

#: credentials are read at most this often (seconds), however many tokens miss
MISS_RELOAD_S = 0.2


class AccessError(Exception):
    """Root of the access errors; `services.common.http` answers them."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, details: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


class Unauthenticated(AccessError):
    status, code = 401, "unauthenticated"


class Forbidden(AccessError):
    status, code = 403, "forbidden"


class RateLimited(AccessError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, rate: RateLimitState) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.rate = rate


class CredentialsUnavailable(AccessError):
    status, code = 503, "credentials_unavailable"


class Authenticator:
    """Checks a token against the cached credentials."""

    def __init__(self, dev_mode: bool, refresh_s: float, load: Callable[[], dict[str, Credential]]) -> None:
        self._dev_mode = dev_mode
        self._refresh_s = refresh_s
        self._load = load
        self._lock = threading.Lock()
        self._cache: dict[str, Credential] | None = None
        self._load_started = -math.inf

    def _reload(self) -> None:
        """Reads the credentials unless a read began after this call did (then that
        one is fresh enough); reads at most once per MISS_RELOAD_S."""
        asked = time.monotonic()
        with self._lock:
            if self._load_started >= asked:
                return
            time.sleep(max(0.0, self._load_started + MISS_RELOAD_S - time.monotonic()))
            self._load_started = time.monotonic()
            try:
                self._cache = self._load()
                metrics.credentials_loaded(True)
                log.debug("credentials: %d active", len(self._cache))
            except Exception as exc:  # the store is down: keep what we have
                metrics.credentials_loaded(False)
                if self._cache is None:
                    raise CredentialsUnavailable(
                        f"the credential store cannot be read ({type(exc).__name__}); retry later"
                    ) from None
                log.warning("credentials: reload failed (%s); using the cached set", type(exc).__name__)

    def ready(self) -> bool:
        """Whether credentials have been read at least once (loads them if not)."""
        try:
            if self._cache is None:
                self._reload()
        except CredentialsUnavailable:
            return False
        return True

    def authenticate(self, token: str | None) -> Credential:
        if not token:
            raise Unauthenticated("missing credentials: send `Authorization: Bearer <token>`")
        parsed = parse_token(token)
        if parsed is None:
            raise Unauthenticated("malformed token: expected rb_<id>_<secret>")
        token_id, secret = parsed
        if time.monotonic() - self._load_started > self._refresh_s:
            self._reload()
        cred = (self._cache or {}).get(token_id)
        if cred is None or not cred.matches(secret):  # maybe created or rotated since the last load
            self._reload()
            cred = (self._cache or {}).get(token_id)
        if cred is None or not cred.matches(secret):
            raise Unauthenticated("unknown, rotated or revoked token")
        if cred.dev and not self._dev_mode:
            raise Unauthenticated("a dev-mode credential is refused outside dev mode")
        if cred.expired(time.time_ns() // 1000):
            raise Unauthenticated(
                f"token of credential {cred.name!r} expired at {format_us(cred.expires_us)}; "
                "ask an admin for a new one (ribao token rotate --expires ...)"
            )
        return cred


class RateLimiter:
    """One moving window per credential (`limits` library), in memory or in a
    file shared by the service's processes (`shared_dir`)."""

    def __init__(self, rate: str, shared_dir: Path | None = None) -> None:
        self._item: RateLimitItem = parse(rate)
        storage: Storage = MemoryStorage()
        if shared_dir is not None:
            shared_dir.mkdir(parents=True, exist_ok=True)
            storage = SharedFileStorage(shared_dir / "rate-limits.sqlite")
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, cred: Credential) -> RateLimitState:
        """Counts a request; its window afterwards. Raises RateLimited when full."""
        allowed = self._limiter.hit(self._item, cred.token_id)
        stats = self._limiter.get_window_stats(self._item, cred.token_id)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        state = RateLimitState(self._item.amount, stats.remaining, reset)
        if allowed:
            return state
        metrics.rate_limited(cred.name)
        raise RateLimited(
            f"credential {cred.name!r} is over its rate limit of {self._item}", max(1, reset), state
        )


@dataclass
class Access:
    authenticator: Authenticator
    limiter: RateLimiter


def install_access(app: FastAPI, settings: CommonSettings) -> Access:
    """Puts the authenticator and rate limiter on `app.state.access`."""
    store = CredentialStore(settings)
    access = Access(
        Authenticator(settings.dev_mode, settings.credentials_refresh_s, store.active),
        RateLimiter(settings.rate_limit, settings.rate_limit_dir),
    )
    app.state.access = access
    return access


_bearer = HTTPBearer(auto_error=False, description="a token from `ribao token create`")


def require(*roles: Role) -> Callable[..., Credential]:
    """A FastAPI dependency: the caller's credential, if its role is one of `roles`
    (admin always passes) and it is within its rate limit."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(
        request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Credential:
        access: Access = request.app.state.access
        cred = access.authenticator.authenticate(bearer.credentials if bearer else None)
        info = current()
        if info is not None:
            info.credential = cred.name
        rate = access.limiter.hit(cred)
        if info is not None:
            info.rate = rate
        if cred.role not in allowed:
            raise Forbidden(
                f"role {cred.role} may not do this; needs {' or '.join(sorted(allowed))}",
                [{"credential": cred.name, "role": cred.role}],
            )
        return cred

    return dependency


def require_scope(cred: Credential, raw_code: str, parameter: str = "jurisdiction") -> None:
    """Forbidden unless the (well-formed) code lies inside the credential's scope;
    a malformed code is left for the parameter check to name."""
    try:
        code = codes.normalize(raw_code)
    except codes.CodeError:
        return
    if not cred.covers(code):
        raise Forbidden(
            f"{parameter} {raw_code} is outside the scope of credential {cred.name!r}",
            [{"parameter": parameter, "code": raw_code, "scope": codes.significant(cred.scope) or "all"}],
        )
