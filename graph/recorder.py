"""The build recorder: the one way a lifecycle stage's facts and provenance are written.

Each method records what one stage made (the nodes of the build's trace) and the PROV activity
that made them, associated with the stage's agent from the stage table and informed by the
activity before it. The stage functions of a real build and the sample builds of the demo,
the tests and the benchmarks both write through it, so both describe a build the same way.
References to earlier stages are the build's deterministic IRIs, so each stage can be recorded
on its own (into its own facts) and the union is the whole build.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from graph.facts import ContractFinding, ProductFacts
from graph.provenance import record_activity
from ontology.lifecycle import ACTIVITIES
from ontology.models import Blueprint, Intent, Requirement
from ontology.namespaces import FAC, PROV
from ontology.packs import PackSeal

__all__ = ["BuildRecorder", "ChangeFacts", "ContractFigures", "ContractFinding", "Signal"]

Signal = tuple[str, str, float, str]
"""A telemetry figure: (metric, route, value, key); `key` names it uniquely within the build."""

ContractFigures = tuple[int, bool, Sequence[ContractFinding]]
"""A contract run's figures: (cases sent, whether the contract held, its failures)."""

_ORDER = list(ACTIVITIES)


class ChangeFacts(NamedTuple):
    """What one finding changed in a design: the finding's IRI and id, the rule that fired, on what, in a sentence."""

    finding: str
    key: str
    rule: str
    subject: str
    summary: str


