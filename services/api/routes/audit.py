"""GET /v1/audit/replay: what HQ saw for (J, D) as of T, and the events behind it;
GET /v1/audit/dead-letters: the records on the events topic that were never folded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import ORJSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from schemas import codes
from services.api import divisions, models, params
from services.api.dead_letters import dead_letters
from services.api.deps import Auditor, AuditorReport, State
from services.api.openapi import AUTHENTICATED, errors, ok
from services.api.params import ReportQuery
from services.api.replay import Replay, archived_events, replay
from services.api.report import header
from services.api.routes.documented import UINT, documented
from services.api.state import ApiState
from services.common.access import Forbidden

router = APIRouter()


def _run(state: ApiState, q: ReportQuery) -> tuple[models.ReplayHead, Replay, Any]:
    zone = state.settings.zone
    code, day, as_of, window = q.code, q.day, q.as_of, q.window
    division = divisions.division(state.store, code)
    # on a cluster, read from no replica still fetching the archive's last rows
    areas, pool = state.settings.focus_area_list, state.replay_pool
    result = state.store.caught_up(
        lambda: replay(state.store, areas, code, day, window, as_of, q.deadline, pool)
    )
    head = models.ReplayHead(
        **dict(header(division, q, zone)),
        total_events=result.total_events,
        figures=models.Figures.model_validate(result.replayed),
        served_figures=models.Figures.model_validate(result.served),
        reporting=models.ReplayReporting(
            replayed=result.replayed_status.status,
            served=result.served_status,
        ),
        differences=[
            models.Difference(figure=d.figure, served=d.served, replayed=d.replayed)
            for d in result.differences
        ],
        duplicate_conflicts=result.duplicate_conflicts,
        retractions=result.retractions,
    )
    return head, result, (code, window, as_of)


@router.get(
    "/v1/audit/replay",
    response_model=None,
    responses={
        **ok(
            models.ReplayReport,
            "the figures recomputed from the archived events, the served ones, their differences, "
            "and one page of the events",
            {
                "application/x-ndjson": "format=ndjson: the summary (ReplayHead), "
                "then one event (ArchivedEvent) a line"
            },
        ),
        **errors(*AUTHENTICATED, 403, 404),
    },
)
async def get_replay(
    state: State,
    query: AuditorReport,
    limit: str | None = Query(
        None,
        description="events per page, 1..10000 (default 1000; json only)",
        json_schema_extra=documented(pattern=UINT),
    ),
    offset: str | None = Query(
        None, description="events to skip (default 0; json only)", json_schema_extra=documented(pattern=UINT)
    ),
    format: str | None = Query(
        None,
        description="json (default: a page of events) or ndjson (all events, streamed)",
        json_schema_extra=documented(enum=["json", "ndjson"]),
    ),
) -> Response:
    format = params.output_format(format, ("json", "ndjson"))
    page = params.bounded_int(limit, "limit", 1000, 1, 10_000)
    skip = params.bounded_int(offset, "offset", 0, 0, 10**9)
    head, _result, (code, window, when) = await run_in_threadpool(_run, state, query)
    if format == "ndjson":

        def lines() -> Iterator[bytes]:
            yield orjson.dumps(head.model_dump(mode="json")) + b"\n"
            for event in archived_events(state.store, code, window, when):
                yield orjson.dumps(event.as_dict()) + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")
    events = await run_in_threadpool(
        lambda: list(archived_events(state.store, code, window, when, page, skip))
    )
    report = models.ReplayReport(
        **dict(head),
        limit=page,
        offset=skip,
        events=[models.ArchivedEvent.model_validate(e.as_dict()) for e in events],
    )
    return ORJSONResponse(report.model_dump(mode="json", exclude_unset=True))


@router.get(
    "/v1/audit/dead-letters",
    response_model=None,
    responses={
        **ok(models.DeadLetters, "one page of the records never folded, in (partition, offset) order"),
        **errors(*AUTHENTICATED, 403),
    },
)
async def get_dead_letters(
    state: State,
    cred: Auditor,
    limit: str | None = Query(
        None,
        description="dead letters per page, 1..10000 (default 100)",
        json_schema_extra=documented(pattern=UINT),
    ),
    offset: str | None = Query(
        None, description="dead letters to skip (default 0)", json_schema_extra=documented(pattern=UINT)
    ),
) -> Response:
    """For auditors with a national scope: a dead letter may name no valid jurisdiction."""
    if cred.scope != codes.COUNTRY:
        raise Forbidden(
            "dead letters belong to no jurisdiction: they need an auditor with the national scope",
            [{"credential": cred.name, "scope": codes.significant(cred.scope)}],
        )
    page = params.bounded_int(limit, "limit", 100, 1, 10_000)
    skip = params.bounded_int(offset, "offset", 0, 0, 10**9)
    total, items = await run_in_threadpool(dead_letters, state.store, page, skip)
    answer = models.DeadLetters(
        source_topic=state.settings.events_topic,
        topic=state.settings.dead_letter_topic_name,
        total=total,
        limit=page,
        offset=skip,
        dead_letters=[models.DeadLetter.model_validate(item) for item in items],
    )
    return ORJSONResponse(answer.model_dump(mode="json"))
