"""The blueprint language: YAML a person can write, checked by pydantic, by cross-reference
rules and by the SHACL shapes, with every error naming its place (`entities[2].attributes[0].type`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ontology.errors import InvalidInputError
from ontology.models import Blueprint

__all__ = [
    "MAX_BLUEPRINT_BYTES",
    "BlueprintError",
    "blueprint_issues",
    "dump_blueprint",
    "json_schema",
    "load_blueprint",
    "parse_blueprint",
    "shacl_issues",
]

MAX_BLUEPRINT_BYTES = 1_000_000


class BlueprintError(InvalidInputError):
    """A blueprint that is not valid; `issues` lists every problem as 'place: what is wrong'."""

    def __init__(self, issues: Sequence[str]) -> None:
        self.issues = list(issues)
        more = f" (+{len(self.issues) - 1} more: {'; '.join(self.issues[1:4])})" if len(self.issues) > 1 else ""
        super().__init__(f"invalid blueprint: {self.issues[0]}{more}")


def _place(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "blueprint"


def _pydantic_issues(error: ValidationError) -> list[str]:
    issues = []
    for e in error.errors():
        message = str(e["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if e["type"] == "extra_forbidden":
            message = "unknown field"
        elif e["type"] == "missing":
            message = "is required"
        issues.append(f"{_place(e['loc'])}: {message}")
    return issues


def blueprint_issues(bp: Blueprint) -> list[str]:
    """Cross-reference rules pydantic cannot see: unique names, known entities and contexts, free role names."""
    issues: list[str] = []
    contexts = {c.name for c in bp.contexts}
    seen_ctx: dict[str, int] = {}
    for i, ctx in enumerate(bp.contexts):
        if ctx.name in seen_ctx:
            issues.append(f"contexts[{i}].name: duplicate context {ctx.name!r} (also contexts[{seen_ctx[ctx.name]}])")
        seen_ctx.setdefault(ctx.name, i)
    index: dict[str, int] = {}
    members: dict[str, set[str]] = {}
    for i, ent in enumerate(bp.entities):
        if ent.name in index:
            issues.append(f"entities[{i}].name: duplicate entity {ent.name!r} (also entities[{index[ent.name]}])")
            continue
        index[ent.name] = i
        if ent.context is not None and ent.context not in contexts:
            issues.append(f"entities[{i}].context: no bounded context {ent.context!r}")
        names: dict[str, int] = {}
        for j, attr in enumerate(ent.attributes):
            if attr.name in names:
                issues.append(
                    f"entities[{i}].attributes[{j}].name: duplicate attribute {attr.name!r} "
                    f"(also attributes[{names[attr.name]}])"
                )
            names.setdefault(attr.name, j)
        renamed: dict[str, int] = {}
        for j, attr in enumerate(ent.attributes):
            old = attr.renamed_from
            if old is None:
                continue
            if old in names:
                where = f"entities[{i}].attributes[{j}].renamed_from"
                issues.append(f"{where}: {old!r} is still an attribute of {ent.name!r}")
            elif old in renamed:
                issues.append(
                    f"entities[{i}].attributes[{j}].renamed_from: {old!r} is also renamed by attributes[{renamed[old]}]"
                )
            renamed.setdefault(old, j)
        members[ent.name] = set(names)
    for i, rel in enumerate(bp.relationships):
        for end in ("source", "target"):
            name = getattr(rel, end)
            if name not in index:
                issues.append(f"relationships[{i}].{end}: no entity {name!r}")
        if rel.source not in index or rel.target not in index:
            continue
        for end, owner in (("source_role", rel.source), ("target_role", rel.target)):
            role = getattr(rel, end)
            if role in members[owner]:
                issues.append(f"relationships[{i}].{end}: {role!r} is already a member of {owner!r}")
            else:
                members[owner].add(role)
    roles = set(bp.access.roles)
    for i, grant in enumerate(bp.access.grants):
        if grant.role not in roles:
            issues.append(f"access.grants[{i}].role: no role {grant.role!r} in access.roles")
        if grant.entity != "*" and grant.entity not in index:
            issues.append(f"access.grants[{i}].entity: no entity {grant.entity!r}")
    if issues:
        return issues
    for ent in bp.entities:
        missing = [
            action for action in ("read", "create", "update", "delete") if not bp.access.allowed(ent.name, action)
        ]
        if missing:
            issues.append(
                f"access.grants: no role may {' or '.join(missing)} {ent.name!r} rows; grant each action to a role "
                "(the service has every route of every entity)"
            )
    return issues


def shacl_issues(bp: Blueprint) -> list[str]:
    """Validate the blueprint's facts against the ontology's SHACL shapes; each issue names its place."""
    import pyshacl
    from rdflib import Graph

    from graph.facts import ProductFacts
    from ontology.vocabulary import SHAPES_PATH, load_turtle

    facts = ProductFacts(bp.tenant, bp.slug, "0" * 32)
    facts.blueprint(bp)
    graph = Graph()
    graph.parse(data="\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in facts.quads), format="nt")
    conforms, report, _ = pyshacl.validate(graph, shacl_graph=load_turtle(SHAPES_PATH), allow_warnings=True)
    if conforms:
        return []
    places = {facts.iri("blueprint"): "blueprint"}
    for i, ent in enumerate(bp.entities):
        places[facts.iri("entity", ent.name)] = f"entities[{i}]"
        for j, attr in enumerate(ent.attributes):
            places[facts.iri("entity", ent.name, attr.name)] = f"entities[{i}].attributes[{j}]"
    for i, rel in enumerate(bp.relationships):
        places[facts.iri("relationship", rel.source, rel.source_role)] = f"relationships[{i}]"
    for i in range(len(bp.access.grants)):
        places[facts.iri("grant", str(i))] = f"access.grants[{i}]"
    from rdflib.namespace import SH

    issues = []
    for result in sorted(report.subjects(SH.resultMessage, None), key=str):
        focus = str(report.value(result, SH.focusNode))
        message = str(report.value(result, SH.resultMessage))
        issues.append(f"{places.get(focus, focus)}: {message}")
    return issues


def parse_blueprint(data: Any) -> Blueprint:
    """A Blueprint from already-parsed data (a mapping), with every rule checked."""
    if not isinstance(data, dict):
        raise BlueprintError([f"blueprint: expected a mapping of fields, got {type(data).__name__}"])
    try:
        bp = Blueprint.model_validate(data)
    except ValidationError as exc:
        raise BlueprintError(_pydantic_issues(exc)) from None
    issues = blueprint_issues(bp) or shacl_issues(bp)
    if issues:
        raise BlueprintError(issues)
    return bp


def load_blueprint(source: str | Path) -> Blueprint:
    """Read a blueprint from YAML (or JSON) text or a file path."""
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_BLUEPRINT_BYTES:
                raise InvalidInputError(
                    f"{source}: blueprint too large ({size:,} bytes, at most {MAX_BLUEPRINT_BYTES:,})"
                )
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInputError(f"no such blueprint file: {source}") from None
        except IsADirectoryError:
            raise InvalidInputError(f"{source} is a folder, not a blueprint file") from None
        except UnicodeDecodeError:
            raise InvalidInputError(f"{source}: not UTF-8 text") from None
    else:
        text = source
    if len(text.encode()) > MAX_BLUEPRINT_BYTES:
        raise InvalidInputError(f"blueprint too large: at most {MAX_BLUEPRINT_BYTES:,} bytes")
    if not text.strip():
        raise InvalidInputError("empty blueprint")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidInputError(f"blueprint is not valid YAML{where}: {problem}") from None
    return parse_blueprint(data)


def dump_blueprint(bp: Blueprint) -> str:
    """The blueprint's YAML form, as a person would write it (deterministic)."""
    return yaml.safe_dump(
        bp.model_dump(mode="json", exclude_defaults=True), sort_keys=False, allow_unicode=True, width=100
    )


def json_schema() -> str:
    """JSON Schema of the blueprint language, for editors."""
    schema = Blueprint.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Software Factory blueprint"
    return json.dumps(schema, indent=2, sort_keys=True)
