"""Routes of the knowledge graph: a build's trace, read-only SPARQL and Cypher, semantic search."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from ontology.errors import NotFoundError, QueryTimeoutError
from studio.access_commands import SignedIn
from studio.api_deps import AUTH, BODY, AdminTenant, TraceId, Who, api_state, readable
from studio.api_models import NOT_BLANK, Match, QueryAnswer, QueryRequest, TraceStepOut
from studio.api_problems import problem_responses

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/v1/traces/{trace_id}",
    tags=["knowledge"],
    response_model=list[TraceStepOut],
    summary="One build's chain, intent to deployment, from the knowledge graph",
    responses=problem_responses(*AUTH, 404, 503),
)
def get_trace(
    trace_id: TraceId,
    who: Who,
    request: Request,
    tenant: AdminTenant = None,
) -> list[TraceStepOut]:
    readable(who, tenant)
    steps = api_state(request).kg().trace(trace_id, tenant)
    if not steps:
        raise NotFoundError(f"no facts carry trace id {trace_id}")
    return list(steps)


async def _query(request: Request, who: SignedIn, body: QueryRequest, language: str) -> QueryAnswer:
    readable(who, body.tenant)
    kg = api_state(request).kg()
    if language == "sparql":
        from rdflib import URIRef

        bound: dict[str, Any] = {
            k: URIRef(v[1:-1]) if v.startswith("<") and v.endswith(">") else v for k, v in body.params.items()
        }

        def run() -> Any:
            return kg.sparql(body.query, body.tenant, bound, max_rows=body.limit, timeout_s=body.timeout)
    else:

        def run() -> Any:
            return kg.cypher(body.query, body.tenant, body.params, max_rows=body.limit, timeout_s=body.timeout)

    try:  # Oxigraph cannot stop a query that computes long before its first row: the answer does not wait
        result = await asyncio.wait_for(run_in_threadpool(run), body.timeout + 2)
    except TimeoutError:
        raise QueryTimeoutError(f"the query ran longer than {body.timeout:g} s and was stopped") from None
    return QueryAnswer(columns=result.columns, rows=result.rows, boolean=result.boolean, truncated=result.truncated)


query_responses = problem_responses(*BODY, 404, 503)


@router.post(
    "/v1/query/sparql",
    tags=["knowledge"],
    response_model=QueryAnswer,
    summary="A read-only SPARQL query over a tenant's graphs (bounded in rows and time)",
    responses=query_responses,
)
async def query_sparql(body: QueryRequest, who: Who, request: Request) -> QueryAnswer:
    return await _query(request, who, body, "sparql")


@router.post(
    "/v1/query/cypher",
    tags=["knowledge"],
    response_model=QueryAnswer,
    summary="A read-only Cypher query over a tenant's property graph (bounded in rows and time)",
    responses=query_responses,
)
async def query_cypher(body: QueryRequest, who: Who, request: Request) -> QueryAnswer:
    return await _query(request, who, body, "cypher")


@router.get(
    "/v1/search",
    tags=["knowledge"],
    response_model=list[Match],
    summary="Past products and intents nearest in meaning to a text",
    responses=problem_responses(*AUTH, 404, 503),
)
def search(
    who: Who,
    request: Request,
    text: Annotated[str, Query(min_length=1, max_length=10_000, pattern=NOT_BLANK, description="What to look for.")],
    tenant: AdminTenant = None,
    k: Annotated[int, Query(ge=1, le=100, description="How many results.")] = 5,
) -> list[Match]:
    readable(who, tenant)
    return [Match(**m.__dict__) for m in api_state(request).kg().similar(text, k, tenant)]
