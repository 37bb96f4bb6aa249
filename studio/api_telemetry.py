"""The factory's OTLP/HTTP trace receiver: deployed services export their spans here.

A service's `OTEL_EXPORTER_OTLP_ENDPOINT` is `<API>/v1/tenants/<tenant>/products/<product>/otlp` and its
`OTEL_EXPORTER_OTLP_HEADERS` carries `Authorization=Bearer <token>` (an API token of an account with the
`telemetry` right on the product: a builder or an admin of the tenant). The spans are kept where the
telemetry collector reads them (see infra.otlp and infra.telemetry_collector).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from infra.access import Resource
from infra.otlp import MAX_BODY_BYTES, OTLP_PROTOBUF, receive_traces
from ontology.refs import ProductRef
from studio.api_deps import AUTH, ProductSlug, Tenant, Who, product_known
from studio.api_problems import ApiProblem, problem_responses

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/v1/tenants/{tenant}/products/{product}/otlp/v1/traces",
    tags=["telemetry"],
    summary="Receive a product's spans (OTLP/HTTP, JSON or protobuf)",
    responses=problem_responses(400, 404, 413, *AUTH),
)
async def receive_otlp_traces(tenant: Tenant, product: ProductSlug, request: Request, who: Who) -> Response:
    """An OTLP `ExportTraceServiceRequest` from the product's deployed service; its spans feed the telemetry
    windows, SLO burn rates and findings of the product."""
    ref = ProductRef(tenant, product)
    who.allow("telemetry", Resource.of(ref))
    product_known(who, ref)
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_BODY_BYTES:
        raise ApiProblem(413, "too-large", f"send at most {MAX_BODY_BYTES} bytes per export")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiProblem(413, "too-large", f"send at most {MAX_BODY_BYTES} bytes per export")
    content_type = request.headers.get("content-type", "")
    receive_traces(who.home, tenant, product, body, content_type)
    if content_type.split(";", 1)[0].strip().lower() == OTLP_PROTOBUF:
        return Response(b"", media_type=OTLP_PROTOBUF)  # an empty ExportTraceServiceResponse
    return Response(b"{}", media_type="application/json")
