"""The ontology, the SHACL shapes, the Kùzu schema, the pydantic models and the pattern library agree."""

from __future__ import annotations

import datetime as dt
import inspect
from pathlib import Path
from typing import get_args

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns
from rdflib.namespace import OWL, PROV, RDF, RDFS, SH
from rdflib.term import Node

from generators.patterns import pattern_library
from graph.property_graph import FIXED_COLUMNS, MEMORY_TABLE, TRACE_STEP, TRACE_TABLE, PropertyGraph, schema
from graph.provenance import STAGES
from graph.recorder import BuildRecorder
from graph.samples import DEMO_PRODUCTS, SampleProduct, build_facts
from ontology import models
from ontology.namespaces import FAC, PAT
from ontology.vocabulary import ONTOLOGY_PATH, PATTERNS_PATH, SHAPES_PATH, load_turtle, vocabulary

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
STAGE_CLASSES = ["Analysis", "Design", "Generation", "Validation", "Release", "Deployment", "Observation", "Contract"]
AGENT_CLASSES = ["Analyst", "Architect", "Engineer", "Tester", "Release", "Deployer", "Observer", "Tester"]
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
# What each XSD range must become in the property graph: the contract the projection relies on.
KUZU_TYPE_OF_RANGE = {
    ns.XSD.string: "STRING",
    ns.XSD.integer: "INT64",
    ns.XSD.double: "DOUBLE",
    ns.XSD.boolean: "BOOLEAN",
    ns.XSD.dateTime: "TIMESTAMP",
}


# ---------------------------------------------------------------- the ontology itself


def test_the_classes_the_issue_names_exist() -> None:
    voc = vocabulary()
    missing = [name for name in ISSUE_CLASSES if FAC[name] not in voc.classes]
    assert missing == []


def test_lifecycle_agents_and_activities_subclass_prov() -> None:
    voc = vocabulary()
    for stage, agent in zip(STAGE_CLASSES, AGENT_CLASSES, strict=True):
        assert voc.is_subclass(FAC[f"{stage}Activity"], PROV.Activity), stage
        assert voc.is_subclass(FAC[f"{agent}Agent"], PROV.Agent), agent
    for name in ISSUE_CLASSES:
        if name != "Tenant":
            assert voc.is_subclass(FAC[name], PROV.Entity), name
    assert voc.is_subclass(FAC.Tenant, PROV.Agent)
    # the provenance writer's stage table uses exactly these classes
    assert {a for a, _ in STAGES.values()} == {FAC[f"{s}Activity"] for s in STAGE_CLASSES}
    assert {g for _, g in STAGES.values()} == {FAC[f"{a}Agent"] for a in AGENT_CLASSES}


def test_every_class_and_property_has_a_label_and_a_comment() -> None:
    voc = vocabulary()
    g = voc.graph
    unlabelled = [
        iri
        for iri in [*voc.classes, *(p.iri for p in voc.datatype_properties), *(p.iri for p in voc.object_properties)]
        if not (g.value(iri, RDFS.label) and g.value(iri, RDFS.comment))
    ]
    assert unlabelled == []
    assert (URIRef("https://softwarefactory.dev/ontology"), RDF.type, OWL.Ontology) in g


def test_every_property_has_a_range_and_a_known_domain() -> None:
    voc = vocabulary()
    known_classes = set(voc.classes) | {PROV.Activity, PROV.Entity, PROV.Agent}
    for prop in voc.datatype_properties:
        assert prop.range in KUZU_TYPE_OF_RANGE, (prop.name, prop.range)
        assert prop.domain is None or prop.domain in known_classes, prop.name
    for prop in voc.object_properties:
        assert prop.domain in known_classes and prop.range in known_classes, prop.name


# ---------------------------------------------------------------- the property-graph schema


