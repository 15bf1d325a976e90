"""Bearer credentials: who may call ingest and the API, and over which subtree.

A token reads `rb_<token_id>_<secret>`. Only the SHA-256 of the secret is
stored (the secret is 256 random bits, so a plain hash is enough and no slow
KDF is needed); the token is shown once, when it is created or rotated.
Each credential has one role and one scope: a division code whose subtree it
may reach (`000000000000`, the country, reaches everything), and may expire
(`expires_us`; 0 for never).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, cast, get_args

from schemas import codes
from services.common.clickhouse import client
from services.common.config import CommonSettings

Role = Literal["reporter", "viewer", "auditor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
#: the name of the credential `ribao stack up` creates in dev mode
DEV_CREDENTIAL = "dev-admin"

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_TOKEN = re.compile(r"rb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class CredentialError(ValueError):
    """A credential command that cannot be done (bad name, role or scope, unknown name)."""


@dataclass(frozen=True)
class Credential:
    token_id: str
    name: str
    role: Role
    #: normalised 12-digit code of the subtree it reaches
    scope: str
    secret_sha256: str
    dev: bool
    created_us: int
    changed_us: int
    revoked_us: int
    #: when it stops working (µs since the epoch); 0: never
    expires_us: int = 0

    @property
    def active(self) -> bool:
        return self.revoked_us == 0

    def expired(self, now_us: int) -> bool:
        return self.expires_us != 0 and now_us >= self.expires_us

    def covers(self, code: str) -> bool:
        """Whether a normalised code lies inside this credential's scope."""
        return codes.is_within(code, self.scope)

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_sha256, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse_token(raw: str) -> tuple[str, str] | None:
    """(token_id, secret) of a well-formed token; None otherwise."""
    match = _TOKEN.fullmatch(raw)
    return (match[1], match[2]) if match else None


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise CredentialError(
            f"name {name!r}: use 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise CredentialError(f"role {role!r}: must be one of {', '.join(ROLES)}")
    return role


def check_scope(scope: str) -> str:
    """A scope is a division code of 2/4/6/9/12 digits, or `all` for the country."""
    if scope in ("all", codes.COUNTRY):
        return codes.COUNTRY
    try:
        return codes.normalize(scope)
    except codes.CodeError as exc:
        raise CredentialError(f"scope {scope!r}: {exc}, or 'all'") from None


_DURATION = re.compile(r"([1-9][0-9]{0,5})([dhm])")
_UNIT_S = {"d": 86_400, "h": 3_600, "m": 60}


def parse_expiry(text: str, now_us: int) -> int:
    """When a credential created now with `--expires text` stops working, in µs:
    `text` is a duration (`90d`, `12h`, `30m`) or an RFC 3339 time with an
    offset, which must lie in the future."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        return now_us + int(match[1]) * _UNIT_S[match[2]] * 1_000_000
    try:
        when = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise CredentialError(
            f"expires {text!r}: use a duration (90d, 12h, 30m) or an RFC 3339 time with an offset"
        )
    us = int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)
    if us <= now_us:
        raise CredentialError(f"expires {text!r}: that time has passed")
    return us


def format_us(us: int) -> str:
    """µs since the epoch as an RFC 3339 UTC time to the second."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_COLUMNS = "token_id, name, role, scope, secret_sha256, dev, created_us, changed_us, revoked_us, expires_us"
_LATEST = f"""
SELECT token_id, {", ".join(f"argMax({c}, version)" for c in _COLUMNS.split(", ")[1:])}
FROM credentials GROUP BY token_id
"""


def _now_us() -> int:
    return time.time_ns() // 1000


class CredentialStore:
    """Credentials in ClickHouse's `credentials` table (migration 008)."""

    def __init__(self, settings: CommonSettings) -> None:
        self._settings = settings

    def _write(self, cred: Credential) -> None:
        row = (
            cred.token_id,
            cred.name,
            cred.role,
            cred.scope,
            cred.secret_sha256,
            int(cred.dev),
            cred.created_us,
            cred.changed_us,
            cred.revoked_us,
            cred.expires_us,
            time.time_ns(),
        )
        client(self._settings).execute(f"INSERT INTO credentials ({_COLUMNS}, version) VALUES", [row])

    def all(self) -> list[Credential]:
        rows = client(self._settings).execute(_LATEST + " ORDER BY 2, 1")
        return [
            Credential(r[0], r[1], cast(Role, r[2]), r[3], r[4], bool(r[5]), r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def active(self) -> dict[str, Credential]:
        """Every credential not revoked, by token_id."""
        return {c.token_id: c for c in self.all() if c.active}

    def find(self, name: str) -> Credential:
        for cred in self.all():
            if cred.name == name and cred.active:
                return cred
        raise CredentialError(f"no active credential named {name!r}")

    def create(
        self, name: str, role: str, scope: str, dev: bool = False, expires_us: int = 0
    ) -> tuple[Credential, str]:
        """A new credential and its token (shown once); it stops working at
        `expires_us` (0: never)."""
        name, checked_role, checked_scope = check_name(name), check_role(role), check_scope(scope)
        if any(c.name == name and c.active for c in self.all()):
            raise CredentialError(f"an active credential named {name!r} exists; revoke or rotate it")
        token_id, secret, now = secrets.token_hex(8), _new_secret(), _now_us()
        cred = Credential(
            token_id, name, checked_role, checked_scope, hash_secret(secret), dev, now, now, 0, expires_us
        )
        self._write(cred)
        return cred, f"rb_{token_id}_{secret}"

    def rotate(self, name: str, expires_us: int | None = None) -> tuple[Credential, str]:
        """A new secret for the same credential; the old token stops working. The
        expiry is kept unless `expires_us` is given (0: never)."""
        secret = _new_secret()
        cred = replace(self.find(name), secret_sha256=hash_secret(secret), changed_us=_now_us())
        if expires_us is not None:
            cred = replace(cred, expires_us=expires_us)
        self._write(cred)
        return cred, f"rb_{cred.token_id}_{secret}"

    def revoke(self, name: str) -> Credential:
        now = _now_us()
        cred = replace(self.find(name), changed_us=now, revoked_us=now)
        self._write(cred)
        return cred
