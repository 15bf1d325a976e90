"""GET /v1/jurisdictions/{code}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import ORJSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.api import models, params, queries
from services.api.openapi import AUTHENTICATED, errors, ok
from services.api.report import jurisdiction
from services.api.routes.documented import CODE, documented
from services.api.state import ApiState
from services.common.access import require
from services.common.credentials import Credential

router = APIRouter()


def describe(state: ApiState, raw: str) -> models.JurisdictionDetail:
    code = params.jurisdiction(raw)
    division = queries.division(state.store, code)
    kids = queries.children(state.store, code)
    return models.JurisdictionDetail(
        code=division.code,
        name=division.name,
        level=division.level,
        parent=division.parent or None,
        children=[jurisdiction(k) for k in kids],
    )


@router.get(
    "/v1/jurisdictions/{code}",
    response_model=None,
    responses={
        **ok(models.JurisdictionDetail, "the jurisdiction, its parent and its children"),
        **errors(*AUTHENTICATED, 404),
    },
)
async def get_jurisdiction(
    request: Request,
    code: str = Path(description="division code", json_schema_extra=documented(pattern=CODE)),
    _cred: Credential = Depends(require("reporter", "viewer", "auditor")),
) -> Response:
    """Any credential may read the registry (it holds no figures)."""
    state: ApiState = request.app.state.api
    answer = await run_in_threadpool(describe, state, code)
    return ORJSONResponse(answer.model_dump(mode="json"))
