from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from services.common import access
from services.common.access import (
    Authenticator,
    CredentialsUnavailable,
    Forbidden,
    RateLimited,
    RateLimiter,
    Unauthenticated,
    require_scope,
)
from services.common.credentials import (
    Credential,
    CredentialError,
    check_name,
    check_role,
    check_scope,
    format_us,
    hash_secret,
    parse_expiry,
    parse_token,
)

SECRET = "s" * 43


def cred(
    name: str = "c", scope: str = "340826000000", dev: bool = False, token_id: str = "ab" * 8
) -> Credential:
    return Credential(token_id, name, "viewer", scope, hash_secret(SECRET), dev, 0, 0, 0)


def token(token_id: str = "ab" * 8, secret: str = SECRET) -> str:
    return f"rb_{token_id}_{secret}"


def test_tokens_parse_only_in_their_exact_shape() -> None:
    assert parse_token(token()) == ("ab" * 8, SECRET)
    for bad in (
        "",
        "rb_",
        token() + "x",
        token().replace("rb_", "xx_"),
        "Bearer " + token(),
        "rb_ABAB_" + SECRET,
    ):
        assert parse_token(bad) is None


def test_names_roles_and_scopes_are_checked_naming_the_field() -> None:
    assert check_name("county-340826.cdc") == "county-340826.cdc"
    with pytest.raises(CredentialError, match="name"):
        check_name("Bad Name")
    assert check_role("auditor") == "auditor"
    with pytest.raises(CredentialError, match="role"):
        check_role("root")
    assert check_scope("all") == check_scope("000000000000") == "000000000000"
    assert check_scope("340826") == "340826000000"
    with pytest.raises(CredentialError, match="scope"):
        check_scope("34082")


def test_scope_covers_its_subtree_only() -> None:
    county = cred(scope="340826000000")
    assert county.covers("340826103001") and county.covers("340826000000")
    assert not county.covers("340827000000") and not county.covers("340000000000")
    assert cred(scope="000000000000").covers("650000000000")
    require_scope(county, "340826103")
    require_scope(county, "not-a-code")  # left for the parameter check
    with pytest.raises(Forbidden) as exc:
        require_scope(county, "3408")
    assert exc.value.details == [{"parameter": "jurisdiction", "code": "3408", "scope": "340826"}]


def test_authenticator_checks_the_secret_and_reloads_on_an_unknown_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access, "MISS_RELOAD_S", 0.0)
    known = {"ab" * 8: cred()}
    loads: list[int] = []

    def load() -> dict[str, Credential]:
        loads.append(1)
        return dict(known)

    auth = Authenticator(dev_mode=False, refresh_s=3600, load=load)
    assert auth.authenticate(token()).name == "c"
    assert len(loads) == 1
    for bad, why in (
        (None, "missing"),
        ("", "missing"),
        ("nope", "malformed"),
        (token(secret="t" * 43), "unknown"),
    ):
        with pytest.raises(Unauthenticated, match=why):
            auth.authenticate(bad)
    # a credential created after the first load works at once
    known["cd" * 8] = cred("new", token_id="cd" * 8)
    assert auth.authenticate(token("cd" * 8)).name == "new"
    # a dev credential is refused outside dev mode, accepted in it
    known["ef" * 8] = cred("dev-admin", dev=True, token_id="ef" * 8)
    with pytest.raises(Unauthenticated, match="dev mode"):
        auth.authenticate(token("ef" * 8))
    assert Authenticator(True, 3600, load).authenticate(token("ef" * 8)).name == "dev-admin"


def test_revocation_takes_effect_after_the_refresh_interval() -> None:
    known = {"ab" * 8: cred()}
    auth = Authenticator(dev_mode=False, refresh_s=0.2, load=lambda: dict(known))
    auth.authenticate(token())
    known.clear()
    auth.authenticate(token())  # cached: still valid until the refresh
    time.sleep(0.25)
    with pytest.raises(Unauthenticated):
        auth.authenticate(token())


