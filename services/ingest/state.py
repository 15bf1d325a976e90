"""What the ingest app holds while it runs."""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.acceptance import Acceptor
from services.ingest.archive import Archive
from services.ingest.config import IngestSettings
from services.ingest.producer import EventProducer


@dataclass
class IngestState:
    settings: IngestSettings
    acceptor: Acceptor
    producer: EventProducer
    archive: Archive
