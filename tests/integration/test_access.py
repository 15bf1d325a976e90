"""Credentials on the real stack: 401 without one, roles, scopes, retraction
scope, the token commands, dev-mode credentials, per-credential rate limits."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.credentials import CredentialStore, format_us
from tests.integration.harness import Pipeline, poll, topic_size

COUNTY, OTHER = "360103", "360104"  # 南昌 西湖区, 青云谱区 (outside the property tests' 安徽 towns)
V_IN, V_OUT = "360103001001", "360104002001"
TAG = uuid.uuid4().hex[:6]
REPORTER = f"reporter-{COUNTY}-{TAG}"


def screening(village: str, person: str = "P-1") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": village,
        "occurred_at": "2020-02-03T10:00:00+08:00",
        "person": {"id": person},
        "data": {"category": "returnee"},
    }


def retraction(village: str, target: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "event.retracted",
        "jurisdiction": village,
        "occurred_at": "2020-02-03T12:00:00+08:00",
        "data": {"target_event_id": target, "reason": "entered twice"},
    }


def error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()["error"]
    assert body["code"] == code, body
    return body


@pytest.fixture(scope="module")
def tokens(pipeline: Pipeline) -> dict[str, str]:
    return {
        role: pipeline.credential(f"{role}-{COUNTY}-{TAG}", role, COUNTY)
        for role in ("reporter", "viewer", "auditor")
    } | {"reporter-other": pipeline.credential(f"reporter-{OTHER}-{TAG}", "reporter", OTHER)}


def archived_sources(p: Pipeline, event_ids: list[str]) -> dict[str, str]:
    rows = p.query("SELECT event_id, source FROM events WHERE event_id IN %(ids)s", {"ids": tuple(event_ids)})
    return dict(rows)


def test_every_protected_endpoint_needs_a_valid_token(pipeline: Pipeline) -> None:
    p = pipeline
    fake = f"rb_{'0' * 16}_{'x' * 43}"
    calls: list[Callable[[str], httpx.Response]] = [
        lambda t: p.post(screening(V_IN), token=t),
        lambda t: p.get("/v1/reports/daily", token=t, jurisdiction=COUNTY),
        lambda t: p.get("/v1/reports/zero", token=t, jurisdiction=COUNTY),
        lambda t: p.get("/v1/audit/replay", token=t, jurisdiction=COUNTY),
        lambda t: p.get(f"/v1/jurisdictions/{COUNTY}", token=t),
        lambda t: p.get("/v1/audit/dead-letters", token=t),
    ]
    for call in calls:
        for token, why in (("", "missing"), ("not-a-token", "malformed"), (fake, "unknown")):
            resp = call(token)
            assert why in error(resp, 401, "unauthenticated")["message"]
            assert resp.headers["www-authenticate"] == "Bearer"
    for url in (p.ingest_url, p.api_url):
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_each_role_reaches_only_its_endpoints_inside_its_scope(
    pipeline: Pipeline, tokens: dict[str, str]
) -> None:
    p = pipeline
    reporter, viewer, auditor = tokens["reporter"], tokens["viewer"], tokens["auditor"]
    event = screening(V_IN)
    assert p.post(event, token=reporter).status_code == 202
    error(p.get("/v1/reports/daily", token=reporter, jurisdiction=COUNTY), 403, "forbidden")
    error(p.post(screening(V_IN), token=viewer), 403, "forbidden")
    for token in (viewer, auditor):
        assert (
            p.get("/v1/reports/daily", token=token, jurisdiction=COUNTY, children="true").status_code == 200
        )
        assert p.get("/v1/reports/zero", token=token, jurisdiction=V_IN).status_code == 200
        for outside in (OTHER, "3601", "36"):
            body = error(p.get("/v1/reports/daily", token=token, jurisdiction=outside), 403, "forbidden")
            assert body["details"] == [{"parameter": "jurisdiction", "code": outside, "scope": COUNTY}]
        error(p.get("/v1/reports/zero", token=token, jurisdiction=OTHER), 403, "forbidden")
    assert (
        "needs admin or auditor"
        in error(p.get("/v1/audit/replay", token=viewer, jurisdiction=COUNTY), 403, "forbidden")["message"]
    )
    error(p.get("/v1/audit/replay", token=auditor, jurisdiction=OTHER), 403, "forbidden")
    # dead letters name no valid jurisdiction: only a national auditor (or admin) sees them
    error(p.get("/v1/audit/dead-letters", token=viewer), 403, "forbidden")
    assert (
        "national scope" in error(p.get("/v1/audit/dead-letters", token=auditor), 403, "forbidden")["message"]
    )
    national = p.credential(f"auditor-all-{TAG}", "auditor", "all")
    assert p.get("/v1/audit/dead-letters", token=national).status_code == 200
    # the registry holds no figures: every role may read it, anywhere
    for token in (reporter, viewer, auditor):
        assert p.get(f"/v1/jurisdictions/{OTHER}", token=token).status_code == 200

    # replay shows who posted each event
    def replayed() -> dict[str, str]:
        resp = p.get("/v1/audit/replay", token=auditor, jurisdiction=COUNTY, date="2020-02-03")
        assert resp.status_code == 200, resp.text
        return {e["event_id"]: e["source"] for e in resp.json()["events"]}

    sources = poll(replayed, lambda s: event["event_id"] in s, what="event in replay")
    assert sources[event["event_id"]] == REPORTER


def test_a_reporter_posts_only_inside_its_scope_and_nothing_is_half_accepted(
    pipeline: Pipeline, tokens: dict[str, str]
) -> None:
    p = pipeline
    inside, outside = screening(V_IN), screening(V_OUT)
    before = topic_size(p.settings)
    body = error(p.post([inside, outside, inside], token=tokens["reporter"]), 403, "out_of_scope")
    assert [(d["index"], d["event_id"], d["field"]) for d in body["details"]] == [
        (1, outside["event_id"], "jurisdiction")
    ]
    assert "nothing was accepted" in body["message"]
    assert topic_size(p.settings) == before
    resp = p.post(inside, token=tokens["reporter"])
    assert resp.status_code == 202, resp.text
    sources = poll(lambda: archived_sources(p, [inside["event_id"]]), bool, what="archived")
    assert sources[inside["event_id"]] == REPORTER
    assert outside["event_id"] not in archived_sources(p, [outside["event_id"]])


def test_a_retraction_needs_a_scope_covering_its_target(pipeline: Pipeline, tokens: dict[str, str]) -> None:
    p = pipeline
    target = screening(V_OUT)
    assert p.post(target, token=tokens["reporter-other"]).status_code == 202
    poll(lambda: archived_sources(p, [target["event_id"]]), bool, what="target archived")
    before = topic_size(p.settings)
    body = error(p.post(retraction(V_IN, target["event_id"]), token=tokens["reporter"]), 403, "out_of_scope")
    assert [(d["index"], d["field"]) for d in body["details"]] == [(0, "data.target_event_id")]
    assert OTHER in body["details"][0]["message"]
    assert topic_size(p.settings) == before
    # the target's own county may retract it; an unknown target is accepted (checked when known)
    assert p.post(retraction(V_OUT, target["event_id"]), token=tokens["reporter-other"]).status_code == 202
    assert p.post(retraction(V_IN, str(uuid.uuid4())), token=tokens["reporter"]).status_code == 202


def test_token_commands_create_list_rotate_and_revoke(pipeline: Pipeline) -> None:
    p = pipeline
    name = f"cli-viewer-{uuid.uuid4().hex[:6]}"
    created = p.cli("token", "create", name, "--role", "viewer", "--scope", COUNTY)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert p.get("/v1/reports/daily", token=token, jurisdiction=COUNTY).status_code == 200
    listed = p.cli("token", "list")
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(name))
    assert line.split("\t")[:4] == [name, "viewer", COUNTY, "active"]
    assert token.rsplit("_", 1)[1] not in listed.stdout
    stored = p.query("SELECT secret_sha256 FROM credentials WHERE name = %(n)s", {"n": name})
    assert stored and all(token.rsplit("_", 1)[1] not in row[0] for row in stored)

    rotated = p.cli("token", "rotate", name)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert new != token
    assert p.get("/v1/reports/daily", token=new, jurisdiction=COUNTY).status_code == 200
    poll(
        lambda: p.get("/v1/reports/daily", token=token, jurisdiction=COUNTY).status_code,
        lambda s: s == 401,
        timeout=20,
        what="the rotated-out token refused",
    )
    assert p.cli("token", "revoke", name).returncode == 0
    poll(
        lambda: p.get("/v1/reports/daily", token=new, jurisdiction=COUNTY).status_code,
        lambda s: s == 401,
        timeout=20,
        what="the revoked token refused",
    )
    assert f"{name}\tviewer\t{COUNTY}\trevoked" in p.cli("token", "list", "--revoked").stdout
    bad = p.cli("token", "create", "x", "--role", "root", "--scope", COUNTY)
    assert bad.returncode == 2 and "role 'root'" in bad.stderr
    bad = p.cli("token", "create", "x", "--role", "viewer", "--scope", "34082")
    assert bad.returncode == 2 and "scope '34082'" in bad.stderr


def test_tokens_with_an_expiry_are_listed_and_refused_once_expired(pipeline: Pipeline) -> None:
    p = pipeline
    name = f"cli-expiring-{uuid.uuid4().hex[:6]}"
    created = p.cli("token", "create", name, "--role", "reporter", "--scope", COUNTY, "--expires", "90d")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert p.post(screening(V_IN), token=token).status_code == 202
    cred = CredentialStore(p.settings).find(name)
    # 90 days from the command's clock, read just before the credential was written
    assert 0 <= 90 * 86_400 * 1_000_000 - (cred.expires_us - cred.created_us) < 60_000_000
    line = next(ln for ln in p.cli("token", "list").stdout.splitlines() if ln.startswith(name))
    fields = line.split("\t")
    assert fields[3] == "active"
    assert f"expires {format_us(cred.expires_us)}" in fields

    at = p.cli(
        "token",
        "create",
        f"{name}-at",
        "--role",
        "viewer",
        "--scope",
        COUNTY,
        "--expires",
        "2099-01-01T00:00:00+08:00",
    )
    assert at.returncode == 0, at.stderr
    assert CredentialStore(p.settings).find(f"{name}-at").expires_us == 4_070_880_000_000_000
    for bad in ("soon", "2020-01-01T00:00:00Z", "2099-01-01"):
        refused = p.cli(
            "token", "create", f"{name}-x", "--role", "viewer", "--scope", COUNTY, "--expires", bad
        )
        assert refused.returncode == 2 and "expires" in refused.stderr, (bad, refused.stderr)

    # one that has expired (the store takes any time; the command only future ones)
    old = f"expired-{uuid.uuid4().hex[:6]}"
    _cred, gone = CredentialStore(p.settings).create(old, "admin", "all", expires_us=1_000_000)
    for resp in (p.post(screening(V_IN), token=gone), p.get(f"/v1/jurisdictions/{COUNTY}", token=gone)):
        body = error(resp, 401, "unauthenticated")
        assert "expired at 1970-01-01T00:00:01Z" in body["message"]
    listed = next(ln for ln in p.cli("token", "list").stdout.splitlines() if ln.startswith(old))
    assert listed.split("\t")[3] == "expired"
    # rotating with a new expiry brings it back
    rotated = p.cli("token", "rotate", old, "--expires", "1h")
    assert rotated.returncode == 0, rotated.stderr
    assert p.get(f"/v1/jurisdictions/{COUNTY}", token=rotated.stdout.strip()).status_code == 200


@pytest.fixture(scope="module")
def strict(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Ingest and API outside dev mode, with a low rate limit, on the same store."""
    s = pipeline.variant(
        tmp_path_factory.mktemp("strict"),
        RIBAO_DEV_MODE="0",
        RIBAO_HMAC_KEY="strict-test-key-" + uuid.uuid4().hex,
        RIBAO_RATE_LIMIT="5/minute",
    )
    s.start("ingest", f"{s.ingest_url}/healthz")
    s.start("api", f"{s.api_url}/healthz")
    try:
        yield s
    finally:
        s.stop_all()