def test_every_class_has_a_node_table() -> None:
    voc, sch = vocabulary(), schema()
    assert set(sch.table_of_class) == set(voc.classes)
    for cls in voc.classes:
        table = sch.table_of_class[cls]
        assert table in sch.nodes, cls
        assert voc.is_subclass(cls, sch.nodes[table].root), cls
    # one table per root class: subclasses share their root's table and carry their class in `kind`
    assert set(sch.nodes) == {str(c).rsplit("#", 1)[1] for c in voc.roots}
    assert sch.table_of_class[FAC.AnalystAgent] == sch.table_of_class[FAC.FactoryAgent] == "FactoryAgent"
    assert sch.table_of_class[FAC.DesignActivity] == "LifecycleActivity"


def _tables_admitting(cls: URIRef | None) -> set[str]:
    """The node tables whose instances may be a `cls` (every table for None)."""
    voc, sch = vocabulary(), schema()
    return {sch.table_of_class[c] for c in voc.classes if cls is None or voc.is_subclass(c, cls)}


def test_every_datatype_property_is_a_column_of_exactly_the_right_tables() -> None:
    voc, sch = vocabulary(), schema()
    for prop in voc.datatype_properties:
        holding = {t.name for t in sch.nodes.values() if prop.iri in t.properties}
        assert holding == _tables_admitting(prop.domain), prop.name
        for name in holding:
            column = sch.nodes[name].properties[prop.iri]
            assert column == prop.name
            assert sch.nodes[name].columns[column] == KUZU_TYPE_OF_RANGE[prop.range], (name, column)
    for table in sch.nodes.values():
        assert list(table.columns)[: len(FIXED_COLUMNS)] == list(FIXED_COLUMNS)
        assert len(table.columns) == len(FIXED_COLUMNS) + len(table.properties)


def test_every_object_property_is_a_rel_table_between_the_right_tables() -> None:
    voc, sch = vocabulary(), schema()
    assert set(sch.rels) == {p.name for p in voc.object_properties}
    for prop in voc.object_properties:
        rel = sch.rels[prop.name]
        assert rel.property == prop.iri and sch.rel_of_property[prop.iri] == prop.name
        expected = {(a, b) for a in _tables_admitting(prop.domain) for b in _tables_admitting(prop.range)}
        assert set(rel.pairs) == expected, prop.name


def test_a_real_kuzu_database_has_exactly_the_derived_tables(tmp_path: Path) -> None:
    sch = schema()
    pg = PropertyGraph(tmp_path / "schema.kz", read_only=False)
    try:
        _, rows = pg.execute("CALL SHOW_TABLES() RETURN name, type")
        nodes = {name for name, kind in rows if kind == "NODE"}
        rels = {name for name, kind in rows if kind == "REL"}
        assert nodes == {*sch.nodes, MEMORY_TABLE, TRACE_TABLE}
        assert rels == {*sch.rels, TRACE_STEP}
        for table in sch.nodes.values():
            _, cols = pg.execute(f"CALL TABLE_INFO('{table.name}') RETURN name, type")
            described = {name: {"BOOL": "BOOLEAN"}.get(kind, kind) for name, kind in cols}  # Kùzu's own spelling
            assert described == table.columns, table.name
        for rel in sch.rels.values():
            _, pairs = pg.execute(f"CALL SHOW_CONNECTION('{rel.name}') RETURN *")
            assert {(p[0], p[1]) for p in pairs} == set(rel.pairs), rel.name
        _, pairs = pg.execute(f"CALL SHOW_CONNECTION('{TRACE_STEP}') RETURN *")
        assert {(p[0], p[1]) for p in pairs} == {(TRACE_TABLE, t) for t in sch.traced}
    finally:
        pg.close()


# ---------------------------------------------------------------- the SHACL shapes


def _rdf_list(g: Graph, head: Node | None) -> list[str]:
    items = []
    while head is not None and head != RDF.nil:
        items.append(str(g.value(head, RDF.first)))
        head = g.value(head, RDF.rest)
    return items


def test_shapes_target_only_ontology_classes() -> None:
    voc = vocabulary()
    shapes = load_turtle(SHAPES_PATH)
    targets = {URIRef(str(t)) for t in shapes.objects(None, SH.targetClass)}
    assert {FAC.Blueprint, FAC.Entity, FAC.Release, FAC.Deployment} <= targets
    assert targets <= set(voc.classes)
    for cls in shapes.objects(None, SH["class"]):
        assert URIRef(str(cls)) in voc.classes, cls


