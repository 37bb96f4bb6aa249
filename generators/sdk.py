"""A typed Python client SDK of a generated service, rendered from the service's own OpenAPI document.

The `python-sdk` pack's templates get an `SdkContext` built here from the document: one TypedDict per
schema (required fields plain, the others NotRequired), one method per operation (path parameters
positional, query parameters keyword-only, the body typed by its schema, the answer by its 2xx schema),
and, per collection whose create body holds only plain values, a sample body its tests can send. The
document reaches the templates only as data, through the same sandbox as every pack.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generators.packs import load_pack
from generators.rendering import render_files
from ontology.errors import InvalidInputError

__all__ = ["SDK_PACK", "SdkContext", "SdkModel", "SdkOperation", "render_sdk", "sdk_context"]

SDK_PACK = "python-sdk"
PACKAGE_SEGMENT = "__package__"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,80}\Z")
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class SdkField:
    """One property of a schema: its JSON name, its Python type and whether a body must hold it."""

    name: str
    annotation: str
    required: bool
    description: str = ""


@dataclass(frozen=True)
class SdkModel:
    """A schema of the document as a TypedDict (`functional` when a property is no Python identifier)."""

    name: str
    description: str
    fields: tuple[SdkField, ...]

    @property
    def functional(self) -> bool:
        return any(not _IDENTIFIER.match(f.name) or keyword.iskeyword(f.name) for f in self.fields)


@dataclass(frozen=True)
class SdkParameter:
    """A path or query parameter of an operation, as the method's argument `name`."""

    name: str
    wire: str
    location: str
    annotation: str
    required: bool

    @property
    def argument(self) -> str:
        """The method's argument: `name: type`, optional ones `| None = None`."""
        if self.required:
            return f"{self.name}: {self.annotation}"
        optional = self.annotation if "None" in self.annotation.split(" | ") else f"{self.annotation} | None"
        return f"{self.name}: {optional} = None"


@dataclass(frozen=True)
class SdkOperation:
    """One operation of the document as a method of the client."""

    name: str
    method: str
    path: str
    summary: str
    parameters: tuple[SdkParameter, ...]
    body: str | None
    result: str | None
    conditional: bool
    """A change (PATCH or PUT) that takes `if_match`, the ETag the row had when it was read."""

    @property
    def path_parameters(self) -> tuple[SdkParameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")

    @property
    def query_parameters(self) -> tuple[SdkParameter, ...]:
        return tuple(p for p in self.parameters if p.location == "query")


@dataclass(frozen=True)
class SdkCollection:
    """A collection the SDK's tests take through create, read, conditional change, list and delete."""

    create: str
    read: str
    update: str
    delete: str
    listing: str
    sample: dict[str, Any]
    change: dict[str, Any]


@dataclass(frozen=True)
class SdkContext:
    """What the `python-sdk` templates render: the package, the service's title and version, its models and
    operations, and the collections its tests round-trip."""

    package: str
    title: str
    version: str
    models: tuple[SdkModel, ...]
    operations: tuple[SdkOperation, ...]
    collections: tuple[SdkCollection, ...] = field(default_factory=tuple)

    def _annotations(self, of_operations: bool) -> str:
        if of_operations:
            parts = [p.annotation for o in self.operations for p in o.parameters]
            parts += [t for o in self.operations for t in (o.body, o.result) if t]
        else:
            parts = [f.annotation for m in self.models for f in m.fields]
        return " ".join(parts)

    def used_models(self) -> list[str]:
        """The models the client's methods name."""
        text = self._annotations(True)
        return [m.name for m in self.models if re.search(rf"\b{m.name}\b", text)]

    def typing(self, of_operations: bool) -> list[str]:
        """What the models module (or the client) imports from `typing`."""
        text = self._annotations(of_operations)
        names = [n for n in ("Any", "Literal") if re.search(rf"\b{n}\b", text)]
        if not of_operations:
            names += ["TypedDict"] + (
                ["NotRequired"] if any(not f.required for m in self.models for f in m.fields) else []
            )
        return sorted(set(names))

    def operation(self, method: str, path: str) -> SdkOperation | None:
        return next((o for o in self.operations if (o.method, o.path) == (method, path)), None)


def _class_name(ref: str) -> str:
    name = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", ref.rsplit("/", 1)[-1]) if part)
    if not name or not name[0].isalpha():
        name = f"Model{name}"
    return name


def _annotation(schema: Any) -> str:
    """The Python type of a JSON schema: models by name, unions, literals, lists; Any for the rest."""
    if not isinstance(schema, dict):
        return "Any"
    if "$ref" in schema:
        return _class_name(str(schema["$ref"]))
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            parts = list(dict.fromkeys(_annotation(s) for s in schema[key]))
            return " | ".join(parts) if parts else "Any"
    if isinstance(schema.get("enum"), list) and all(isinstance(v, str | int | bool) for v in schema["enum"]):
        return f"Literal[{', '.join(json.dumps(v) if isinstance(v, str) else repr(v) for v in schema['enum'])}]"
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_annotation(schema.get('items'))}]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}.get(
        str(kind), "dict[str, Any]" if kind == "object" else "Any"
    )


_RESERVED = {"self", "body", "if_match", "answer", "cast", "quote"}


