"""The lifecycle's stage table: the one place the build lifecycle is spelled.

Each row names a stage (also its Dagster asset key), the PROV activity it records with its
class, the agent that does it, the class its nodes carry on a build's trace, the stages it reads
whether the product's graph is published after it and the Dagster job that runs it. The table is data in the vocabulary
layer so that every layer can read it: the provenance writer and the trace queries (`graph`),
the stage functions (`infra.lifecycle`), the Dagster assets generated from it (`assets`), the
Studio and the command line. The agents' identities (name, version, role) are stated here once;
the agent classes in `generators.agents` take theirs from these, so a demo fact and a real build
describe an agent the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

from ontology.namespaces import FAC, ID

__all__ = [
    "ACTIVITIES",
    "AGENTS",
    "ANALYST",
    "ARCHITECT",
    "BUILD",
    "DEEP_CONTRACT",
    "DEPLOYER",
    "ENGINEER",
    "LIFECYCLE",
    "OBSERVER",
    "RELEASE_MANAGER",
    "STAGE_NAMES",
    "TESTER",
    "AgentRef",
    "Stage",
    "stage",
]


@dataclass(frozen=True)
class AgentRef:
    """Who did a stage: an agent's name, version and role (its IRI is minted from name and version)."""

    name: str
    version: str
    role: str

    @property
    def iri(self) -> str:
        return str(ID[f"agent/{self.name}/{self.version}"])


ANALYST = AgentRef("analyst", "1.0.0", "turns an intent into requirements")
ARCHITECT = AgentRef("architect", "1.0.0", "turns requirements into a blueprint")
ENGINEER = AgentRef("engineer", "1.0.0", "renders a blueprint into a service with a template pack")
TESTER = AgentRef(
    "tester", "1.0.0", "runs a product's own tests and linter, fuzzes its contract and reports the outcome"
)
RELEASE_MANAGER = AgentRef("release-manager", "1.0.0", "commits and tags the product")
DEPLOYER = AgentRef("deployer", "1.0.0", "starts the release and checks its health")
OBSERVER = AgentRef("observer", "1.0.0", "collects telemetry and checks objectives")


@dataclass(frozen=True)
class Stage:
    """One row of the stage table."""

    name: str
    """The stage, also its asset key and the name its output and facts are stored under."""
    inputs: tuple[str, ...]
    """The stages whose results it reads (its upstream assets)."""
    trace_class: URIRef | None
    """The class of the nodes it adds to a build's trace (None: it adds none of its own)."""
    activity: str | None = None
    """The PROV activity it records (the value of fac:stage), if any."""
    activity_class: URIRef | None = None
    agent: AgentRef | None = None
    agent_class: URIRef | None = None
    publishes: bool = False
    """Whether the product's graph is rewritten with every stage's facts so far after it: the last stage of
    its job (knowledge ends a build; the deep contract run, a job of its own after it, adds its facts itself).
    A stage that fails, and a stage whose blocking check fails, publish too, so a build that stops leaves
    its chain in the graph; a build that runs through writes the graph once."""
    job: str = "lifecycle"
    """The Dagster job that runs it: `lifecycle` (a build) or `deep_contract` (after a build succeeds, in the
    background, or now with `factory contract`)."""
    derived_from: tuple[str, ...] | None = None
    """The inputs its output is derived from, as its lineage events name them (None: all its inputs); a
    stage may read an earlier result for a detail (the trace id, the revision) without deriving from it."""

    @property
    def asset_key(self) -> str:
        return self.name

    @property
    def lineage_inputs(self) -> tuple[str, ...]:
        return self.inputs if self.derived_from is None else self.derived_from


LIFECYCLE: tuple[Stage, ...] = (
    Stage("intent", (), FAC.Intent),
    Stage("requirements", ("intent",), FAC.Requirement, "analysis", FAC.AnalysisActivity, ANALYST, FAC.AnalystAgent),
    Stage(
        "blueprint",
        ("intent", "requirements"),
        FAC.Blueprint,
        "design",
        FAC.DesignActivity,
        ARCHITECT,
        FAC.ArchitectAgent,
    ),
    Stage("artifacts", ("blueprint",), FAC.Artifact, "generation", FAC.GenerationActivity, ENGINEER, FAC.EngineerAgent),
    Stage(
        "validation",
        ("blueprint", "artifacts"),
        FAC.ValidationReport,
        "validation",
        FAC.ValidationActivity,
        TESTER,
        FAC.TesterAgent,
    ),
    Stage(
        "release",
        ("intent", "blueprint", "artifacts", "validation"),
        FAC.Release,
        "release",
        FAC.ReleaseActivity,
        RELEASE_MANAGER,
        FAC.ReleaseAgent,
        derived_from=("artifacts", "validation"),
    ),
    Stage(
        "deployment",
        ("intent", "release"),
        FAC.Deployment,
        "deployment",
        FAC.DeploymentActivity,
        DEPLOYER,
        FAC.DeployerAgent,
        derived_from=("release",),
    ),
    Stage(
        "telemetry",
        ("blueprint", "deployment"),
        FAC.TelemetrySignal,
        "observation",
        FAC.ObservationActivity,
        OBSERVER,
        FAC.ObserverAgent,
        derived_from=("deployment",),
    ),
    Stage(
        "knowledge",
        ("intent", "blueprint", "artifacts", "validation", "release", "deployment", "telemetry"),
        None,
        publishes=True,
        derived_from=("telemetry",),
    ),
    Stage(
        "contract",
        ("intent", "deployment"),
        None,  # its run is not a step of the trace: a contract run is also part of the validation report
        "contract",
        FAC.ContractActivity,
        TESTER,
        FAC.TesterAgent,
        publishes=True,
        derived_from=("deployment",),
        job="deep_contract",
    ),
)
"""The lifecycle in the order it runs: a build (the `lifecycle` job, intent to knowledge), then the deep
contract run of the deployed commit (the `deep_contract` job), off the build's critical path."""

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in LIFECYCLE)

BUILD: tuple[str, ...] = tuple(s.name for s in LIFECYCLE if s.job == "lifecycle")
"""The stages a build runs (the `lifecycle` job), in order."""

DEEP_CONTRACT = "deep_contract"
"""The job of the deep contract run, after a build."""

ACTIVITIES: dict[str, Stage] = {s.activity: s for s in LIFECYCLE if s.activity}
"""The stages that record a PROV activity, by activity name, in lifecycle order."""

AGENTS: dict[str, AgentRef] = {s.activity: s.agent for s in LIFECYCLE if s.activity and s.agent}
"""The agent of each activity."""


def stage(name: str) -> Stage:
    """The row of stage `name` (KeyError for a name the lifecycle does not have)."""
    return _BY_NAME[name]


_BY_NAME = {s.name: s for s in LIFECYCLE}
