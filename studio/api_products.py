"""Routes of products: list products, revisions, releases and deployments; approve, reject, promote, stop."""

from __future__ import annotations

from fastapi import APIRouter

from infra.access import Resource, approvals_of, revision_authors
from infra.lifecycle import use_cases
from infra.records import DeploymentRecord
from ontology.refs import ProductRef
from studio.access_commands import SignedIn
from studio.api_deps import (
    AUTH,
    BODY,
    PageCursor,
    ProductSlug,
    Tenant,
    TenantFilter,
    Who,
    page,
    product_known,
    readable,
)
from studio.api_models import (
    ApprovalAnswer,
    ApprovalRequest,
    Deployment,
    Env,
    Limit,
    Page,
    Product,
    PromoteRequest,
    Release,
    Revision,
    StopRequest,
)
from studio.api_problems import ApiProblem, problem_responses

__all__ = ["router"]

router = APIRouter()


def _deployment(d: DeploymentRecord) -> Deployment:
    return Deployment.model_validate(d, from_attributes=True)


@router.get(
    "/v1/products",
    tags=["products"],
    response_model=Page[Product],
    summary="Products with their revision, status, trace id and service URL",
    responses=problem_responses(*AUTH),
)
def list_products(who: Who, tenant: TenantFilter = None, limit: Limit = 20, cursor: PageCursor = None) -> Page[Product]:
    tenants = who.tenants(tenant)
    rows = [
        Product.model_validate(r, from_attributes=True)
        for r in who.control.products(tenant)
        if tenants is None or r.tenant in tenants
    ]
    return page(rows, limit, cursor)


@router.get(
    "/v1/products/{tenant}/{product}/revisions",
    tags=["products"],
    response_model=Page[Revision],
    summary="The product's intent revisions, newest first (each one's build id)",
    responses=problem_responses(*AUTH, 404),
)
def list_revisions(
    tenant: Tenant, product: ProductSlug, who: Who, limit: Limit = 20, cursor: PageCursor = None
) -> Page[Revision]:
    readable(who, tenant)
    product_known(who, ProductRef(tenant, product))
    rows = [
        Revision.model_validate({**i.model_dump(), "build_id": i.id, "has_blueprint": i.blueprint_yaml is not None})
        for i in who.control.intents(tenant)
        if i.product == product
    ]
    return page(rows, limit, cursor)


@router.get(
    "/v1/products/{tenant}/{product}/releases",
    tags=["products"],
    response_model=Page[Release],
    summary="The releases that took an environment's traffic, newest first",
    responses=problem_responses(*AUTH, 404),
)
def list_releases(
    tenant: Tenant,
    product: ProductSlug,
    who: Who,
    env: Env = Env.dev,
    limit: Limit = 20,
    cursor: PageCursor = None,
) -> Page[Release]:
    readable(who, tenant)
    product_known(who, ProductRef(tenant, product))
    releases = who.control.releases(tenant, product, env.value)
    rows = [Release.model_validate(r, from_attributes=True) for r in releases]
    return page(rows, limit, cursor)


@router.get(
    "/v1/deployments",
    tags=["products"],
    response_model=Page[Deployment],
    summary="Where products run: URL, revision, commit and status per environment",
    responses=problem_responses(*AUTH),
)
def list_deployments(
    who: Who, tenant: TenantFilter = None, limit: Limit = 20, cursor: PageCursor = None
) -> Page[Deployment]:
    tenants = who.tenants(tenant)
    rows = [_deployment(d) for d in who.control.deployments(tenant) if tenants is None or d.tenant in tenants]
    return page(rows, limit, cursor)


def _decide(tenant: str, product: str, body: ApprovalRequest, who: SignedIn, approved: bool) -> ApprovalAnswer:
    ref = ProductRef(tenant, product)
    authors = revision_authors(who.control, who.home, ref, body.env.value)
    who.allow("approve" if approved else "reject", Resource.of(ref, env=body.env.value, authors=authors))
    product_known(who, ref)
    record = use_cases.approve(
        who.control, who.home, ref, body.env.value, approved=approved, reason=body.reason, actor=who.name
    )
    return ApprovalAnswer.model_validate(record, from_attributes=True)


decision_responses = problem_responses(*BODY, 404, 409)


@router.post(
    "/v1/products/{tenant}/{product}/approve",
    tags=["governance"],
    response_model=ApprovalAnswer,
    summary="Approve promoting the product's next commit to an environment",
    responses=decision_responses,
)
def approve(tenant: Tenant, product: ProductSlug, body: ApprovalRequest, who: Who) -> ApprovalAnswer:
    return _decide(tenant, product, body, who, approved=True)


@router.post(
    "/v1/products/{tenant}/{product}/reject",
    tags=["governance"],
    response_model=ApprovalAnswer,
    summary="Reject promoting the product's next commit to an environment",
    responses=decision_responses,
)
def reject(tenant: Tenant, product: ProductSlug, body: ApprovalRequest, who: Who) -> ApprovalAnswer:
    return _decide(tenant, product, body, who, approved=False)


@router.post(
    "/v1/products/{tenant}/{product}/promote",
    tags=["governance"],
    response_model=Deployment,
    summary="Promote the release to staging (from dev) or prod (from staging; needs an approval)",
    responses=problem_responses(*BODY, 404, 409, 502),
)
def promote(tenant: Tenant, product: ProductSlug, body: PromoteRequest, who: Who) -> Deployment:
    ref, env = ProductRef(tenant, product), body.env.value
    who.allow("promote", Resource.of(ref, env=env, approvals=approvals_of(who.control, who.home, ref, env)))
    product_known(who, ref)
    return _deployment(use_cases.promote(who.control, who.home, ref, env, actor=who.name))


@router.post(
    "/v1/products/{tenant}/{product}/stop",
    tags=["governance"],
    response_model=Deployment,
    summary="Stop the product's running service in an environment",
    responses=problem_responses(*BODY, 404, 409),
)
def stop(tenant: Tenant, product: ProductSlug, body: StopRequest, who: Who) -> Deployment:
    ref = ProductRef(tenant, product)
    who.allow("stop", Resource.of(ref))
    product_known(who, ref)
    found = who.control.deployment(tenant, product, body.env.value)
    if found is None or found.status != "running":
        raise ApiProblem(409, "not-running", f"{ref} has no running deployment in {body.env.value}")
    return _deployment(use_cases.stop(who.control, ref, env=body.env.value, actor=who.name)[0])
