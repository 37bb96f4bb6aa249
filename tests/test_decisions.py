"""People's decisions as PROV facts in a real knowledge graph: recorded, shaped, queried, remembered, isolated."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import Graph
from rdflib.namespace import PROV, RDF, SH

from generators.open_questions import settle
from generators.patterns import pattern_library
from generators.pipeline import Planner
from graph import KnowledgeGraph
from graph.decisions import DecisionFacts, past_decisions, record_decisions
from graph.names import decisions_graph, graph_tenant, product_graph
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology.errors import InvalidInputError, QueryRefusedError
from ontology.models import QUESTION_KINDS
from ontology.namespaces import FAC
from ontology.vocabulary import ONTOLOGY_PATH, SHAPES_PATH, load_turtle

INTENT = "Guests reserve rooms at hotels; participants attend workshops"
DECISIONS_OF = """PREFIX fac: <https://softwarefactory.dev/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?user ?id ?choice WHERE {
  ?decision a fac:DecisionActivity ; prov:wasAssociatedWith ?person ; prov:used ?question .
  ?person a fac:Person ; fac:userName ?user .
  ?answer prov:wasGeneratedBy ?decision ; fac:answers ?question ; fac:choice ?choice .
  ?question a fac:OpenQuestion ; fac:questionId ?id .
} ORDER BY ?id"""


def _answers(answers: dict[str, str]) -> list:
    requirements = Planner().analyse(INTENT, "acme").requirements
    return settle(requirements, pattern_library(), answers).answers


def test_answers_are_recorded_as_a_persons_decisions_and_queried_with_sparql(kg: KnowledgeGraph) -> None:
    iris = record_decisions(kg, "acme", _answers({"hotel": "ignore", "guest": "own"}), user="alice")
    assert len(iris) == 2
    rows = kg.sparql(DECISIONS_OF, "acme").rows
    assert rows == [["alice", "guest", "own"], ["alice", "hotel", "ignore"]]
    assert kg.sparql(DECISIONS_OF, "globex").rows == []  # another tenant never sees them
    assert kg.sparql(DECISIONS_OF, None).rows == rows  # the factory admin does


def test_recorded_decisions_conform_to_the_shapes(kg: KnowledgeGraph) -> None:
    record_decisions(kg, "acme", _answers({"room": "attribute:hotel"}), user="bob")
    buffer = io.BytesIO()
    kg.export_nquads(buffer, "acme")
    buffer.seek(0)
    lines = [f"{q.subject} {q.predicate} {q.object} ." for q in ox.parse(buffer, format=ox.RdfFormat.N_QUADS)]
    data = Graph().parse(data="\n".join(lines), format="nt")
    assert len(data) > 10

    def messages(g: Graph) -> tuple[bool, set[str]]:
        conforms, report, _ = pyshacl.validate(
            g, shacl_graph=load_turtle(SHAPES_PATH), ont_graph=load_turtle(ONTOLOGY_PATH), allow_warnings=True
        )
        return bool(conforms), {str(m) for m in report.objects(None, SH.resultMessage)}

    conforms, found = messages(data)
    assert conforms, found
    data.remove((None, PROV.wasAssociatedWith, None))  # a decision without its person breaks them
    conforms, found = messages(data)
    assert not conforms and "every decision is associated with the person who took it" in found


def test_the_question_kinds_of_the_shapes_are_the_models() -> None:
    shapes = load_turtle(SHAPES_PATH)
    (prop,) = shapes.subjects(SH.path, FAC.questionKind)
    head, kinds = shapes.value(prop, SH["in"]), []
    while head is not None and head != RDF.nil:
        kinds.append(str(shapes.value(head, RDF.first)))
        head = shapes.value(head, RDF.rest)
    assert kinds == list(QUESTION_KINDS)


def test_the_analyst_uses_the_tenants_past_decisions(tmp_path: Path) -> None:
    kg = KnowledgeGraph(tmp_path / "home", embedder=None)
    kg.bootstrap()
    planner = Planner(None, kg)
    first = planner.propose(INTENT, "acme")
    assert {"hotel", "room", "guest"} <= {q.id for q in first.requirements.open_questions}
    chosen = planner.propose(INTENT, "acme", answers={"hotel": "entity", "room": "attribute:hotel"})
    record_decisions(kg, "acme", chosen.requirements.answers, user="carol")
    assert [(d.subject, d.choice, d.person) for d in past_decisions(kg, "acme")] == [
        ("hotel", "entity", "carol"),
        ("room", "attribute:hotel", "carol"),
    ]
    # the next intent of acme: hotel is not asked again, and room is an attribute of hotel
    later = planner.propose("Guests reserve rooms at hotels and pay invoices", "acme")
    asked = {q.id for q in later.requirements.open_questions}
    assert "hotel" not in asked and "room" not in asked
    remembered = {a.question.id: a for a in later.requirements.answers}
    assert remembered["hotel"].remembered and remembered["hotel"].decided_by == "carol"
    assert "room" in {a.name for a in later.blueprint.entity("hotel").attributes}
    assert "room" not in {e.name for e in later.blueprint.entities}
    # another tenant is still asked
    other = planner.propose(INTENT, "globex")
    assert {"hotel", "room"} <= {q.id for q in other.requirements.open_questions}
    # a later decision overrides an earlier one
    again = planner.propose(INTENT, "acme", answers={"room": "entity"})
    record_decisions(
        kg, "acme", again.requirements.answers, user="dave", when=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    )
    assert "room" in {e.name for e in planner.propose(INTENT, "acme").blueprint.entities}


def test_remembered_answers_are_not_recorded_again(kg: KnowledgeGraph) -> None:
    planner = Planner(None, kg)
    record_decisions(
        kg, "acme", planner.propose(INTENT, "acme", answers={"hotel": "entity"}).requirements.answers, "erin"
    )
    answers = planner.propose(INTENT, "acme").requirements.answers
    assert answers and all(a.remembered for a in answers)
    assert record_decisions(kg, "acme", answers, "erin") == []
    assert len(past_decisions(kg, "acme")) == 1


def test_decisions_survive_a_product_rebuild_and_travel_with_the_tenants_export(
    kg: KnowledgeGraph, tmp_path: Path
) -> None:
    facts = build_facts(DEMO_PRODUCTS[0])
    kg.write(facts)
    record_decisions(kg, "acme", _answers({"hotel": "ignore"}), user="frank")
    kg.write(build_facts(DEMO_PRODUCTS[0]))  # a rebuild replaces the product's graph only
    assert len(past_decisions(kg, "acme")) == 1
    dump = io.BytesIO()
    kg.export_nquads(dump, "acme")
    assert decisions_graph("acme") in dump.getvalue().decode()
    other = KnowledgeGraph(tmp_path / "other", embedder=None)
    dump.seek(0)
    other.import_nquads(dump, "acme")
    assert [d.choice for d in past_decisions(other, "acme")] == ["ignore"]
    dump.seek(0)
    with pytest.raises(InvalidInputError, match="not one of tenant 'globex'"):
        KnowledgeGraph(tmp_path / "third", embedder=None).import_nquads(dump, "globex")


def test_graph_names_of_decisions() -> None:
    assert graph_tenant(decisions_graph("acme")) == "acme"
    assert graph_tenant(product_graph("acme", "billing")) == "acme"
    assert graph_tenant(decisions_graph("acme") + "/x") is None
    facts = DecisionFacts("acme", "a" * 32)
    assert facts.graph == decisions_graph("acme") and "/_decision/" in facts.iri("0", "answer")
    with pytest.raises(InvalidInputError):
        record_decisions(
            KnowledgeGraph(Path("/nonexistent"), embedder=None), "acme", _answers({"hotel": "ignore"}), " "
        )


def test_a_fresh_home_has_no_past_decisions(tmp_path: Path) -> None:
    assert past_decisions(KnowledgeGraph(tmp_path / "empty", embedder=None), "acme") == []


def test_an_older_property_graph_gains_the_tables_of_the_new_classes(tmp_path: Path) -> None:
    """A tenant database made before the decision classes existed is upgraded by its next writer."""
    import re

    import kuzu

    from graph.property_graph import PropertyGraph, schema

    new = {"Answer", "OpenQuestion", "DecisionActivity", "Person", "answers"}
    path = tmp_path / "old.kz"
    db = kuzu.Database(str(path))
    conn = kuzu.Connection(db)
    for stmt in schema().ddl():
        name = stmt.split()[3].split("(")[0]
        if name in new:
            continue
        if stmt.startswith("CREATE REL TABLE"):
            pairs = [p for p in re.findall(r"FROM (\w+) TO (\w+)", stmt) if not set(p) & new]
            if not pairs:  # a relationship only between new tables (a person who asked for an activity) is new too
                continue
            stmt = f"CREATE REL TABLE {name}({', '.join(f'FROM {a} TO {b}' for a, b in pairs)})"
        conn.execute(stmt)
    conn.close()
    db.close()
    with pytest.raises(QueryRefusedError, match="does not exist"):  # an older database, not yet upgraded
        old = PropertyGraph(path, read_only=True)
        try:
            old.counts()
        finally:
            old.close()
    writer = PropertyGraph(path, read_only=False)
    counts = writer.counts()
    writer.close()
    assert counts["Person"] == counts["OpenQuestion"] == counts["answers"] == counts["Entity"] == 0
