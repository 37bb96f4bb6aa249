"""The inbound push hook: a git host's push to a product's main rebuilds it (the work is in infra.git_hooks).

No bearer token: the request is authenticated by its signature under the product's hook secret
(`factory hooks secret TENANT/PRODUCT`). A verified push to main is merged into the product's main, as a
person's commit there would be, and the product is rebuilt in the background as an API submission is.
The same delivery id twice acts once.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from infra.git_hooks import MAX_BODY_BYTES, HookSignatureError, hook_secret, parse_push, verify_push
from infra.gitops import GitOpsError, MergeConflictError, ProductRepository
from infra.lifecycle import use_cases
from infra.lifecycle.claims import process_claim
from ontology.errors import NotFoundError
from ontology.refs import ProductRef
from studio.api_deps import ApiState, ProductSlug, Tenant, api_state
from studio.api_problems import ApiProblem, Problem, problem_responses

__all__ = ["HookAnswer", "router"]

router = APIRouter()


class HookAnswer(BaseModel):
    """What a push did: a rebuild started (with its build id), or nothing."""

    status: str = Field(description="`rebuilding`, or `ignored` (another ref or event, or a deleted main).")
    tenant: str
    product: str
    ref: str | None = Field(default=None, description="The pushed ref.")
    commit: str | None = Field(default=None, description="The pushed commit.")
    head: str | None = Field(default=None, description="The product's main after the pushed commit was merged.")
    build_id: int | None = Field(default=None, description="The rebuild's build id: follow it at /v1/builds/{id}.")


_PUSH_SCHEMA = {
    "type": "object",
    "description": "A GitHub or GitLab push payload (only `ref`, `after` / `checkout_sha` and `repository` are read).",
    "properties": {
        "ref": {"type": "string", "example": "refs/heads/main"},
        "after": {"type": "string", "description": "GitHub: the pushed commit."},
        "checkout_sha": {"type": "string", "description": "GitLab: the pushed commit."},
        "repository": {"type": "object"},
    },
}
_NO_TOKEN = (
    "No bearer token: the request is authenticated by the git host's signature under the product's hook secret "
    "(`factory hooks secret TENANT/PRODUCT`): GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the "
    "raw body>` or GitLab's `X-Gitlab-Token`. A push to `refs/heads/main` is merged into the product's main and "
    "rebuilds it in the background (202, `rebuilding`); another ref or event is `ignored` (202). A push that "
    "arrives while the product is being built is refused with 409 and not queued: main is left as it was, and "
    "the host's redelivery of it after the build acts. The same delivery id (`X-GitHub-Delivery`, "
    "`X-Gitlab-Event-UUID`) twice acts once."
)


def _act(state: ApiState, ref: ProductRef, headers: dict[str, str], body: bytes) -> HookAnswer:
    control = state.control
    hook = hook_secret(control, ref) if control.product(ref.tenant, ref.product) is not None else None
    if hook is None:  # an unknown product and one without a hook answer alike: nothing is told to strangers
        raise NotFoundError(f"no push hook for {ref}: make its secret with `factory hooks secret {ref}`")
    try:
        host = verify_push(hook.secret, headers, body)
    except HookSignatureError as error:
        control.audit("hook.push", "refused", tenant=ref.tenant, product=ref.product, actor="git-hook",
                      detail=str(error))  # fmt: skip
        raise ApiProblem(401, "bad-signature", str(error)) from None
    push = parse_push(host, headers, body)
    ignored = HookAnswer(status="ignored", tenant=ref.tenant, product=ref.product)
    if push is None:
        return ignored
    if not push.to_main:
        return ignored.model_copy(update={"ref": push.ref, "commit": push.commit})
    actor = f"git-hook:{host}"
    keys, owner, key = state.keys, f"git-hook:{ref}", f"{host}:{push.delivery}"
    replay = keys.begin(owner, key, hashlib.sha256(body).hexdigest())
    if replay is not None:
        return HookAnswer.model_validate(replay)
    merged: list[str] = []

    def take_push() -> None:  # once the rebuild holds the product: a push during a build is refused, not merged
        try:
            repository = ProductRepository(state.home, ref.tenant, ref.product)
            merged.append(repository.take_pushed(push.commit, hook.upstream))
        except MergeConflictError as error:
            raise ApiProblem(409, "merge-conflict", str(error)) from None
        except GitOpsError as error:
            raise ApiProblem(409, "push-not-taken", str(error)) from None

    try:
        from studio.jobs import DetachedBuildRunner

        started = use_cases.rebuild(control, DetachedBuildRunner(state.home), ref, actor=actor,
                                    claim=process_claim("api"), prepare=take_push)  # fmt: skip
    except BaseException as error:
        keys.forget(owner, key)
        control.audit("hook.push", "failed", tenant=ref.tenant, product=ref.product, actor=actor,
                      detail=f"{push.ref} at {push.commit[:12]}: {str(error)[:300]}")  # fmt: skip
        raise
    control.audit("hook.push", "ok", tenant=ref.tenant, product=ref.product, actor=actor,
                  detail=f"{push.repository} {push.ref} at {push.commit[:12]} (delivery {push.delivery[:80]}): "
                         f"rebuilding from main {merged[0][:12]}")  # fmt: skip
    answer = HookAnswer(status="rebuilding", tenant=ref.tenant, product=ref.product, ref=push.ref,
                        commit=push.commit, head=merged[0], build_id=started.claim.intent_id)  # fmt: skip
    keys.finish(owner, key, answer.model_dump(mode="json"))
    return answer


@router.post(
    "/v1/hooks/git/{tenant}/{product}",
    tags=["hooks"],
    status_code=202,
    response_model=HookAnswer,
    summary="A git host's push webhook: a push to main rebuilds the product (signed, no bearer token)",
    description=_NO_TOKEN,
    openapi_extra={
        "security": [],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _PUSH_SCHEMA}}},
    },
    responses={
        **problem_responses(400, 401, 404, 413, 422),
        409: {
            "model": Problem,
            "description": "The product is being built: the push is refused, not queued (main is left as it was; "
            "send the delivery again once the build has ended), or main could not take the pushed commit "
            "(a merge conflict, a commit not on the pushed main).",
        },
    },
)
async def git_push(
    tenant: Tenant,
    product: ProductSlug,
    request: Request,
    response: Response,
    x_hub_signature_256: Annotated[
        str | None, Header(max_length=200, description="GitHub: `sha256=` and the hex HMAC-SHA256 of the body.")
    ] = None,
    x_gitlab_token: Annotated[str | None, Header(max_length=200, description="GitLab: the hook secret.")] = None,
) -> HookAnswer:
    declared = request.headers.get("content-length", "")
    too_large = ApiProblem(413, "too-large", f"a push payload must be under {MAX_BODY_BYTES} bytes")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    answer = await run_in_threadpool(_act, api_state(request), ProductRef(tenant, product), dict(request.headers), body)
    if answer.build_id is not None:
        response.headers["Location"] = f"/v1/builds/{answer.build_id}"
    return answer
