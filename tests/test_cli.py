"""The `factory` command line, run as a real subprocess against a real knowledge graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from graph import KnowledgeGraph
from studio.cli import app

FACTORY = [sys.executable, "-m", "studio"]


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACTORY_HOME": str(home)}
    env.pop("FACTORY_DEBUG", None)
    done = subprocess.run([*FACTORY, *args], capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr  # bad input is the user's to fix, and the message says how
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A factory home where the demo (the README's main job) has run."""
    home = tmp_path_factory.mktemp("cli") / "factory-home"
    done = run(home, "demo")
    assert "trace" in done.stdout
    return home


def command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and command group under `group`, as the words that name it."""
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if getattr(command, "commands", None):  # a group
            found += command_paths(command, (*prefix, name))
    return found


def test_every_command_has_help() -> None:
    done = subprocess.run([*FACTORY, "--help"], capture_output=True, text=True, timeout=60)  # the real entry point
    assert done.returncode == 0 and "Usage" in done.stdout, done.stderr
    paths = command_paths(typer.main.get_command(app))
    assert {("build",), ("up",), ("deployments", "stop"), ("kg", "import"), ("query", "sparql")} <= set(paths)
    for path in paths:  # every command and group, the lifecycle's included (in-process: a second each saved)
        result = CliRunner().invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output and len(result.output.strip().splitlines()) > 3, path


def test_demo_writes_only_inside_factory_home(home: Path) -> None:
    assert (home / "graph" / "rdf").is_dir()
    assert sorted(p.name for p in home.parent.iterdir()) == ["factory-home"]


def test_sparql_json_lists_products_of_the_tenant_only(home: Path) -> None:
    query = (
        "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?slug WHERE { ?p fac:slug ?slug } ORDER BY ?slug"
    )
    rows = json.loads(run(home, "query", "sparql", query, "--tenant", "acme", "--json").stdout)
    assert [r["slug"] for r in rows] == ["helpdesk", "invoicing"]
    rows = json.loads(run(home, "query", "sparql", query, "--admin", "--json").stdout)
    assert [r["slug"] for r in rows] == ["clinic", "helpdesk", "invoicing"]


def test_sparql_parameters_are_bound(home: Path) -> None:
    query = "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?p ?slug WHERE { ?p fac:slug ?slug }"
    rows = json.loads(run(home, "query", "sparql", query, "-t", "acme", "-p", "slug=invoicing", "--json").stdout)
    assert len(rows) == 1 and rows[0]["slug"] == "invoicing"
    hostile = 'invoicing" } ; DROP ALL ; #'
    rows = json.loads(run(home, "query", "sparql", query, "-t", "acme", "-p", f"slug={hostile}", "--json").stdout)
    assert rows == []


def test_cypher_json(home: Path) -> None:
    query = (
        "MATCH (p:Product)-[:hasBlueprint]->(:Blueprint)-[:hasEntity]->(e:Entity) RETURN p.slug AS slug, count(e) AS n"
    )
    rows = json.loads(run(home, "query", "cypher", query, "--tenant", "globex", "--json").stdout)
    assert rows == [{"slug": "clinic", "n": 4}]


COUNT = "RETURN count(*)"
CROSS = "?a ?b ?c . ?d ?e ?f . ?g ?h ?i"  # every triple with every triple with every triple: billions of rows


def test_a_query_with_too_many_rows_returns_the_first_and_says_so(home: Path) -> None:
    for language, query in (("sparql", f"SELECT * WHERE {{ {CROSS} }}"), ("cypher", "MATCH (a), (b) RETURN a.key")):
        done = run(home, "query", language, query, "--tenant", "acme", "--limit", "7", "--json")
        assert len(json.loads(done.stdout)) == 7
        assert "only the first 7 were read" in done.stderr and "--limit" in done.stderr
    table = run(home, "query", "cypher", "MATCH (p:Product) RETURN p.slug", "--tenant", "acme", "--limit", "1")
    assert "only the first 1 were read" in table.stdout  # acme has two products
    whole = run(home, "query", "cypher", "MATCH (p:Product) RETURN p.slug", "--tenant", "acme", "--limit", "2")
    assert "2 row(s)" in whole.stdout and "more" not in whole.stdout + whole.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["query", "sparql", "INSERT DATA { <a> <b> <c> }", "-t", "acme"], ["INSERT", "refused"]),
        (
            ["query", "sparql", "SELECT * WHERE { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }", "-t", "acme"],
            ["SERVICE"],
        ),
        (["query", "sparql", "SELEKT ?x", "-t", "acme"], ["syntax"]),
        (["query", "sparql", "SELECT * WHERE { ?s ?p ?o }"], ["--tenant"]),
        (["query", "cypher", "MATCH (n) DETACH DELETE n", "-t", "acme"], ["refused"]),
        (["query", "cypher", "LOAD FROM '/etc/passwd' RETURN *", "-t", "acme"], ["LOAD", "refused"]),
        (["query", "cypher", "MATCH (n:NoSuchTable) RETURN n", "-t", "acme"], ["Cypher"]),
        (["query", "cypher", "MATCH (n) RETURN n", "-t", "../../etc"], ["invalid tenant"]),
        (["query", "cypher", "MATCH (n) RETURN n", "-t", "nobody"], ["no products"]),
        (["trace", "not-a-trace"], ["trace id"]),
        (["contract", "acme/never-built"], ["no dev deployment", "build it first"]),
        (["trace", "0" * 32], ["no facts"]),
        (["search", "   ", "-t", "acme"], ["empty"]),
        (["kg", "import", "/no/such/file.nq"], ["no such file"]),
        (["query", "sparql"], ["Missing argument", "--help"]),  # usage errors are one line too
        (["no-such-command"], ["No such command"]),
        (["search", "billing", "-t", "acme", "-k", "many"], ["Invalid value", "-k"]),
        (["query", "cypher", "MATCH (p:Product) RETURN p", "-t", "acme", "--limit", "0"], ["Invalid value", "--limit"]),
        # runaway queries: Kùzu stops one at its timeout; Oxigraph cannot stop an aggregate, so the command ends it
        (
            ["query", "cypher", f"MATCH (a), (b), (c), (d) WHERE a.key + b.key + c.key + d.key = 'x' {COUNT}"],
            ["longer than 1 s", "stopped"],
        ),
        (["query", "sparql", f"SELECT (COUNT(*) AS ?n) WHERE {{ {CROSS} }}"], ["longer than 1 s", "--timeout"]),
    ],
)
def test_bad_input_is_one_line_and_non_zero(home: Path, args: list[str], words: list[str]) -> None:
    before = KnowledgeGraph(home, embedder=None).stats()
    if "longer than 1 s" in words:
        args = [*args, "--tenant", "acme", "--timeout", "1"]
    assert_one_line_error(run(home, *args, check=False), *words)
    assert KnowledgeGraph(home, embedder=None).stats() == before


def test_trace_json_walks_the_chain_in_order(home: Path) -> None:
    query = "PREFIX fac: <https://softwarefactory.dev/ontology#> SELECT ?t WHERE { ?p a fac:Product ; fac:traceId ?t }"
    trace_id = json.loads(run(home, "query", "sparql", query, "-t", "globex", "--json").stdout)[0]["t"]
    steps = json.loads(run(home, "trace", trace_id, "--json").stdout)
    stages = list(dict.fromkeys(s["stage"] for s in steps))
    assert stages == [
        "intent",
        "requirements",
        "blueprint",
        "artifacts",
        "validation",
        "release",
        "deployment",
        "telemetry",
    ]
    assert {s["product"] for s in steps} == {"clinic"}
    kuzu = json.loads(run(home, "trace", trace_id, "--tenant", "globex", "--engine", "kuzu", "--json").stdout)
    assert [s["node"] for s in kuzu] == [s["node"] for s in steps]


def test_search_finds_billing_product_first(home: Path) -> None:
    matches = json.loads(run(home, "search", "billing", "--admin", "--json").stdout)
    assert matches[0]["product"] == "invoicing"
    clinic = json.loads(run(home, "search", "billing", "--tenant", "globex", "--json").stdout)
    assert {m["tenant"] for m in clinic} == {"globex"}


def test_export_and_import_through_the_cli(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "acme.nq"
    run(home, "kg", "export", "--tenant", "acme", "-o", str(dump))
    lines = dump.read_text().splitlines()
    assert lines and all("/tenant/acme/" in line for line in lines)
    # importing acme's graphs as globex is refused, and nothing stored is lost
    before = json.loads(run(home, "kg", "stats", "--json").stdout)
    assert_one_line_error(run(home, "kg", "import", str(dump), "--tenant", "globex", check=False), "refused")
    assert json.loads(run(home, "kg", "stats", "--json").stdout) == before
    # a fresh home gets the same facts back
    other = tmp_path / "other-home"
    run(other, "kg", "import", str(dump), "--tenant", "acme")
    again = tmp_path / "again.nq"
    run(other, "kg", "export", "--tenant", "acme", "-o", str(again))
    assert sorted(again.read_text().splitlines()) == sorted(lines)
    stats = json.loads(run(other, "kg", "stats", "--json").stdout)
    assert stats["tenants"]["acme"] == before["tenants"]["acme"]


def test_export_to_a_bad_path_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "x.nq"
    assert_one_line_error(run(home, "kg", "export", "-o", str(target), check=False), "cannot write")
    assert not target.parent.exists()


def test_blueprint_command_writes_a_valid_blueprint(home: Path, tmp_path: Path) -> None:
    from generators.blueprint import load_blueprint

    out = tmp_path / "clinic.yaml"
    done = run(
        home, "blueprint", "Patients book appointments with doctors at clinics", "--tenant", "globex", "-o", str(out)
    )
    assert "written" in done.stdout
    bp = load_blueprint(out)
    assert {"patient", "appointment", "doctor", "clinic"} <= {e.name for e in bp.entities}
    assert bp.tenant == "globex"
    schema = json.loads(run(home, "blueprint", "--schema").stdout)
    assert schema["title"] == "Software Factory blueprint"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["blueprint", "   ", "--tenant", "acme"], ["empty"]),
        (["blueprint", "x" * 6000, "--tenant", "acme"], ["at most 5,000"]),
        (["blueprint", "Customers receive invoices"], ["--tenant"]),
        (["blueprint", "Customers receive invoices", "--tenant", "Bad Tenant"], ["tenant"]),
        (["generate", "/no/such/blueprint.yaml", "-o", "/tmp/x"], ["no such blueprint file"]),
    ],
)
def test_blueprint_bad_input(home: Path, args: list[str], words: list[str]) -> None:
    assert_one_line_error(run(home, *args, check=False), *words)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["deployments", "stop", "../x"], ["invalid tenant", "'..'"]),
        (["deployments", "stop", "a/b/c"], ["tenant/product"]),
        (["deployments", "stop", "/lending"], ["invalid tenant", "''"]),
        (["deployments", "stop", "acme/"], ["invalid product", "''"]),
        (["deployments", "stop", "lending"], ["acme/lending", "tenant/product", "--tenant"]),
        (["deployments", "stop", "acme/lending", "--tenant", "globex"], ["acme/lending", "globex"]),
        (["promote", "acme/../etc", "--env", "staging"], ["tenant/product"]),
        (["promote", "ACME/lending"], ["invalid tenant"]),
        (["approve", "acme/lending\n", "--reason", "ok"], ["invalid product"]),
        (["approve", "acme/le ding", "--reason", "ok"], ["invalid product"]),
        (["rebuild", "../x"], ["invalid tenant"]),
        (["rebuild", "a/b/c"], ["tenant/product"]),
        (["rebuild", "acme//x"], ["tenant/product"]),
        (["build", "a shop", "--product", "../x"], ["invalid tenant"]),
        (["build", "a shop", "--product", "a/b/c"], ["tenant/product"]),
        (["build", "a shop", "--product", "acme/"], ["invalid product"]),
    ],
)
def test_hostile_product_references_get_one_line(home: Path, args: list[str], words: list[str]) -> None:
    assert_one_line_error(run(home, *args, check=False), *words)


def test_a_product_is_named_tenant_slash_product_or_with_tenant(home: Path) -> None:
    for args in (["acme/lending"], ["lending", "--tenant", "acme"]):  # both forms reach the same product
        assert_one_line_error(run(home, "deployments", "stop", *args, check=False), "acme/lending has no running")
        assert_one_line_error(run(home, "rebuild", *args, check=False), "acme/lending has no intent to rebuild")
        assert_one_line_error(
            run(home, "promote", *args, "--env", "staging", check=False), "nothing to promote", "acme/lending"
        )
