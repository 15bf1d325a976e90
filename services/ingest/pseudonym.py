"""Pseudonymisation of person identifiers: the raw identifier never leaves ingest."""

from __future__ import annotations

import hashlib
import hmac


def pseudonymise(key: bytes, raw_id: str) -> str:
    """HMAC-SHA256 of the identifier under the deployment's key, as hex.

    The same person gets the same pseudonym everywhere (distinct counts work),
    and without the key the pseudonym cannot be linked back to the identifier.
    """
    return hmac.new(key, raw_id.encode("utf-8"), hashlib.sha256).hexdigest()
