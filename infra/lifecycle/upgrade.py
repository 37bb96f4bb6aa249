"""Upgrading a product that already exists to another version of its template pack.

`upgrade` renders the product's last released blueprint (same trace id, parameters and migrations)
with the new pack version and merges it three ways into a branch from main (`infra.gitops_upgrade`):
the pack migrations move renamed files first, the person's edits survive, conflicts stay as markers
on the branch `factory/upgrade/<pack>-<version>` for a person to settle. The merged tree must pass
the validation's blocking checks (tests, lint, tenant scoping, contract) before main moves; a failed
or conflicted upgrade leaves main and `factory/generated` as they were. Running the same upgrade again
once a person settled and committed the branch validates that branch and finishes it.

Every upgrade that changes something (upgraded, conflicts or failed; not a dry run) is audited and recorded
in the product's graph as a PROV activity (`fac:UpgradeActivity`: the person, both pack versions, the
outcome, the resulting commit and the conflicting files), kept through the product's later builds.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from generators.migrations import read_previous
from generators.packs import list_packs, load_pack, parse_version
from generators.rendering import ANSWERS_PATH
from graph.recorder import BuildRecorder
from infra.control import ControlPlane
from infra.gitops import GENERATED_BRANCH, GitOpsError, ProductRepository
from infra.gitops_upgrade import conflict_markers, finish_upgrade, merge_upgrade, upgrade_branch
from infra.lifecycle.context import StageContext, StageSettings
from infra.lifecycle.generation import blocking_checks
from infra.pack_trust import check_pack_trust
from ontology.errors import FactoryError, InvalidInputError, NotFoundError
from ontology.models import Blueprint
from ontology.refs import ProductRef, check_slug, new_trace_id

__all__ = [
    "UpgradeReport",
    "migration_renames",
    "parse_target",
    "product_template",
    "released_on",
    "upgrade",
    "upgrade_tenant",
]

Status = Literal["upgraded", "conflicts", "failed", "dry-run", "current", "skipped"]


class UpgradeReport(BaseModel):
    """What an upgrade of one product did, for people (`message`) and programs (the rest)."""

    product: str
    from_template: str
    to_template: str
    status: Status
    message: str
    branch: str = ""
    """The upgrade branch a person settles (conflicts) or looks at (failed checks); "" once merged."""
    commit: str = ""
    """Main's new head after an upgrade, or the branch's head otherwise."""
    moved: dict[str, str] = Field(default_factory=dict)
    conflicts: list[str] = Field(default_factory=list)
    checks: dict[str, list[str]] = Field(default_factory=dict)
    diff: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("upgraded", "dry-run", "current", "skipped")


def parse_target(target: str) -> tuple[str, str]:
    """`pack@version` as (pack, version); anything else is refused with the form to use."""
    name, sep, version = str(target).partition("@")
    if not sep or not name:
        raise InvalidInputError(
            f"{str(target)[:60]!r} names no pack version: use pack@version, e.g. fastapi-service@1.1.0"
        )
    parse_version(version)
    return name, version


def migration_renames(pack: str, current: str, target: str, root: Path | None = None) -> dict[str, str]:
    """The pack migrations' renames of every version after `current` up to `target`, composed in order
    (original path -> final path)."""
    low, high = parse_version(current), parse_version(target)
    steps = [p for p in (list_packs(root) if root else list_packs()) if p.name == pack]
    composed: dict[str, str] = {}
    for step in sorted(steps, key=lambda p: parse_version(p.version)):
        if not low < parse_version(step.version) <= high:
            continue
        for old, new in step.renames.items():
            origins = [k for k, v in composed.items() if v == old]
            for origin in origins:
                composed[origin] = new
            if not origins:
                composed[old] = new
    return {old: new for old, new in composed.items() if old != new}


def _repository(home: Path, ref: ProductRef) -> ProductRepository:
    if not (Path(home).resolve() / "repos" / ref.tenant / ref.product / ".git").is_dir():
        raise NotFoundError(f"{ref} has no repository: build it first with `factory build`")
    return ProductRepository(home, ref.tenant, ref.product)


def _answers(repo: ProductRepository, commit: str, scratch: Path) -> tuple[dict[str, Any], Path]:
    tree = repo.export(commit, scratch / "tree")
    try:
        answers = json.loads((tree / ANSWERS_PATH).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        answers = None
    template = answers.get("template") if isinstance(answers, dict) else None
    if not isinstance(template, dict) or not all(isinstance(template.get(k), str) for k in ("name", "version")):
        raise NotFoundError(f"{repo.name} has no generated release to upgrade: build it first")
    assert isinstance(answers, dict)
    return answers, tree


def product_template(home: Path, ref: ProductRef) -> str:
    """The pack version (`pack@version`) the product's last release was generated with."""
    repo = _repository(home, ref)
    template = repo.trailers(GENERATED_BRANCH).get("Template", "") if repo.head(GENERATED_BRANCH) else ""
    if "@" not in template:
        raise NotFoundError(f"{ref} has no generated release to upgrade: build it first")
    return template