def test_shape_paths_are_ontology_properties_with_agreeing_types() -> None:
    voc = vocabulary()
    shapes = load_turtle(SHAPES_PATH)
    props = {p.iri: p for p in [*voc.datatype_properties, *voc.object_properties]}
    paths = 0
    for prop_shape, path in shapes.subject_objects(SH.path):
        paths += 1
        prop = props.get(URIRef(str(path)))
        assert prop is not None, f"shape path {path} is not a property of the ontology"
        datatype = shapes.value(prop_shape, SH.datatype)
        if datatype is not None:
            assert URIRef(str(datatype)) == prop.range, path
        cls = shapes.value(prop_shape, SH["class"])
        if cls is not None:
            assert voc.is_subclass(URIRef(str(cls)), prop.range), path
    assert paths >= 20


def test_shape_value_lists_match_the_models_and_stages() -> None:
    shapes = load_turtle(SHAPES_PATH)

    def allowed(path: URIRef) -> list[str]:
        (prop_shape,) = shapes.subjects(SH.path, path)
        return _rdf_list(shapes, shapes.value(prop_shape, SH["in"]))

    assert allowed(FAC.dataType) == list(models.DATA_TYPES)
    assert allowed(FAC.cardinality) == list(get_args(models.Cardinality))
    assert allowed(FAC.stage) == list(STAGES)


# ---------------------------------------------------------------- the pydantic models


def _ontology_models() -> list[type[models.OntologyModel]]:
    return [
        m
        for _, m in inspect.getmembers(models, inspect.isclass)
        if issubclass(m, models.OntologyModel) and m is not models.OntologyModel
    ]


def test_the_main_classes_have_models() -> None:
    assert {m.__name__ for m in _ontology_models()} >= {
        "Intent",
        "Requirement",
        "Blueprint",
        "BoundedContext",
        "Entity",
        "Attribute",
        "Relationship",
        "DomainPattern",
    }


@pytest.mark.parametrize("model", _ontology_models(), ids=lambda m: m.__name__)
def test_a_model_maps_to_its_class_and_to_properties_of_that_class(model: type[models.OntologyModel]) -> None:
    voc = vocabulary()
    known = {p.iri: p for p in voc.datatype_properties}
    assert model.rdf_class in voc.classes
    assert model.__name__ == str(model.rdf_class).rsplit("#", 1)[1]
    for field_name, prop in model.rdf_fields.items():
        assert field_name in model.model_fields or isinstance(getattr(model, field_name, None), property), field_name
        assert prop in known, f"{model.__name__}.{field_name} maps to {prop}, which the ontology lacks"
        domain = known[prop].domain
        assert domain is None or domain in voc.ancestors(model.rdf_class), (model.__name__, prop)


# ---------------------------------------------------------------- the pattern library


def test_the_pattern_library_has_the_common_saas_concepts() -> None:
    library = pattern_library()
    keys = {p.key for p in library.patterns}
    assert len(keys) == len(library) >= 40
    assert sorted(set(ISSUE_PATTERNS) - keys) == []


def test_every_pattern_in_the_turtle_file_is_well_formed() -> None:
    g = load_turtle(PATTERNS_PATH)
    patterns = set(g.subjects(RDF.type, FAC.DomainPattern))
    assert len(patterns) >= 40
    for pattern in patterns:
        key = str(g.value(pattern, FAC.patternKey))
        assert pattern == PAT[key], pattern
        assert g.value(pattern, RDFS.label) and g.value(pattern, RDFS.comment), key
        assert str(g.value(pattern, FAC.synonyms) or "").strip(), f"{key} has no synonyms"
        attributes = list(g.objects(pattern, FAC.typicalAttribute))
        assert attributes, key
        for attr in attributes:
            assert (attr, RDF.type, FAC.Attribute) in g, attr
            assert str(g.value(attr, FAC.dataType)) in models.DATA_TYPES, attr
            for flag in (FAC.isRequired, FAC.isUnique, FAC.isPii):
                value = g.value(attr, flag)
                assert isinstance(value, Literal) and value.datatype == ns.XSD.boolean, (attr, flag)
        for rel in g.objects(pattern, FAC.typicalRelationship):
            assert (rel, RDF.type, FAC.Relationship) in g, rel
            assert g.value(rel, FAC.patternTarget) in patterns, rel
            assert str(g.value(rel, FAC.cardinality)) in get_args(models.Cardinality), rel
            assert g.value(rel, FAC.sourceRole) and g.value(rel, FAC.targetRole), rel


