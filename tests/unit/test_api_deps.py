"""The routes' dependencies (services/api/deps.py) are the app's, so a test
swaps them: here the clock and the credential, on a report that is refused
before it reads the store."""

from __future__ import annotations

import typing
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from services.api import deps
from services.api.app import create_app
from services.common.credentials import Credential
from tests.unit.support import credential


def _override(annotated: object) -> object:
    """The callable FastAPI resolves for an `Annotated[..., Depends(f)]`."""
    return typing.get_args(annotated)[1].dependency


def test_the_clock_and_the_credential_are_swapped_per_app() -> None:
    app = create_app()
    viewer: Credential = credential("viewer-34", "340000000000", "viewer")
    app.dependency_overrides[_override(deps.Viewer)] = lambda: viewer  # type: ignore[index]
    app.dependency_overrides[deps.now] = lambda: datetime(2020, 1, 28, 4, tzinfo=UTC)
    client = TestClient(app)
    # 2020-01-29 is tomorrow by this clock, whatever the machine's says
    for path, params in (
        ("/v1/reports/daily", {"date": "2020-01-29"}),
        ("/v1/reports/series", {"to": "2020-01-29"}),
    ):
        resp = client.get(path, params={"jurisdiction": "3408", **params})
        assert resp.status_code == 400, resp.text
        error = resp.json()["error"]
        assert "today is 2020-01-28" in error["message"], error
    # and the scope is the swapped credential's
    resp = client.get("/v1/reports/series", params={"jurisdiction": "37", "to": "2020-01-29"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"
