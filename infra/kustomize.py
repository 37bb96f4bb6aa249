"""`kustomize build` in Python: a kustomization's resources with its overlays' transformations applied.

The generated products' `deploy/k8s` overlays and the factory's own `infra/k8s` example use this much
of kustomize: `resources` (files and folders with a kustomization of their own), `namespace`, `labels`
(with `includeSelectors` and `includeTemplates`) and the older `commonLabels`, `commonAnnotations`,
`images`, `replicas`, and `patches` (JSON 6902 operations or a strategic-merge mapping, inline or in a
file, with a `target` by kind and name). The transformations run in kustomize's order: patches first,
then namespace, labels, annotations, replicas and images. Anything else in a kustomization is refused
with a one-line error, so a build here never silently differs from `kubectl kustomize`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ontology.errors import InvalidInputError

__all__ = ["build", "cluster_scoped"]

Resource = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KNOWN = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "commonLabels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
}
_CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
}
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def cluster_scoped(resource: Resource) -> bool:
    return resource.get("kind") in _CLUSTER_SCOPED


def _kustomization(folder: Path) -> tuple[Path, dict[str, Any]]:
    for name in KUSTOMIZATION_FILES:
        path = folder / name
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise InvalidInputError(f"{path} is not a kustomization: a YAML mapping is expected")
            unknown = sorted(set(data) - _KNOWN)
            if unknown:
                raise InvalidInputError(f"{path}: kustomization field {unknown[0]!r} is not supported here")
            return path, data
    raise InvalidInputError(f"no kustomization.yaml in {folder}")


def _load(path: Path) -> list[Resource]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            raise InvalidInputError(f"{path}: every document must be a Kubernetes object with apiVersion and kind")
    return docs


def build(folder: Path, *, _seen: tuple[Path, ...] = ()) -> list[Resource]:
    """The objects `kustomize build folder` gives, in the order its resources list them."""
    folder = folder.resolve()
    if folder in _seen:
        raise InvalidInputError(f"kustomization cycle through {folder}")
    path, spec = _kustomization(folder)
    resources: list[Resource] = []
    for entry in spec.get("resources") or []:
        target = (folder / entry).resolve()
        if target.is_dir():
            resources += build(target, _seen=(*_seen, folder))
        elif target.is_file():
            resources += _load(target)
        else:
            raise InvalidInputError(f"{path}: resource {entry!r} does not exist")
    for patch in spec.get("patches") or []:
        _patch(folder, path, resources, patch)
    if spec.get("namespace"):
        for r in resources:
            if not cluster_scoped(r):
                r.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for entry in spec.get("labels") or []:
        _label(resources, entry.get("pairs") or {}, bool(entry.get("includeSelectors")), entry)
    if spec.get("commonLabels"):
        _label(resources, spec["commonLabels"], True, {"includeTemplates": True})
    for r in resources:
        for key, value in (spec.get("commonAnnotations") or {}).items():
            r.setdefault("metadata", {}).setdefault("annotations", {})[key] = str(value)
    for entry in spec.get("replicas") or []:
        for r in resources:
            if r.get("kind") in _WORKLOADS and r.get("metadata", {}).get("name") == entry["name"]:
                r.setdefault("spec", {})["replicas"] = int(entry["count"])
    for image in spec.get("images") or []:
        for r in resources:
            for container in _containers(r):
                _retag(container, image)
    return resources


def _matches(resource: Resource, target: dict[str, Any]) -> bool:
    meta = resource.get("metadata") or {}
    return all(
        (
            target.get("kind") in (None, resource.get("kind")),
            target.get("name") in (None, meta.get("name")),
            target.get("namespace") in (None, meta.get("namespace")),
        )
    )


def _patch(folder: Path, path: Path, resources: list[Resource], entry: dict[str, Any]) -> None:
    text = entry.get("patch")
    if text is None and entry.get("path"):
        text = (folder / entry["path"]).read_text(encoding="utf-8")
    if text is None:
        raise InvalidInputError(f"{path}: a patch needs `patch` or `path`")
    body = yaml.safe_load(text)
    target = entry.get("target")
    if isinstance(body, list):  # JSON 6902 operations
        if not target:
            raise InvalidInputError(f"{path}: a JSON 6902 patch needs a target")
        hits = [r for r in resources if _matches(r, target)]
        if not hits:
            raise InvalidInputError(f"{path}: patch target {target} matches no resource")
        for r in hits:
            for op in body:
                _apply_op(r, op, path)
    elif isinstance(body, dict):  # strategic merge: the patch names its own target unless one is given
        target = target or {"kind": body.get("kind"), "name": (body.get("metadata") or {}).get("name")}
        hits = [r for r in resources if _matches(r, target)]
        if not hits:
            raise InvalidInputError(f"{path}: patch target {target} matches no resource")
        for r in hits:
            _merge(r, {k: v for k, v in body.items() if k not in ("apiVersion", "kind")})
    else:
        raise InvalidInputError(f"{path}: a patch must be a list of operations or a mapping")


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise InvalidInputError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _apply_op(resource: Resource, op: dict[str, Any], where: Path) -> None:
    kind, parts = op.get("op"), _pointer(str(op.get("path", "")))
    parent: Any = resource
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent.get(part)
        if parent is None:
            raise InvalidInputError(f"{where}: patch path {op.get('path')} does not exist")
    last = parts[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if kind == "add":
            parent.insert(index, copy.deepcopy(op["value"]))
        elif kind == "replace":
            parent[index] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[index]
        else:
            raise InvalidInputError(f"{where}: patch op {kind!r} is not supported here")
        return
    if kind in ("replace", "remove") and last not in parent:
        raise InvalidInputError(f"{where}: patch path {op.get('path')} does not exist")
    if kind in ("add", "replace"):
        parent[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del parent[last]
    else:
        raise InvalidInputError(f"{where}: patch op {kind!r} is not supported here")


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    """Strategic merge, as far as manifests here need it: mappings merge, lists of named items merge by name,
    other lists are replaced, and a null value deletes its key."""
    for key, value in patch.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list) and _named(value) and _named(into[key]):
            by_name = {item["name"]: item for item in into[key]}
            for item in value:
                if item["name"] in by_name:
                    _merge(by_name[item["name"]], item)
                else:
                    into[key].append(copy.deepcopy(item))
        else:
            into[key] = copy.deepcopy(value)


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def _pod_spec(resource: Resource) -> dict[str, Any] | None:
    spec = resource.get("spec") or {}
    if resource.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return (template or {}).get("spec") if isinstance(template, dict) else None


def _containers(resource: Resource) -> Iterable[dict[str, Any]]:
    pod = _pod_spec(resource) or {}
    return [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]


def _label(resources: list[Resource], pairs: dict[str, Any], selectors: bool, entry: dict[str, Any]) -> None:
    labels = {str(k): str(v) for k, v in pairs.items()}
    for r in resources:
        r.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
        spec = r.get("spec")
        if not isinstance(spec, dict):
            continue
        if selectors or entry.get("includeTemplates"):
            template = (
                ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
                if r.get("kind") == "CronJob"
                else spec.get("template")
            )
            if isinstance(template, dict):
                template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
        if not selectors:
            continue
        if r.get("kind") == "Service":
            spec.setdefault("selector", {}).update(labels)
        elif r.get("kind") in _WORKLOADS - {"Job"}:
            spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(labels)


def _retag(container: dict[str, Any], image: dict[str, Any]) -> None:
    ref = str(container.get("image", ""))
    name, digest = ref.split("@", 1) if "@" in ref else (ref, None)
    tag = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != image.get("name"):
        return
    name = str(image.get("newName") or name)
    if image.get("digest"):
        container["image"] = f"{name}@{image['digest']}"
    elif image.get("newTag") is not None:
        container["image"] = f"{name}:{image['newTag']}"
    else:
        container["image"] = name + (f"@{digest}" if digest else f":{tag}" if tag else "")
