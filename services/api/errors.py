"""The API's errors; `app.py` turns them into HTTP answers."""

from __future__ import annotations


class ApiError(Exception):
    """Root of every error the API raises on purpose."""


class BadParameter(ApiError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class UnknownJurisdiction(ApiError):
    def __init__(self, code: str) -> None:
        super().__init__(f"jurisdiction {code} is not in the registry")
        self.code = code


class StoreUnavailable(ApiError):
    """ClickHouse did not answer: say so rather than serve wrong numbers."""
