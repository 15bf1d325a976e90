"""GET /v1/jurisdictions/{code} and GET /v1/jurisdictions?q= (search)."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query
from fastapi.responses import ORJSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.api import divisions, models, params, search
from services.api.deps import AnyRole, State
from services.api.errors import BadParameter, StoreUnavailable
from services.api.openapi import AUTHENTICATED, errors, ok
from services.api.report import jurisdiction
from services.api.routes.documented import CODE, UINT, documented
from services.api.state import ApiState

router = APIRouter()


def describe(state: ApiState, raw: str) -> models.JurisdictionDetail:
    state.search.start()  # a picker that drills down may search next
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


#: the longest query: longer than any name in the registry (33 characters)
MAX_QUERY = 50


def find(state: ApiState, q: str, scope: str, limit: int) -> models.SearchAnswer:
    index = state.search.get(timeout=30.0)
    if index is None:
        raise StoreUnavailable("the registry is not loaded yet (ClickHouse did not answer)")
    results, more = index.search(q, scope, limit)
    return models.SearchAnswer(
        q=q,
        results=[
            models.SearchResult(
                code=r.code,
                name=r.name,
                level=r.level,
                ancestors=[models.Jurisdiction(code=c, name=n, level=lv) for c, n, lv in r.ancestors],
            )
            for r in results
        ],
        more=more,
    )


@router.get(
    "/v1/jurisdictions",
    response_model=None,
    responses={
        **ok(
            models.SearchAnswer,
            "the divisions within the caller's scope whose name contains q, or code starts with it",
        ),
        **errors(*AUTHENTICATED),
    },
)
async def search_jurisdictions(
    state: State,
    cred: AnyRole,
    q: str = Query(
        ...,
        description="a part of a name (许岭, 石庙) or the start of a code (3408)",
        json_schema_extra=documented(minLength=1, maxLength=MAX_QUERY),
    ),
    limit: str | None = Query(
        None,
        description=f"results, 1..{search.MAX_RESULTS} (default {search.MAX_RESULTS})",
        json_schema_extra=documented(pattern=UINT),
    ),
) -> Response:
    """Any credential may search the registry; it finds divisions within its scope."""
    text = q.strip()
    if not text or len(text) > MAX_QUERY or not text.isprintable():
        raise BadParameter("q", f"1 to {MAX_QUERY} printable characters: a part of a name or a code")
    count = params.bounded_int(limit, "limit", search.MAX_RESULTS, 1, search.MAX_RESULTS)
    answer = await run_in_threadpool(find, state, text, cred.scope, count)
    return ORJSONResponse(answer.model_dump(mode="json"))