def test_every_pattern_loads_into_the_models_without_losing_anything() -> None:
    g = load_turtle(PATTERNS_PATH)
    library = pattern_library()
    for model in library.patterns:
        assert isinstance(model, models.DomainPattern)
        node = PAT[model.key]
        file_attrs = {str(g.value(a, FAC.attributeName)): a for a in g.objects(node, FAC.typicalAttribute)}
        assert {a.name for a in model.attributes} == set(file_attrs), model.key
        for attr in model.attributes:
            assert isinstance(attr, models.Attribute)
            source = file_attrs[attr.name]
            assert attr.type == str(g.value(source, FAC.dataType))
            flags = [g.value(source, flag) for flag in (FAC.isRequired, FAC.isUnique, FAC.isPii)]
            assert [attr.required, attr.unique, attr.pii] == [isinstance(f, Literal) and f.toPython() for f in flags]
        file_rels = list(g.objects(node, FAC.typicalRelationship))
        assert len(model.relationships) == len(file_rels), model.key
        assert all(r.source == model.key for r in model.relationships)
    # personal data is flagged somewhere, and not everywhere
    assert {a.pii for p in library.patterns for a in p.attributes} == {True, False}


# ---------------------------------------------------------------- SHACL validation


def _graph_of(quads: list) -> Graph:
    g = Graph()
    g.parse(data="\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads), format="nt")
    return g


def _validate(g: Graph) -> tuple[bool, set[str]]:
    """SHACL validation with the ontology's class hierarchy mixed in: a shape on fac:LifecycleActivity
    reaches a fac:DesignActivity only through rdfs:subClassOf, as SHACL defines targetClass."""
    conforms, report, _ = pyshacl.validate(
        g, shacl_graph=load_turtle(SHAPES_PATH), ont_graph=load_turtle(ONTOLOGY_PATH), allow_warnings=True
    )
    return bool(conforms), {str(m) for m in report.objects(None, SH.resultMessage)}


@pytest.mark.parametrize("sample", DEMO_PRODUCTS, ids=lambda s: s.product)
def test_a_complete_build_conforms_to_the_shapes(sample: SampleProduct) -> None:
    facts = build_facts(sample)
    g = _graph_of(facts.quads)
    assert len(g) == len(set(facts.quads))
    conforms, messages = _validate(g)
    assert conforms, messages


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("entity-without-attribute", "every entity has at least one attribute"),
        ("release-without-commit", "every release has a commit id"),
        ("deployment-without-release", "every deployment derives from a release"),
        ("release-without-trace", "every release has a trace id"),
        ("blueprint-without-entity", "a blueprint needs at least one entity"),
        ("activity-without-agent", "every activity is associated with the agent that did it"),
    ],
)
def test_a_broken_build_violates_the_shapes(breakage: str, message: str) -> None:
    facts = build_facts(DEMO_PRODUCTS[2])
    g = _graph_of(facts.quads)
    node, prop = {
        "entity-without-attribute": (facts.iri("entity", "patient"), FAC.hasAttribute),
        "release-without-commit": (facts.iri("release", "1"), FAC.commit),
        "deployment-without-release": (facts.iri("deployment", "dev"), FAC.deploysRelease),
        "release-without-trace": (facts.iri("release", "1"), FAC.traceId),
        "blueprint-without-entity": (facts.iri("blueprint"), FAC.hasEntity),
        "activity-without-agent": (facts.iri("activity", "design"), PROV.wasAssociatedWith),
    }[breakage]
    assert (URIRef(node), prop, None) in g  # the fact exists before it is removed
    g.remove((URIRef(node), prop, None))
    conforms, messages = _validate(g)
    assert not conforms
    assert message in messages