class BuildRecorder:
    """Records stages of one product build into `facts`."""

    def __init__(self, facts: ProductFacts) -> None:
        self.facts = facts

    def _activity(
        self,
        name: str,
        started: dt.datetime,
        ended: dt.datetime | None,
        used: Iterable[str],
        generated: Iterable[str],
    ) -> str:
        stage = ACTIVITIES[name]
        assert stage.agent is not None  # every activity of the table names its agent
        i = _ORDER.index(name)
        informed_by = self.facts.iri("activity", _ORDER[i - 1]) if i else None
        return record_activity(self.facts, name, stage.agent, started, ended, used, generated, informed_by)

    def intent(self, name: str, text: str, revision: int) -> str:
        """The product at this revision and the intent a person submitted (no activity: a person did it)."""
        f = self.facts
        product = f.product_node(name, text, revision)
        intent = f.intent(Intent(text=text, tenant=f.tenant, product=f.product))
        f.link(product, FAC.hasIntent, intent)
        return intent

    def requirements(
        self, requirements: Sequence[Requirement], started: dt.datetime, ended: dt.datetime | None
    ) -> list[str]:
        """What the analyst read from the intent: one node per requirement statement."""
        f = self.facts
        intent = f.iri("intent")
        found = [f.requirement(intent, i, req) for i, req in enumerate(requirements)]
        self._activity("analysis", started, ended, used=[intent], generated=found)
        return found

    def blueprint(
        self,
        blueprint: Blueprint,
        started: dt.datetime,
        ended: dt.datetime | None,
        used: Iterable[str] = (),
        changes: Iterable[ChangeFacts] = (),
    ) -> str:
        """The architect's blueprint; `used` names what else it was designed from (patterns, past products,
        findings), `changes` what findings changed in it: one design change each, decided from its finding."""
        f = self.facts
        bp = f.blueprint(blueprint)
        f.link(f.iri("product"), FAC.hasBlueprint, bp)
        made = [bp]
        for c in changes:
            node = f.node(
                FAC.DesignChange,
                f.iri("change", c.key),
                c.summary[:120],
                {FAC.changeRule: c.rule, FAC.changeSubject: c.subject, FAC.changeSummary: c.summary},
            )
            f.link(node, FAC.decidedFrom, c.finding)
            made.append(node)
        self._activity("design", started, ended, used=[f.iri("intent"), *used], generated=made)
        return bp

    def artifacts(
        self,
        files: Iterable[tuple[str, str, int]],
        pack: str,
        version: str,
        started: dt.datetime,
        ended: dt.datetime | None,
        seal: PackSeal | None = None,
        changed_by: Mapping[str, Sequence[str]] | None = None,
    ) -> list[str]:
        """The rendered files as (path, sha256, size), rendered from the blueprint with template `pack`@`version`
        (whose digest and publisher `seal` gives); the product uses that pack version from now on. `changed_by`
        names, per path, the keys of the design changes that made the file differ (see `blueprint`)."""
        f = self.facts
        pack_iri = f.template_pack(pack, version, seal)
        f.link(f.iri("product"), FAC.usesTemplatePack, pack_iri)
        files = sorted(files)
        made = f.artifacts(files, f.iri("blueprint"), pack_iri)
        for (path, _, _), artifact in zip(files, made, strict=True):
            f.links(artifact, FAC.changedBy, [f.iri("change", key) for key in (changed_by or {}).get(path, ())])
        self._activity("generation", started, ended, used=[f.iri("blueprint"), pack_iri], generated=made)
        return made

    def validation(
        self,
        passed: bool,
        tests_passed: int,
        tests_failed: int,
        lint_findings: int,
        artifacts: int,
        started: dt.datetime,
        ended: dt.datetime | None,
        contract: ContractFigures | None = None,
    ) -> str:
        """The validation report over the build's `artifacts` files, with its shallow `contract` run if one ran."""
        f = self.facts
        report = f.validation(f.iri("blueprint"), passed, tests_passed, tests_failed, lint_findings)
        made = [report]
        if contract is not None:
            run = f.contract_run("shallow", *contract)
            f.link(report, FAC.hasContractRun, run)
            made.append(run)
        used = [f.iri("artifact", str(i)) for i in range(artifacts)]
        self._activity("validation", started, ended, used=used, generated=made)
        return report

    def release(
        self, revision: int, commit: str, tag: str | None, started: dt.datetime, ended: dt.datetime | None
    ) -> str:
        """The release of `revision`: its commit and tag."""
        f = self.facts
        release = f.release(f.iri("product"), f.iri("validation"), revision, commit, tag)
        self._activity("release", started, ended, used=[f.iri("validation")], generated=[release])
        return release

    def deployment(
        self, revision: int, env: str, url: str, status: str, started: dt.datetime, ended: dt.datetime | None
    ) -> str:
        """The release of `revision` running in environment `env` at `url`."""
        f = self.facts
        release = f.iri("release", str(revision))
        deployment = f.deployment(release, env, url, status)
        self._activity("deployment", started, ended, used=[release], generated=[deployment])
        return deployment

    def promotion(
        self,
        revision: int,
        commit: str,
        tag: str | None,
        env: str,
        url: str,
        status: str,
        started: dt.datetime,
        ended: dt.datetime | None,
        after: str | None = None,
        *,
        requested_by: str | None = None,
        approvals: Sequence[str] = (),
        policy: tuple[str, str] | None = None,
    ) -> str:
        """Release `revision` (`commit`, `tag`) running in `env` after a promotion (from environment `after`)
        or a rollback: its own deployment activity, so the trace runs on from the dev deployment to prod.

        The person who asked for it is `requested_by`; the activity used the `approvals` (keys of
        approvals recorded with `approval`) that let it through and the `policy` (tenant, text) in force."""
        f = self.facts
        release = f.release(f.iri("product"), None, revision, commit, tag)  # it may be an older build's release
        deployment = f.deployment(release, env, url, status)
        informed_by = None if after is None else f.iri("activity", "deployment", *([after] if after != "dev" else []))
        stage = ACTIVITIES["deployment"]
        assert stage.agent is not None
        used = [release, *(f.iri("approval", key) for key in approvals)]
        if policy is not None:
            used.append(f.policy(*policy))
        activity = record_activity(
            f, "deployment", stage.agent, started, ended, used, [deployment], informed_by=informed_by, key=env
        )
        if requested_by is not None:
            f.link(activity, FAC.requestedBy, f.person(requested_by))
        return deployment

    def approval(
        self,
        key: str,
        revision: int,
        commit: str,
        tag: str | None,
        env: str,
        decision: str,
        reason: str,
        person: str,
        policy: tuple[str, str],
        at: dt.datetime,
    ) -> str:
        """A person's decision on promoting release `revision` (`commit`, `tag`) to `env`: an approval activity
        associated with `person` that used the release and the `policy` (tenant, text) in force, and generated
        the approval (attributed to the person). `key` names the decision (its id in the control database)."""
        f = self.facts
        release = f.release(f.iri("product"), None, revision, commit, tag)
        approval = f.approval(key, release, env, decision, reason)
        who = f.person(person)
        activity = f.node(
            FAC.ApprovalActivity,
            f.iri("activity", "approval", key),
            f"{person} {decision} {env} at {commit[:7]}",
            {PROV.startedAtTime: at, PROV.endedAtTime: at},
        )
        f.link(activity, PROV.wasAssociatedWith, who)
        f.links(activity, PROV.used, [release, f.policy(*policy)])
        f.link(approval, PROV.wasGeneratedBy, activity)
        f.link(approval, PROV.wasAttributedTo, who)
        return approval

    def upgrade(
        self,
        key: str,
        previous: tuple[str, str],
        target: tuple[str, str],
        outcome: tuple[str, str, str, Sequence[str]],
        person: str,
        at: dt.datetime,
    ) -> str:
        """A person's upgrade of the product from pack version `previous` to `target` (each (pack, version)): an
        upgrade activity associated with `person` that used both versions, with its `outcome` (status: upgraded,
        conflicts or failed; the resulting commit; the branch left to settle; the conflicting files). `key`
        names it."""
        f = self.facts
        status, commit, branch, conflicts = outcome
        old, new = f.template_pack(*previous), f.template_pack(*target)
        activity = f.node(
            FAC.UpgradeActivity,
            f.iri("activity", "upgrade", key),
            f"{person} upgraded {f.tenant}/{f.product} from {'@'.join(previous)} to {'@'.join(target)}: {status}",
            {FAC.upgradeStatus: status, FAC.resultCommit: commit or None, FAC.upgradeBranch: branch or None,
             PROV.startedAtTime: at, PROV.endedAtTime: at},
        )  # fmt: skip
        f.values(activity, FAC.conflictPath, sorted(conflicts))
        f.link(activity, PROV.wasAssociatedWith, f.person(person))
        f.link(activity, FAC.upgradeOf, f.iri("product"))
        f.link(activity, FAC.upgradedFrom, old)
        f.link(activity, FAC.upgradedTo, new)
        f.links(activity, PROV.used, [old, new])
        return activity

    def telemetry(
        self, env: str, signals: Iterable[Signal], started: dt.datetime, ended: dt.datetime | None
    ) -> list[str]:
        """The figures observed on the deployment in `env`."""
        f = self.facts
        deployment = f.iri("deployment", env)
        made = [f.signal(deployment, metric, route, value, key) for metric, route, value, key in signals]
        self._activity("observation", started, ended, used=[deployment], generated=made)
        return made

    def contract(
        self, revision: int, contract: ContractFigures, started: dt.datetime, ended: dt.datetime | None
    ) -> str:
        """The deep contract run of the deployed release of `revision`, with its failures."""
        f = self.facts
        release = f.iri("release", str(revision))
        run = f.contract_run("deep", *contract)
        f.link(run, FAC.fuzzedRelease, release)
        self._activity("contract", started, ended, used=[release], generated=[run])
        return run
