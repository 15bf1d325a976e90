"""GET /v1/jurisdictions/{code}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from services.api import params, queries
from services.api.routes.documented import CODE, documented
from services.api.state import ApiState
from services.common.access import require
from services.common.credentials import Credential

router = APIRouter()


def describe(state: ApiState, raw: str) -> dict[str, Any]:
    code = params.jurisdiction(raw)
    division = queries.division(state.store, code)
    kids = queries.children(state.store, code)
    return {
        "code": division.code,
        "name": division.name,
        "level": division.level,
        "parent": division.parent or None,
        "children": [{"code": k.code, "name": k.name, "level": k.level} for k in kids],
    }


@router.get("/v1/jurisdictions/{code}")
async def get_jurisdiction(
    request: Request,
    code: str = Path(description="division code", json_schema_extra=documented(pattern=CODE)),
    _cred: Credential = Depends(require("reporter", "viewer", "auditor")),
) -> dict[str, Any]:
    """Any credential may read the registry (it holds no figures)."""
    state: ApiState = request.app.state.api
    return await run_in_threadpool(describe, state, code)
