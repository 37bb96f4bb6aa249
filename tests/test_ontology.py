"""The ontology, the SHACL shapes, the Kùzu schema and the pydantic models agree."""

from __future__ import annotations

import inspect

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, SH

from generators.patterns import pattern_library
from graph.property_graph import FIXED_COLUMNS, schema
from graph.samples import DEMO_PRODUCTS, build_facts
from ontology import models
from ontology.namespaces import FAC
from ontology.vocabulary import ONTOLOGY_PATH, SHAPES_PATH, load_turtle, vocabulary

ISSUE_CLASSES = [
    "Tenant",
    "Product",
    "Intent",
    "Requirement",
    "Blueprint",
    "BoundedContext",
    "Entity",
    "Attribute",
    "Relationship",
    "TemplatePack",
    "Artifact",
    "ValidationReport",
    "Release",
    "Environment",
    "Deployment",
    "TelemetrySignal",
    "Policy",
    "Approval",
    "DomainPattern",
]
STAGES = ["Analysis", "Design", "Generation", "Validation", "Release", "Deployment", "Observation"]
AGENTS = ["Analyst", "Architect", "Engineer", "Tester", "Release", "Deployer", "Observer"]
ISSUE_PATTERNS = [
    "customer",
    "contact",
    "company",
    "invoice",
    "line_item",
    "payment",
    "subscription",
    "plan",
    "order",
    "order_item",
    "product",
    "inventory_item",
    "supplier",
    "shipment",
    "appointment",
    "patient",
    "doctor",
    "clinic",
    "support_ticket",
    "message",
    "project",
    "task",
    "comment",
    "time_entry",
    "course",
    "lesson",
    "enrollment",
    "event",
    "venue",
    "event_ticket",
    "booking",
    "property",
    "lease",
    "vehicle",
    "driver",
    "employee",
    "department",
    "document",
    "notification",
    "user",
    "team",
]


def test_issue_classes_exist_and_align_with_prov() -> None:
    voc = vocabulary()
    for name in ISSUE_CLASSES:
        assert FAC[name] in voc.classes, name
    for stage, agent in zip(STAGES, AGENTS, strict=True):
        assert voc.is_subclass(FAC[f"{stage}Activity"], PROV.Activity)
        assert voc.is_subclass(FAC[f"{agent}Agent"], PROV.Agent)
    assert voc.is_subclass(FAC.Blueprint, PROV.Entity)
    assert voc.is_subclass(FAC.Tenant, PROV.Agent)


def test_every_term_has_label_comment_domain_and_range() -> None:
    voc = vocabulary()
    g = voc.graph
    for cls in voc.classes:
        assert g.value(cls, RDFS.label) and g.value(cls, RDFS.comment), cls
    for prop in [*voc.datatype_properties, *voc.object_properties]:
        assert g.value(prop.iri, RDFS.label) and g.value(prop.iri, RDFS.comment), prop.iri
        assert prop.range is not None
    assert (URIRef("https://softwarefactory.dev/ontology"), RDF.type, OWL.Ontology) in g


def test_property_graph_schema_is_derived_from_the_ontology() -> None:
    voc, sch = vocabulary(), schema()
    assert set(sch.table_of_class) == set(voc.classes)
    assert set(sch.nodes) == {c.rsplit("#", 1)[1] for c in voc.roots}
    for prop in voc.datatype_properties:
        tables = [t for t in sch.nodes.values() if prop.iri in t.properties]
        assert tables, f"{prop.name} is a column of no table"
        if prop.domain is not None and str(prop.domain).startswith(str(FAC)):
            assert sch.table_of_class[prop.domain] in {t.name for t in tables}
    assert {r.property for r in sch.rels.values()} == {p.iri for p in voc.object_properties}
    for rel in sch.rels.values():
        assert all(a in sch.nodes and b in sch.nodes for a, b in rel.pairs)
    for table in sch.nodes.values():
        assert list(table.columns)[: len(FIXED_COLUMNS)] == list(FIXED_COLUMNS)


def _ontology_terms() -> set[URIRef]:
    g = load_turtle(ONTOLOGY_PATH)
    return {URIRef(str(s)) for s in g.subjects()} | {RDF.type, RDFS.label}


