"""Query parameters shared by the report endpoints, parsed with errors that
name the parameter."""

from __future__ import annotations

from datetime import date, datetime

from schemas import codes
from schemas.events import parse_rfc3339
from services.api.errors import BadParameter
from services.common.windows import CutoffError, parse_cutoff


def jurisdiction(raw: str) -> str:
    try:
        return codes.normalize(raw)
    except codes.CodeError as exc:
        raise BadParameter("jurisdiction", str(exc)) from None


def report_date(raw: str | None, today: date) -> date:
    if raw is None:
        return today
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise BadParameter("date", "must be a date YYYY-MM-DD") from None


def cutoff(raw: str | None) -> int:
    if raw is None:
        return 24
    try:
        return parse_cutoff(raw)
    except CutoffError as exc:
        raise BadParameter("cutoff", str(exc)) from None


def as_of(raw: str | None, now: datetime) -> datetime:
    if raw is None:
        return now
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise BadParameter("as_of", str(exc)) from None


def grace_hours(raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter("grace_hours", "must be a number of hours") from None
    if not 0 <= value <= 24 * 7:
        raise BadParameter("grace_hours", "must be between 0 and 168")
    return value