def test_a_bad_data_type_or_commit_violates_the_shapes() -> None:
    facts = build_facts(DEMO_PRODUCTS[2])
    g = _graph_of(facts.quads)
    g.set((URIRef(facts.iri("entity", "patient", "name")), FAC.dataType, Literal("varchar")))
    g.set((URIRef(facts.iri("release", "1")), FAC.commit, Literal("not a commit")))
    conforms, messages = _validate(g)
    assert not conforms
    assert {"an attribute's data type must be one of the known types", "every release has a commit id"} <= messages


def test_the_pattern_library_conforms_to_the_shapes_and_a_broken_pattern_does_not() -> None:
    patterns = load_turtle(PATTERNS_PATH)
    conforms, messages = _validate(patterns)
    assert conforms, messages
    broken = Graph()
    for triple in patterns:
        broken.add(triple)
    broken.set((PAT["customer.email"], FAC.dataType, Literal("mail")))
    conforms, messages = _validate(broken)
    assert not conforms and "an attribute's data type must be one of the known types" in messages


def _governed_build() -> tuple[Graph, str]:
    """A complete build whose release a person rejected, another approved, and a third promoted to prod."""
    facts = build_facts(DEMO_PRODUCTS[0])
    record = BuildRecorder(facts)
    commit = next(str(q.object.value) for q in facts.quads if q.predicate.value == str(FAC.commit))  # type: ignore[union-attr]
    policy = (facts.tenant, "permit (principal, action, resource);\n")
    at = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    record.approval("decision-1", 1, commit, "r1", "prod", "rejected", "not on a Friday", "carol", policy, at)
    record.approval("decision-2", 1, commit, "r1", "prod", "approved", "change board 42", "bob", policy, at)
    record.promotion(
        1, commit, "r1", "prod", "http://127.0.0.1:8001", "running", at, at, "staging",
        requested_by="alice", approvals=["decision-2"], policy=policy,
    )  # fmt: skip
    return _graph_of(facts.quads), facts.iri("approval", "decision-2")


def test_approvals_and_the_promotion_they_let_through_conform_to_the_shapes() -> None:
    g, approval = _governed_build()
    conforms, messages = _validate(g)
    assert conforms, messages
    by = g.value(g.value(URIRef(approval), PROV.wasGeneratedBy), PROV.wasAssociatedWith)
    assert g.value(by, FAC.userName) == Literal("bob") and (by, RDF.type, FAC.Person) in g
    # a person is their name and nothing else: no password hash, no token
    assert {p for p, _ in g.predicate_objects(by)} == {RDF.type, RDFS.label, FAC.traceId, FAC.userName}
    g.remove((g.value(URIRef(approval), PROV.wasGeneratedBy), PROV.wasAssociatedWith, by))
    conforms, messages = _validate(g)
    assert not conforms and "every approval is associated with the person who gave it" in messages


def test_an_upgrade_of_a_built_product_conforms_to_the_shapes_and_needs_its_person() -> None:
    facts = build_facts(DEMO_PRODUCTS[0])
    at = dt.datetime(2026, 1, 3, tzinfo=dt.UTC)
    outcome = ("conflicts", "a" * 40, "factory/upgrade/fastapi-service-1.1.0", ["app/main.py", "README.md"])
    upgrade = BuildRecorder(facts).upgrade(
        "upgrade-1", ("fastapi-service", "1.0.0"), ("fastapi-service", "1.1.0"), outcome, "dana", at
    )
    g = _graph_of(facts.quads)
    conforms, messages = _validate(g)
    assert conforms, messages
    assert sorted(str(v) for v in g.objects(URIRef(upgrade), FAC.conflictPath)) == ["README.md", "app/main.py"]
    g.set((URIRef(upgrade), FAC.upgradeStatus, Literal("half-done")))
    g.remove((URIRef(upgrade), PROV.wasAssociatedWith, None))
    conforms, messages = _validate(g)
    assert not conforms
    assert {
        "an upgrade is upgraded, conflicts or failed",
        "every upgrade is associated with the person who asked for it",
    } <= messages