def test_dev_credentials_work_only_in_dev_mode(pipeline: Pipeline, strict: Pipeline) -> None:
    name = f"dev-{uuid.uuid4().hex[:6]}"
    _cred, dev = CredentialStore(pipeline.settings).create(name, "admin", "all", dev=True)
    assert pipeline.get(f"/v1/jurisdictions/{COUNTY}", token=dev).status_code == 200
    body = error(strict.get(f"/v1/jurisdictions/{COUNTY}", token=dev), 401, "unauthenticated")
    assert "dev mode" in body["message"]
    error(strict.post(screening(V_IN), token=dev), 401, "unauthenticated")


def test_a_flood_from_one_credential_does_not_starve_the_others(strict: Pipeline) -> None:
    s = strict
    flood = s.credential(f"flood-{uuid.uuid4().hex[:6]}", "admin", "all")
    calm = s.credential(f"calm-{uuid.uuid4().hex[:6]}", "admin", "all")
    statuses = [s.get(f"/v1/jurisdictions/{COUNTY}", token=flood).status_code for _ in range(12)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    resp = s.get(f"/v1/jurisdictions/{COUNTY}", token=flood)
    body = error(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["retry-after"]) <= 60 and "5 per 1 minute" in body["message"]
    assert s.get(f"/v1/jurisdictions/{COUNTY}", token=calm).status_code == 200
    # ingest: the limit is checked before the body is read
    posts = [s.post(screening(V_IN), token=flood).status_code for _ in range(7)]
    assert posts[:5] == [202] * 5 and set(posts[5:]) == {429}
    assert s.post(screening(V_IN), token=calm).status_code == 202


def test_stack_up_writes_a_dev_token_for_the_owner_only_and_rotates_it(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `ribao stack up` does in dev mode (services.cli._dev_token): the
    first time it creates the `dev-admin` credential, later it rotates it; the
    token is printed and written to $RIBAO_HOME/dev-token, mode 0600."""
    from services.cli import _dev_token
    from services.common.credentials import DEV_CREDENTIAL, check_scope

    monkeypatch.setenv("RIBAO_CLICKHOUSE_DATABASE", pipeline.settings.clickhouse_database)
    first = _dev_token(tmp_path)
    path = tmp_path / "dev-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == first + "\n"
    cred = CredentialStore(pipeline.settings).find(DEV_CREDENTIAL)
    assert (cred.role, cred.scope, cred.dev) == ("admin", check_scope("all"), True)
    assert pipeline.get(f"/v1/jurisdictions/{COUNTY}", token=first).status_code == 200
    second = _dev_token(tmp_path)
    assert second != first and path.read_text() == second + "\n"
    assert pipeline.get(f"/v1/jurisdictions/{COUNTY}", token=second).status_code == 200
    # the old token goes when the services re-read the credentials (every 5 s)
    poll(lambda: pipeline.get(f"/v1/jurisdictions/{COUNTY}", token=first).status_code, lambda s: s == 401, 30)