def _validate(ctx: StageContext, commit: str, repo: ProductRepository) -> dict[str, list[str]]:
    """The blocking checks' findings on the tree of `commit` (exported to the product's workspace)."""
    root = ctx.workspace.root / "upgrade"
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    repo.export(commit, root)
    try:
        answers = json.loads((root / ANSWERS_PATH).read_text(encoding="utf-8"))
        blueprint = Blueprint.model_validate(answers["blueprint"])
        checked = blocking_checks(ctx, blueprint, root, answers["trace_id"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {"tests_pass": [f"the merged tree's {ANSWERS_PATH} is unreadable ({type(error).__name__})"]}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {name: found for name, found in checked.checks.items() if found}


def _settle(ctx: StageContext, repo: ProductRepository, report: UpgradeReport, branch: str, head: str) -> UpgradeReport:
    """Validate the branch's head and, when every blocking check holds, merge it into main."""
    failed = _validate(ctx, head, repo)
    if failed:
        names = ", ".join(sorted(failed))
        message = f"the merged upgrade fails {names}: main is unchanged; fix it on {branch} and upgrade again"
        return report.model_copy(update={"status": "failed", "message": message, "checks": failed, "branch": branch})
    commit = finish_upgrade(repo, branch)
    message = f"upgraded {report.product} to {report.to_template}: main is at {commit[:12]}"
    return report.model_copy(update={"status": "upgraded", "message": message, "commit": commit, "branch": ""})


def upgrade(
    control: ControlPlane,
    home: Path,
    ref: ProductRef,
    target: str,
    *,
    actor: str,
    dry_run: bool = False,
    settings: StageSettings | None = None,
) -> UpgradeReport:
    """Upgrade `ref` to `target` (`pack@version`): render, merge three ways, check, then move main (audited).

    A dry run reports the diff main would take and the conflicts, and changes nothing."""
    name, version = parse_target(target)
    repo = _repository(home, ref)
    ctx = StageContext(home, ref.tenant, ref.product, control_plane=control, settings=settings or StageSettings())
    with tempfile.TemporaryDirectory(prefix="factory-upgrade-") as scratch:
        base = repo.head(GENERATED_BRANCH)
        assert base is not None
        answers, tree = _answers(repo, base, Path(scratch))
        current = f"{answers['template']['name']}@{answers['template']['version']}"
        if answers["template"]["name"] != name:
            raise InvalidInputError(f"{ref} is generated with {current}: upgrade it to a version of that pack")
        report = UpgradeReport(product=str(ref), from_template=current, to_template=target, status="current",
                               message=f"{ref} is already on {target}")  # fmt: skip
        if parse_version(version) < parse_version(answers["template"]["version"]):
            raise InvalidInputError(f"{ref} is on {current}, newer than {target}: packs upgrade, never downgrade")
        if version == answers["template"]["version"]:
            return report
        pack = load_pack(name, version)
        check_pack_trust(home, ref.tenant, pack)  # the tenant's policy trusts the version it moves to
        branch = upgrade_branch(name, version)
        pending = repo.head(branch)
        if pending is not None and not dry_run:
            return _resume(ctx, repo, report, branch, pending, actor, answers["trace_id"])
        blueprint = Blueprint.model_validate(answers["blueprint"])
        known = {p.name for p in pack.parameters}
        parameters = {k: v for k, v in (answers.get("parameters") or {}).items() if k in known}
        render = ctx.engineer().render(
            blueprint, Path(scratch) / "render", answers["trace_id"], (name, version), parameters,
            previous=read_previous(tree, ANSWERS_PATH),
        )  # fmt: skip
        merged = merge_upgrade(
            repo, render.out_dir, template=target, previous=current, dry_run=dry_run,
            renames=migration_renames(name, answers["template"]["version"], version),
            trailers={"Factory-Trace-Id": answers["trace_id"], "Blueprint-Hash": blueprint.hash, "Template": target},
        )  # fmt: skip
    report = report.model_copy(
        update={"moved": merged.moved, "conflicts": merged.conflicts, "branch": merged.branch, "commit": merged.head}
    )
    if dry_run:
        conflicts = f", conflicts in {', '.join(merged.conflicts)}" if merged.conflicts else ", no conflicts"
        message = f"dry run: {ref} from {current} to {target}{conflicts}; nothing was changed"
        return report.model_copy(update={"status": "dry-run", "message": message, "diff": merged.diff})
    if merged.conflicts:
        result = report.model_copy(
            update={
                "status": "conflicts",
                "message": f"{ref}: the upgrade to {target} conflicts with edits on main in "
                f"{', '.join(merged.conflicts)}; main is unchanged: settle the markers on {merged.branch}, commit, "
                f"and run the upgrade again",
            }
        )
    else:
        result = _settle(ctx, repo, report, merged.branch, merged.head)
    return _audited(ctx, result, actor, answers["trace_id"])


def _resume(
    ctx: StageContext, repo: ProductRepository, report: UpgradeReport, branch: str, head: str, actor: str, trace_id: str
) -> UpgradeReport:
    """Finish an upgrade whose branch a person settled: refused while markers remain, else checked and merged."""
    report = report.model_copy(update={"branch": branch, "commit": head})
    markers = conflict_markers(repo, head)
    if markers:
        message = f"{branch} still has conflict markers in {', '.join(markers)}: settle them, commit, upgrade again"
        result = report.model_copy(update={"status": "conflicts", "conflicts": markers, "message": message})
    else:
        result = _settle(ctx, repo, report, branch, head)
    return _audited(ctx, result, actor, trace_id)


def _audited(ctx: StageContext, report: UpgradeReport, actor: str, trace_id: str) -> UpgradeReport:
    """Write the upgrade to the audit chain (with the `product.upgraded` event once main moved) and record it
    in the product's graph."""
    ref = ctx.ref
    outcome = {"upgraded": "ok", "conflicts": "refused"}.get(report.status, "failed")
    detail = f"{report.from_template} -> {report.to_template}, {report.status}: {report.message}"[:500]
    event = None
    if report.status == "upgraded":
        data = {"from": report.from_template, "to": report.to_template, "commit": report.commit, "actor": actor}
        event = ("product.upgraded", data)
    ctx.control.audit(
        "product.upgrade", outcome, tenant=ref.tenant, product=ref.product, actor=actor, detail=detail, event=event
    )
    return _recorded(ctx, report, actor, trace_id)


def _recorded(ctx: StageContext, report: UpgradeReport, actor: str, trace_id: str) -> UpgradeReport:
    """Keep the upgrade's PROV facts with the product's governance facts (every later build keeps them) and
    publish the product's graph. Should the graph refuse the write, the upgrade stands (main moved already)
    and its facts reach the graph with the product's next build or recorded decision."""
    facts = ctx.workspace.facts(trace_id)
    key = f"upgrade-{new_trace_id()}"
    previous, target = parse_target(report.from_template), parse_target(report.to_template)
    outcome = (report.status, report.commit, report.branch, report.conflicts)
    BuildRecorder(facts).upgrade(key, previous, target, outcome, actor, dt.datetime.now(dt.UTC))
    ctx.workspace.save_governance_facts(key, facts)
    try:
        ctx.workspace.publish(ctx.graph(), trace_id)
    except (FactoryError, OSError) as error:
        why = (str(error).splitlines() or [type(error).__name__])[0][:120]
        note = f" (the knowledge graph could not record it now: {why})"
        return report.model_copy(update={"message": report.message + note})
    return report


def released_on(control: ControlPlane, home: Path, tenant: str) -> dict[str, list[ProductRef]]:
    """`tenant`'s released products by the pack version (`pack@version`) their last release was generated
    with, read from their repositories: what an upgrade starts from. The knowledge graph's `fac:usesTemplatePack`
    says which version a product's latest *build* used, so it learns of an upgrade at the product's next build;
    the upgrade itself is in the graph at once (`graph.catalog.pack_upgrades`)."""
    found: dict[str, list[ProductRef]] = {}
    for record in control.products(check_slug(tenant, "tenant")):
        ref = ProductRef(record.tenant, record.product)
        try:
            found.setdefault(product_template(home, ref), []).append(ref)
        except FactoryError:  # not released yet: nothing to upgrade
            continue
    return found


def upgrade_tenant(
    control: ControlPlane,
    home: Path,
    tenant: str,
    source: str,
    target: str,
    *,
    actor: str,
    dry_run: bool = False,
    settings: StageSettings | None = None,
) -> list[UpgradeReport]:
    """Upgrade every product of `tenant` generated with `source` (`pack@version`) to `target`, one report per
    product; one product's failure is its report's, and the others still go on."""
    check_slug(tenant, "tenant")
    parse_target(source)
    if parse_target(source)[0] != parse_target(target)[0]:
        raise InvalidInputError(f"{source} and {target} are versions of different packs")
    reports = []
    for ref in released_on(control, home, tenant).get(source, []):
        try:
            reports.append(upgrade(control, home, ref, target, actor=actor, dry_run=dry_run, settings=settings))
        except (FactoryError, GitOpsError) as error:
            reports.append(
                UpgradeReport(product=str(ref), from_template=source, to_template=target, status="failed",
                              message=str(error).splitlines()[0] if str(error) else type(error).__name__)
            )  # fmt: skip
    return reports