def _identifier(text: str, what: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_").lower() or "value"
    if name[0].isdigit() or keyword.iskeyword(name) or name in _RESERVED:
        name = f"{what}_{name}"
    return name


def _models(openapi: dict[str, Any]) -> tuple[SdkModel, ...]:
    schemas = (openapi.get("components") or {}).get("schemas") or {}
    models = []
    for ref in sorted(schemas):
        schema = schemas[ref] if isinstance(schemas[ref], dict) else {}
        required = set(schema.get("required") or [])
        properties = schema.get("properties") or {}
        fields = tuple(
            SdkField(str(name), _annotation(prop), name in required, str((prop or {}).get("description", "")))
            for name, prop in properties.items()
        )
        models.append(SdkModel(_class_name(ref), " ".join(str(schema.get("description", "")).split()), fields))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise InvalidInputError("the OpenAPI document has schemas whose names give the same Python class")
    return tuple(models)


def _success(operation: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the operation answers 2xx, and the type of that answer's JSON body (None: no body)."""
    for code, answer in sorted((operation.get("responses") or {}).items()):
        if str(code).startswith("2"):
            content = (answer or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            return True, (_annotation(schema) if schema is not None else None)
    return False, None


def _operations(openapi: dict[str, Any]) -> tuple[SdkOperation, ...]:
    operations = []
    for path, item in sorted((openapi.get("paths") or {}).items()):
        for method in _METHODS:
            operation = (item or {}).get(method)
            if not isinstance(operation, dict):
                continue
            params = []
            for raw in operation.get("parameters") or []:
                if raw.get("in") not in ("path", "query"):
                    continue  # the tenant header is the client's own
                params.append(
                    SdkParameter(
                        _identifier(str(raw["name"]), "param"),
                        str(raw["name"]),
                        str(raw["in"]),
                        _annotation(raw.get("schema")),
                        bool(raw.get("required")),
                    )
                )
            body_schema = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
            _, result = _success(operation)
            name = _identifier(str(operation.get("operationId") or f"{method}_{path}"), "op")
            operations.append(
                SdkOperation(
                    name=name,
                    method=method.upper(),
                    path=str(path),
                    summary=" ".join(str(operation.get("summary") or name).split()),
                    parameters=tuple(sorted(params, key=lambda p: (p.location != "path", not p.required))),
                    body=_annotation(body_schema["schema"]) if "schema" in body_schema else None,
                    result=result,
                    conditional=method in ("patch", "put") and "schema" in body_schema,
                )
            )
    names = [o.name for o in operations]
    if len(set(names)) != len(names):
        raise InvalidInputError("the OpenAPI document has operations whose ids give the same method name")
    return tuple(operations)


def _sample(schema: Any, index: int) -> Any:
    """A plain value `schema` accepts, or raise LookupError when there is none this simple."""
    if not isinstance(schema, dict) or "$ref" in schema or "pattern" in schema:
        raise LookupError("not plain")
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "string":
        by_format = {"email": f"sdk{index}@example.com", "date": "2024-01-02", "date-time": "2024-01-02T03:04:05Z"}
        if fmt in by_format:
            return by_format[fmt]
        if fmt is not None:
            raise LookupError(f"format {fmt}")
        value = f"sdk sample {index}"
        return value[: int(schema.get("maxLength", len(value)))] if int(schema.get("minLength", 0)) <= 1 else value
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    raise LookupError(f"type {kind}")


def _collections(openapi: dict[str, Any], operations: tuple[SdkOperation, ...]) -> tuple[SdkCollection, ...]:
    schemas = (openapi.get("components") or {}).get("schemas") or {}
    by_key = {(o.method, o.path): o for o in operations}
    found = []
    for (method, path), create in sorted(by_key.items()):
        item = f"{path}/{{id}}"
        ops = [by_key.get(key) for key in (("GET", item), ("PATCH", item), ("DELETE", item), ("GET", path))]
        if method != "POST" or create.body is None or None in ops:
            continue
        schema = next((s for ref, s in schemas.items() if _class_name(ref) == create.body), None)
        if not isinstance(schema, dict):
            continue
        try:
            required = schema.get("required") or []
            sample = {name: _sample(schema["properties"][name], 1) for name in required}
            change = {name: _sample(schema["properties"][name], 2) for name in required}
        except (LookupError, KeyError, TypeError, ValueError):
            continue  # a reference to another row, or a value this simple sampler cannot make
        read, update, delete, listing = (op.name for op in ops if op is not None)
        found.append(SdkCollection(create.name, read, update, delete, listing, sample, change))
    return tuple(found)


def sdk_context(openapi: dict[str, Any], package: str) -> SdkContext:
    """The `python-sdk` pack's render context of a service's OpenAPI document."""
    if not isinstance(openapi, dict) or not str(openapi.get("openapi", "")).startswith("3."):
        raise InvalidInputError("not an OpenAPI 3 document: give the service's /openapi.json")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", package) or keyword.iskeyword(package):
        raise InvalidInputError(f"{package[:60]!r} is not a package name: use a lowercase Python identifier")
    info = openapi.get("info") or {}
    operations = _operations(openapi)
    return SdkContext(
        package=package,
        title=" ".join(str(info.get("title", package)).split()),
        version=str(info.get("version", "0.0.0")),
        models=_models(openapi),
        operations=operations,
        collections=_collections(openapi, operations),
    )


def render_sdk(openapi: dict[str, Any], out_dir: Path, package: str, version: str | None = None) -> list[str]:
    """Render the client SDK of `openapi` into `out_dir` (new or empty) with the `python-sdk` pack; its files."""
    pack = load_pack(SDK_PACK, version)
    context = sdk_context(openapi, package)
    return render_files(pack, out_dir, {"sdk": context}, {PACKAGE_SEGMENT: package})
