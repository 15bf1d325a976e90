"""Ingest settings (environment `RIBAO_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from services.common.config import CommonSettings

#: the key used in dev mode only; a deployment must set RIBAO_HMAC_KEY
DEV_HMAC_KEY = b"ribao-dev-mode-key-never-use-in-production"


class IngestSettings(CommonSettings):
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(8081, ge=1, le=65535)
    #: ingest processes accepting on the port (each is at most one core)
    ingest_workers: int = Field(1, ge=1, le=64)
    #: secret key for pseudonymising person identifiers (HMAC-SHA256)
    hmac_key: SecretStr | None = None
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    max_events_per_request: int = Field(20_000, ge=1)
    zero_report_window_days: int = Field(7, ge=0, le=366)
    #: how long a request waits for the broker's acknowledgement before 503
    produce_timeout_s: float = Field(15.0, gt=0)
    #: how long a request waits for the archive's answer (earlier versions,
    #: retraction targets) before going on without it (or 503, see archive.py)
    archive_timeout_s: float = Field(5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _key_outside_dev(self) -> IngestSettings:
        if self.hmac_key is None and not self.dev_mode:
            raise ValueError("RIBAO_HMAC_KEY is required outside dev mode (RIBAO_DEV_MODE=1)")
        if self.hmac_key is not None and len(self.hmac_key.get_secret_value()) < 16:
            raise ValueError("RIBAO_HMAC_KEY must be at least 16 characters")
        return self

    def hmac_key_bytes(self) -> bytes:
        if self.hmac_key is None:
            return DEV_HMAC_KEY
        return self.hmac_key.get_secret_value().encode()
