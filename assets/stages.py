"""The lifecycle assets, generated from the stage table: each a few lines around its stage function.

An asset turns its partition (`<tenant>.<product>`) and its resources into a `StageContext`, runs
the stage function on its upstream results, and turns the typed result into the materialization:
its metadata, its data version (the result's fingerprint) and its blocking checks. The work, the
facts, the control database and the reuse of unchanged results are the stage function's
(`infra.lifecycle`); why reuse is decided there and not by Dagster's data versions alone is said in
`infra.lifecycle.bookkeeping`.
"""

# No `from __future__ import annotations` here: Dagster reads the asset function's `context` annotation
# as a type, not as a string.
import inspect
import warnings
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BetaWarning,
    DataVersion,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from infra.lifecycle.bookkeeping import CODE_VERSION
from infra.lifecycle.context import StageContext, StageSettings
from infra.lifecycle.results import Markdown, MetadataPath, StageResult, Url
from infra.lifecycle.stages import STAGES, BoundStage, run_stored
from infra.lifecycle.use_cases import INTENT_TAG
from ontology.errors import InvalidInputError
from ontology.refs import check_slug

__all__ = [
    "LIFECYCLE_ASSETS",
    "PRODUCTS",
    "RESOURCES",
    "first_issue",
    "lifecycle_asset",
    "partition_key",
    "split_key",
    "stage_context",
]

warnings.filterwarnings("ignore", category=BetaWarning)  # data versions on outputs are what make rebuilds no-ops

PRODUCTS = DynamicPartitionsDefinition(name="product")
"""One partition per product: `<tenant>.<product>`."""

RESOURCES = {"control", "delivery", "generators", "knowledge_graph"}
"""The resources every lifecycle asset reads its settings from."""


def partition_key(tenant: str, product: str) -> str:
    return f"{check_slug(tenant, 'tenant')}.{check_slug(product, 'product')}"


def split_key(key: str) -> tuple[str, str]:
    tenant, sep, product = key.partition(".")
    if not sep:
        raise InvalidInputError(f"invalid product partition {key[:80]!r}: expected <tenant>.<product>")
    return check_slug(tenant, "tenant"), check_slug(product, "product")


def stage_context(context: AssetExecutionContext) -> StageContext:
    """The stage's context from the asset's partition and resources."""
    r = context.resources
    tenant, product = split_key(context.partition_key)
    settings = StageSettings(
        database_url=r.control.url,
        lineage_url=r.delivery.lineage_url,
        template=r.generators.template,
        template_version=r.generators.template_version,
        test_timeout_s=r.generators.test_timeout_s,
        smoke_rounds=r.delivery.smoke_rounds,
        contract_examples=r.delivery.contract_examples,
    )
    claimed = context.run.tags.get(INTENT_TAG)  # the intent the build claimed; none from the Dagster UI
    execution = context.run.run_config.get("execution")
    in_process = isinstance(execution, dict) and "in_process" in (execution.get("config") or {})
    return StageContext(
        r.delivery.root,
        tenant,
        product,
        context.run.run_id,
        settings,
        context.log.info,
        knowledge_graph=r.knowledge_graph.open,
        planner_source=r.generators.planner,
        intent_id=int(claimed) if claimed and claimed.isdigit() else None,
        publish_across_stages=in_process,  # build_product waits for what they leave running
    )


def _metadata(result: StageResult) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for key, value in result.metadata().items():
        if isinstance(value, Markdown):
            shown[key] = MetadataValue.md(str(value))
        elif isinstance(value, MetadataPath):
            shown[key] = MetadataValue.path(str(value))
        elif isinstance(value, Url):
            shown[key] = MetadataValue.url(str(value))
        else:
            shown[key] = value
    return shown


_ISSUES, _NO_ISSUES = "issues", "none"
"""The metadata key of a check's issues (a Markdown list, one `- ` item each) and its text when there are none."""


def _check_results(bound: BoundStage, result: StageResult) -> Iterator[AssetCheckResult]:
    found = result.check_issues()
    for name, description in bound.checks.items():
        issues = found.get(name, [])
        yield AssetCheckResult(
            check_name=name,
            passed=not issues,
            severity=AssetCheckSeverity.ERROR,
            description=description,
            metadata={_ISSUES: MetadataValue.md("\n".join(f"- {i}" for i in issues[:50]) or _NO_ISSUES)},
        )


def first_issue(evaluation: AssetCheckEvaluation) -> str:
    """The first issue a check evaluation recorded, on one line ("" for none)."""
    issues = evaluation.metadata.get(_ISSUES)
    text = str(issues.value) if issues is not None else _NO_ISSUES
    return "" if text == _NO_ISSUES else " ".join(text.split("\n- ")[0].removeprefix("- ").split())


def lifecycle_asset(bound: BoundStage) -> AssetsDefinition:
    """The asset of one stage of the table.

    Its upstream assets are dependencies, not inputs: the stage reads their results from the product's
    workspace, where each stage stores its own, so Dagster neither loads nor stores a value between the
    steps (which would cost an IO manager call and an event in the run's log for each).
    """

    @asset(
        name=bound.name,
        description=inspect.cleandoc(bound.doc),
        deps=[AssetKey(name) for name in bound.row.inputs],
        partitions_def=PRODUCTS,
        group_name="lifecycle",
        code_version=CODE_VERSION,
        required_resource_keys=RESOURCES,
        check_specs=[AssetCheckSpec(name, asset=bound.name, blocking=True) for name in bound.checks],
    )
    def stage_asset(context: AssetExecutionContext) -> MaterializeResult:
        result = run_stored(stage_context(context), bound.name)
        return MaterializeResult(
            metadata=_metadata(result),
            data_version=DataVersion(result.fingerprint),
            check_results=list(_check_results(bound, result)),
        )

    return stage_asset


LIFECYCLE_ASSETS: dict[str, AssetsDefinition] = {bound.name: lifecycle_asset(bound) for bound in STAGES}
"""The lifecycle's assets by stage name, in table order."""
