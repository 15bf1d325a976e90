"""Aggregator's errors."""

from __future__ import annotations


class AggregatorError(Exception):
    """Root of every error the aggregator raises on purpose."""


class PoisonRecord(AggregatorError):
    """A record on the events topic that is not a valid event."""
