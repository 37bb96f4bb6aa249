"""The feedback loop's Dagster side: every running deployment observed window after window.

`service_telemetry` is partitioned by five-minute time windows; its schedule, running by default (so
`factory up`'s daemon runs it without anyone switching it on), materializes each window once it has
ended. Each materialization is one call of the core's collector and insight refresh.
"""

from dagster import (
    AssetExecutionContext,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionsDefinition,
    asset,
    build_schedule_from_partitioned_job,
    define_asset_job,
)

from assets.resources import ControlPlaneResource, DeliveryResource, KnowledgeGraphResource
from infra.telemetry_collector import collect_window, refresh_graph_insights

__all__ = ["TELEMETRY_WINDOWS", "service_telemetry", "telemetry_collection", "telemetry_schedule"]

TELEMETRY_WINDOWS = TimeWindowPartitionsDefinition(
    cron_schedule="*/5 * * * *", start="2026-01-01-00:00", fmt="%Y-%m-%d-%H:%M", timezone="UTC"
)
"""Five-minute windows (the collector's `WINDOW`), in UTC."""


@asset(group_name="feedback", partitions_def=TELEMETRY_WINDOWS, code_version="1")
def service_telemetry(
    context: AssetExecutionContext,
    knowledge_graph: KnowledgeGraphResource,
    control: ControlPlaneResource,
    delivery: DeliveryResource,
) -> MaterializeResult:
    """What every running deployment showed over one five-minute window: p50/p95 per route, error rates by
    status, the request mix and the slowest SQL statements; the SLOs as burn rates; and the findings (slow
    filters, N+1 reads, empty or rejected fields, unused entities, SLO breaches) recorded in the knowledge
    graph, with the insights all products' findings add up to."""
    start, end = context.partition_time_window
    kg, plane = knowledge_graph.open(), control.open()
    reports = collect_window(delivery.root, plane, kg, start, end)
    insights = refresh_graph_insights(kg, plane)
    rows = [
        f"| {r.tenant}/{r.product} r{r.revision} | {r.overall.count} | {r.overall.p95_ms:.1f} | "
        f"{r.overall.error_rate:.2%} | {len(r.findings)} |"
        for r in reports
    ]
    table = "| deployment | requests | p95 ms | 5xx | findings |\n|---|---|---|---|---|\n" + "\n".join(rows)
    findings = [f"{f.kind}: {f.summary}" for r in reports for f in r.findings]
    return MaterializeResult(
        metadata={
            "deployments": len(reports),
            "requests": sum(r.overall.count for r in reports),
            "findings": len(findings),
            "slo_breaches": sum(r.new_breaches for r in reports),
            "insights": len(insights),
            "windows": MetadataValue.md(table if rows else "no traffic in this window"),
            "found": MetadataValue.md("\n".join(f"- {line}" for line in findings) or "nothing"),
        }
    )


telemetry_collection = define_asset_job(
    "telemetry_collection",
    selection=[service_telemetry],
    description="Collect one telemetry window of every running deployment and conclude findings and insights.",
)
telemetry_schedule = build_schedule_from_partitioned_job(
    telemetry_collection, default_status=DefaultScheduleStatus.RUNNING
)
