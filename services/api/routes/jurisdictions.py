"""GET /v1/jurisdictions/{code}."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import ORJSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.api import divisions, models, params
from services.api.deps import AnyRole, State
from services.api.openapi import AUTHENTICATED, errors, ok
from services.api.report import jurisdiction
from services.api.routes.documented import CODE, documented
from services.api.state import ApiState

router = APIRouter()


def describe(state: ApiState, raw: str) -> models.JurisdictionDetail:
    code = params.jurisdiction(raw)
    division = divisions.division(state.store, code)
    kids = divisions.children(state.store, code)
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
    state: State,
    _cred: AnyRole,
    code: str = Path(description="division code", json_schema_extra=documented(pattern=CODE)),
) -> Response:
    """Any credential may read the registry (it holds no figures)."""
    answer = await run_in_threadpool(describe, state, code)
    return ORJSONResponse(answer.model_dump(mode="json"))
