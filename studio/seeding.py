"""Sample Studio data through the real core, for the Studio's tests, its benchmark and demos.

`record_build` leaves the control records a finished build leaves; `release_sample` renders a
sample's blueprint with the real template pack, releases it into a real git repository and keeps
the stage outputs the Product page reads. Neither runs Dagster, so they take a fraction of a build.
"""

from __future__ import annotations

from pathlib import Path

from generators.blueprint import dump_blueprint
from generators.packs import load_pack
from generators.rendering import render_pack
from graph.samples import SampleProduct
from infra.control import ControlPlane
from infra.gitops import ProductRepository
from infra.workspace import ProductWorkspace
from ontology.models import Attribute, Blueprint, Entity, Relationship
from studio.views import STAGES

__all__ = ["TEMPLATE", "blueprint_of", "record_build", "release_sample"]

TEMPLATE = "fastapi-service@1.0.0"


def record_build(
    control: ControlPlane, sample: SampleProduct, trace_id: str, *, passed: bool = True, seconds: float = 40.0
) -> None:
    """The control records of one finished build of `sample`: its intent, product row and build outcome."""
    record, _ = control.submit_intent(sample.tenant, sample.product, sample.intent, actor="seed")
    assert record.id is not None
    run_id = f"{trace_id[:8]}-0000-4000-8000-{trace_id[8:20]}"
    control.set_intent_status(record.id, "built" if passed else "failed", trace_id=trace_id, run_id=run_id)
    stages = {stage: "done" for stage in STAGES}
    if not passed:
        stages.update({"validation": "failed", "release": "skipped", "deployment": "skipped"})
    control.upsert_product(
        sample.tenant,
        sample.product,
        revision=record.revision,
        trace_id=trace_id,
        status="built" if passed else "failed",
        stages=stages,
        durations={stage: round(seconds / len(STAGES), 3) for stage in STAGES},
    )
    control.record_build(
        sample.tenant,
        sample.product,
        revision=record.revision,
        trace_id=trace_id,
        template=TEMPLATE,
        passed=passed,
        patterns=[name for name, _ in sample.entities[:3]],
        tests_passed=12 * len(sample.entities),
        tests_failed=0 if passed else 2,
        duration_s=seconds,
        p95_ms=40.0,
        error_rate=0.0,
    )


def blueprint_of(sample: SampleProduct) -> Blueprint:
    """The blueprint a sample product stands for."""
    entities = [
        Entity(
            name=name,
            label=name.replace("_", " ").title(),
            attributes=[Attribute(name=a, type="email" if a == "email" else "string", required=True) for a in attrs],
        )
        for name, attrs in sample.entities
    ]
    relationships = [
        Relationship(source=a, target=b, cardinality="one-to-many", source_role=f"{b}s", target_role=a)
        for a, b in sample.relationships
    ]
    return Blueprint(
        name=sample.name,
        slug=sample.product,
        tenant=sample.tenant,
        description=sample.intent,
        entities=entities,
        relationships=relationships,
    )


def release_sample(home: Path, control: ControlPlane, bp: Blueprint, trace_id: str, revision: int) -> str:
    """Render `bp` with the real pack, release it into the product's git repository; returns the commit."""
    workspace = ProductWorkspace(home, bp.tenant, bp.slug)
    pack = load_pack("fastapi-service")
    result = render_pack(pack, bp, workspace.reset_render(), trace_id)
    listing = [f.path for f in result.files]
    workspace.blueprint_path.write_text(dump_blueprint(bp))
    workspace.save_output(
        "blueprint",
        {
            "blueprint": bp.model_dump(mode="json"),
            "hash": bp.hash,
            "notes": [],
            "checks": {"blueprint_conforms": [], "policy": []},
            "trace_id": trace_id,
        },
    )
    workspace.save_output(
        "artifacts",
        {
            "files": listing,
            "bytes": sum(f.size for f in result.files),
            "template": f"{pack.name}@{pack.version}",
            "trace_id": trace_id,
        },
    )
    repo = ProductRepository(home, bp.tenant, bp.slug)
    released = repo.release(
        workspace.clean_copy(listing),
        trace_id=trace_id,
        blueprint_hash=bp.hash,
        template=f"{pack.name}@{pack.version}",
        revision=revision,
    )
    control.upsert_product(bp.tenant, bp.slug, repo_path=str(repo.path))
    return released.commit
