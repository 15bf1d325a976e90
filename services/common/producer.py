"""A kafka-python producer for durable writes (acks=all, idempotent), created
on first use and again after a failure, so that a service starts (and says
the broker is unreachable) without Kafka, and recovers when it is back."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaProducer

log = logging.getLogger(__name__)


class LazyProducer:
    def __init__(self, bootstrap: str, client_id: str, timeout_s: float, **options: Any) -> None:
        ms = int(timeout_s * 1000)
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "max_block_ms": ms,
            "request_timeout_ms": ms,
            "delivery_timeout_ms": ms + 1000,
            "allow_auto_create_topics": False,
            "bootstrap_timeout_ms": ms,
        } | options
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def get(self) -> KafkaProducer:
        """The producer; raises kafka-python's KafkaError when the broker is unreachable."""
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(**self._config)
            return self._producer

    def reset(self) -> None:
        """Drops the producer (after a failure): the next `get` makes a new one."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # closing a broken producer must not mask the real error
                log.debug("closing the producer failed", exc_info=True)
