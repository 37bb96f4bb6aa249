"""The stage table is the one place the lifecycle is spelled, and the core stays free of the shells."""

from __future__ import annotations

import ast
from pathlib import Path

from dagster import AssetKey

from assets.definitions import LIFECYCLE, defs
from graph.provenance import AGENTS, STAGES
from graph.trace import CHAIN
from infra.lifecycle import STAGES as BOUND
from ontology.lifecycle import BUILD, STAGE_NAMES
from ontology.lifecycle import LIFECYCLE as TABLE

ROOT = Path(__file__).resolve().parent.parent
CORE = ("ontology", "graph", "generators", "infra")
SHELLS = {"dagster", "streamlit", "typer"}


def test_the_table_the_trace_chain_and_the_asset_graph_list_the_same_stages() -> None:
    names = [s.name for s in TABLE]
    assert names == list(STAGE_NAMES) == [s.name for s in BOUND]
    # the trace chain: every stage that puts nodes on a trace, in table order (knowledge and the deep contract
    # run add none of their own)
    assert list(CHAIN.values()) == [s.name for s in TABLE if s.trace_class is not None] == names[:-2]
    # the Dagster asset graph: one asset per stage, in table order, reading the table's inputs; a build is the
    # `lifecycle` rows, ending at knowledge, and the deep contract run is a job of its own after it
    assert [a.key.to_user_string() for a in LIFECYCLE] == list(BUILD) == names[:-1] and BUILD[-1] == "knowledge"
    graph = defs.resolve_asset_graph()
    lifecycle = {k.to_user_string() for k in graph.get_all_asset_keys()} & set(names)
    assert lifecycle == set(names)
    for stage in TABLE:
        node = graph.get(AssetKey(stage.asset_key))
        assert {p.to_user_string() for p in node.parent_keys} == set(stage.inputs), stage.name
        assert all(names.index(i) < names.index(stage.name) for i in stage.inputs), stage.name
    for job in ("lifecycle", "deep_contract"):
        nodes = {n.name for n in defs.resolve_job_def(job).graph.node_defs}
        assert nodes == {s.name for s in TABLE if s.job == job}, job
    assert "contract" not in {n.name for n in defs.resolve_job_def("lifecycle").graph.node_defs}
    # the graph is published after the last stage of each job
    assert [s.name for s in TABLE if s.publishes] == ["knowledge", "contract"]


def test_provenance_reads_its_activities_and_agents_from_the_table() -> None:
    rows = [s for s in TABLE if s.activity]
    assert list(STAGES) == [s.activity for s in rows]
    assert [STAGES[s.activity] for s in rows if s.activity] == [(s.activity_class, s.agent_class) for s in rows]
    assert [AGENTS[s.activity] for s in rows if s.activity] == [s.agent for s in rows]


def test_the_generator_agents_describe_themselves_as_the_table_does() -> None:
    from generators.agents.analyst import Analyst
    from generators.agents.architect import Architect
    from generators.agents.engineer import Engineer
    from generators.agents.tester import Tester

    for agent, activity in (
        (Analyst, "analysis"),
        (Architect, "design"),
        (Engineer, "generation"),
        (Tester, "validation"),
    ):
        assert (agent.name, agent.version, agent.role) == (
            AGENTS[activity].name,
            AGENTS[activity].version,
            AGENTS[activity].role,
        )


def _imported(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_core_module_imports_dagster_streamlit_or_typer() -> None:
    offenders = {}
    modules = [p for package in CORE for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 40
    for path in modules:
        bad = _imported(ast.parse(path.read_text(), str(path))) & SHELLS
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_import_walk_sees_a_shell_import() -> None:
    assert _imported(ast.parse("import dagster as d\nfrom streamlit.x import y\nif x:\n    import typer\n")) == SHELLS