def test_shapes_use_only_ontology_terms() -> None:
    shapes = load_turtle(SHAPES_PATH)
    known = _ontology_terms()
    targets = set(shapes.objects(None, SH.targetClass))
    assert {FAC.Blueprint, FAC.Entity, FAC.Release, FAC.Deployment} <= targets
    for term in [*targets, *shapes.objects(None, SH.path), *shapes.objects(None, SH["class"])]:
        assert URIRef(str(term)) in known, term


def test_models_map_to_ontology_classes_and_properties() -> None:
    voc = vocabulary()
    known = {p.iri: p for p in voc.datatype_properties}
    model_classes = [
        m
        for _, m in inspect.getmembers(models, inspect.isclass)
        if issubclass(m, models.OntologyModel) and m is not models.OntologyModel
    ]
    assert {m.__name__ for m in model_classes} >= {
        "Intent",
        "Requirement",
        "Blueprint",
        "Entity",
        "Attribute",
        "Relationship",
        "BoundedContext",
        "DomainPattern",
    }
    for model in model_classes:
        assert model.rdf_class in voc.classes, model
        for field_name, prop in model.rdf_fields.items():
            assert hasattr(model, field_name) or field_name in model.model_fields, (model, field_name)
            assert prop in known, (model, prop)
            domain = known[prop].domain
            assert domain is None or domain in voc.ancestors(model.rdf_class), (model, prop)


def test_attribute_types_agree_between_model_and_shapes() -> None:
    shapes = load_turtle(SHAPES_PATH)
    allowed = set()
    for prop_shape in shapes.subjects(SH.path, FAC.dataType):
        members = shapes.value(prop_shape, SH["in"])
        node = members
        while node and node != RDF.nil:
            allowed.add(str(shapes.value(node, RDF.first)))
            node = shapes.value(node, RDF.rest)
    assert allowed == set(models.DATA_TYPES)


def test_pattern_library_has_the_common_saas_concepts() -> None:
    library = pattern_library()
    assert len(library) >= 40
    keys = {p.key for p in library.patterns}
    assert set(ISSUE_PATTERNS) <= keys
    for pattern in library.patterns:
        assert pattern.attributes, pattern.key
        for rel in pattern.relationships:
            assert rel.target in keys, (pattern.key, rel.target)


def _graph_of(quads: list) -> Graph:
    g = Graph()
    g.parse(data="\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads), format="nt")
    return g


def _validate(g: Graph) -> tuple[bool, set[str]]:
    conforms, report, _ = pyshacl.validate(g, shacl_graph=load_turtle(SHAPES_PATH), allow_warnings=True)
    return conforms, {str(m) for m in report.objects(None, SH.resultMessage)}


def test_a_complete_build_conforms_to_the_shapes() -> None:
    conforms, messages = _validate(_graph_of(build_facts(DEMO_PRODUCTS[0]).quads))
    assert conforms, messages


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("entity-without-attribute", "every entity has at least one attribute"),
        ("release-without-commit", "every release has a commit id"),
        ("deployment-without-release", "every deployment derives from a release"),
        ("release-without-trace", "every release has a trace id"),
    ],
)
def test_broken_builds_violate_the_shapes(breakage: str, message: str) -> None:
    facts = build_facts(DEMO_PRODUCTS[2])
    g = _graph_of(facts.quads)
    if breakage == "entity-without-attribute":
        g.remove((URIRef(facts.iri("entity", "patient")), FAC.hasAttribute, None))
    elif breakage == "release-without-commit":
        g.remove((URIRef(facts.iri("release", "1")), FAC.commit, None))
    elif breakage == "deployment-without-release":
        g.remove((URIRef(facts.iri("deployment", "dev")), FAC.deploysRelease, None))
    else:
        g.remove((URIRef(facts.iri("release", "1")), FAC.traceId, None))
    conforms, messages = _validate(g)
    assert not conforms and message in messages


def test_a_bad_data_type_violates_the_shapes() -> None:
    facts = build_facts(DEMO_PRODUCTS[2])
    g = _graph_of(facts.quads)
    attr = URIRef(facts.iri("entity", "patient", "name"))
    g.set((attr, FAC.dataType, Literal("varchar")))
    conforms, messages = _validate(g)
    assert not conforms and any("data type" in m for m in messages)