def test_an_unreadable_store_keeps_the_cached_set_and_is_503_before_any_load() -> None:
    state = {"up": True}

    def load() -> dict[str, Credential]:
        if not state["up"]:
            raise ConnectionError("down")
        return {"ab" * 8: cred()}

    auth = Authenticator(dev_mode=False, refresh_s=0.0, load=load)
    auth.authenticate(token())
    state["up"] = False
    assert auth.authenticate(token()).name == "c"
    cold = Authenticator(dev_mode=False, refresh_s=0.0, load=load)
    assert not cold.ready()
    with pytest.raises(CredentialsUnavailable):
        cold.authenticate(token())


def test_rate_limit_is_per_credential_with_a_retry_after() -> None:
    limiter = RateLimiter("3/minute")
    flood, other = cred("flood"), cred("other", token_id="cd" * 8)
    for _ in range(3):
        limiter.hit(flood)
    with pytest.raises(RateLimited) as exc:
        limiter.hit(flood)
    assert 1 <= exc.value.retry_after <= 60
    limiter.hit(other)  # not starved by the flood


def test_expiry_is_a_duration_or_a_future_rfc3339_time() -> None:
    now = 1_700_000_000_000_000
    assert parse_expiry("90d", now) == now + 90 * 86_400_000_000
    assert parse_expiry("12h", now) == now + 12 * 3_600_000_000
    assert parse_expiry("30m", now) == now + 30 * 60_000_000
    assert parse_expiry("2099-01-01T00:00:00Z", now) == 4_070_908_800_000_000
    for bad in ("0d", "90", "1w", "-1d", "2099-01-01", "2099-01-01T00:00:00", "2020-01-01T00:00:00Z"):
        with pytest.raises(CredentialError, match="expires"):
            parse_expiry(bad, now)
    assert format_us(4_070_908_800_000_000) == "2099-01-01T00:00:00Z"


def test_an_expired_token_is_refused_saying_so() -> None:
    now_us = time.time_ns() // 1000
    fresh = replace(cred(), expires_us=now_us + 3_600_000_000)
    auth = Authenticator(False, 60, lambda: {fresh.token_id: fresh})
    assert auth.authenticate(token()) == fresh
    gone = replace(cred(), expires_us=now_us - 1)
    auth = Authenticator(False, 60, lambda: {gone.token_id: gone})
    with pytest.raises(Unauthenticated, match="expired at"):
        auth.authenticate(token())
    assert gone.expired(now_us) and not fresh.expired(now_us) and not cred().expired(now_us)


def test_the_window_after_each_hit_gives_the_rate_limit_headers() -> None:
    limiter = RateLimiter("3/minute")
    states = [limiter.hit(cred("h")) for _ in range(3)]
    assert [(s.limit, s.remaining) for s in states] == [(3, 2), (3, 1), (3, 0)]
    assert all(0 <= s.reset_s <= 60 for s in states)
    with pytest.raises(RateLimited) as exc:
        limiter.hit(cred("h"))
    assert (exc.value.rate.limit, exc.value.rate.remaining) == (3, 0)


def _hits_in_a_process(folder: str, hits: int, out: Any) -> None:
    limiter = RateLimiter("7/minute", Path(folder))
    allowed = 0
    for _ in range(hits):
        try:
            limiter.hit(cred("shared"))
            allowed += 1
        except RateLimited:
            pass
    out.put(allowed)


def test_a_shared_folder_gives_one_window_per_credential_across_processes(tmp_path: Path) -> None:
    """What RIBAO_INGEST_WORKERS needs: the workers share the credential's
    window, so the service allows the limit once, not once per process."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hits_in_a_process, args=(str(tmp_path), 5, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    allowed = [out.get(timeout=5) for _ in procs]
    assert sum(allowed) == 7, allowed  # 15 hits in all, from three processes


def test_the_shared_window_moves_entries_out_as_they_expire(tmp_path: Path) -> None:
    a, b = RateLimiter("2/second", tmp_path), RateLimiter("2/second", tmp_path)
    a.hit(cred("m"))
    assert b.hit(cred("m")).remaining == 0
    with pytest.raises(RateLimited):
        a.hit(cred("m"))
    time.sleep(1.1)  # both entries left the window
    assert b.hit(cred("m")).remaining == 1
