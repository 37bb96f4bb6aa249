"""Sensors: submitted intents become product partitions and lifecycle runs; failed runs are recorded."""

from dagster import (
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from assets.resources import ControlPlaneResource
from assets.stages import PRODUCTS, partition_key, split_key

__all__ = ["build_failures", "intake"]


@sensor(job_name="lifecycle", minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def intake(context: SensorEvaluationContext, control: ControlPlaneResource) -> SensorResult:
    """Every newly submitted intent (command line or Studio) gets its product partition and a lifecycle run."""
    records = control.open().claim_submitted()
    keys = sorted({partition_key(r.tenant, r.product) for r in records})
    return SensorResult(
        run_requests=[
            RunRequest(partition_key=partition_key(r.tenant, r.product), run_key=f"intent-{r.id}-r{r.revision}")
            for r in records
        ],
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
