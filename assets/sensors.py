"""Sensors: submitted intents become product partitions and lifecycle runs; failed runs are recorded; every
finished build is followed by its deep contract run; the event outbox is delivered."""

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    EventLogEntry,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_sensor,
    run_failure_sensor,
    sensor,
)

from assets.jobs import deep_contract
from assets.resources import ControlPlaneResource
from assets.stages import PRODUCTS, partition_key, split_key
from infra.event_transports import dispatch_events
from infra.lifecycle.use_cases import Claim, build_submitted
from ontology.lifecycle import BUILD

__all__ = ["after_build", "build_failures", "event_delivery", "intake"]


class RunRequester:
    """The intake sensor's build runner: a claimed intent becomes a request for a lifecycle run."""

    def build(self, claim: Claim) -> RunRequest:
        return RunRequest(
            partition_key=partition_key(claim.ref.tenant, claim.ref.product),
            run_key=f"intent-{claim.intent_id}-r{claim.revision}-{claim.token[-12:]}",  # a claim is built once
            tags={**claim.tags(), "factory/trigger": "intake"},
        )


@sensor(job_name="lifecycle", minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def intake(context: SensorEvaluationContext, control: ControlPlaneResource) -> SensorResult:
    """Every intent submitted without a build of its own gets its product partition and a lifecycle run.

    It claims the intent first, as every build does: an intent a person is building is never claimed here.
    """
    requests = [b.result for b in build_submitted(control.open(), RunRequester())]
    keys = sorted({r.partition_key for r in requests if r.partition_key})
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[PRODUCTS.build_add_request(keys)] if keys else [],
    )


@run_failure_sensor(monitored_jobs=None, default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=5)
def build_failures(context: RunFailureSensorContext, control: ControlPlaneResource) -> None:
    """A failed lifecycle run marks its intent and product as failed, with the reason, in the control database."""
    key = context.dagster_run.tags.get("dagster/partition")
    if context.dagster_run.job_name != "lifecycle" or not key:
        return
    tenant, product = split_key(key)
    plane = control.open()
    record = plane.latest_intent(tenant, product)
    reason = (context.failure_event.message or "the build failed")[:500]
    if record is not None and record.id is not None and record.status != "built":
        plane.set_intent_status(record.id, "failed", detail=reason)
    plane.upsert_product(tenant, product, status="failed")


@asset_sensor(
    asset_key=AssetKey(BUILD[-1]),
    job=deep_contract,
    minimum_interval_seconds=5,
    default_status=DefaultSensorStatus.RUNNING,
)
def after_build(context: SensorEvaluationContext, asset_event: EventLogEntry) -> RunRequest | SkipReason:
    """A build that reached its last stage (knowledge) is followed by the deep contract run of its product:
    one run per build (its run key is the build's run), in the background, off the build's critical path."""
    event = asset_event.dagster_event
    key = event.partition if event is not None else None
    if not key:
        return SkipReason("a knowledge materialization without a product partition")
    split_key(key)  # a partition the lifecycle did not make is refused, not fuzzed
    build = asset_event.run_id or f"{key}-{asset_event.timestamp}"  # a knowledge reported without a run: its time
    return RunRequest(
        partition_key=key,
        run_key=f"deep-contract-{build}",
        tags={"factory/trigger": "after-build", "factory/build-run": build},
    )


@sensor(minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def event_delivery(context: SensorEvaluationContext, control: ControlPlaneResource) -> SkipReason:
    """The factory's lifecycle events go out: to NATS JetStream when `FACTORY_NATS_URL` is set, and to the
    tenants' webhooks (signed, retried on a schedule, dead-lettered after the last attempt)."""
    report = dispatch_events(control.open())
    for line in report.errors:
        context.log.warning(line)
    return SkipReason(
        f"published {report.published}, delivered {report.delivered}, retrying {report.retrying}, dead {report.dead}"
    )
