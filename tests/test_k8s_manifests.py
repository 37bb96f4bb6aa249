"""Kubernetes manifests a cluster would accept: the generated overlays and the factory's own `infra/k8s`, built
with kustomize semantics (infra.kustomize) and validated against the API schemas (kubernetes-validate, offline)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from generators.agents.engineer import Engineer
from infra.kustomize import build
from infra.lifecycle.use_cases import TENANT_TAG
from ontology.errors import InvalidInputError
from tests.product_blueprints import invoicing

ROOT = Path(__file__).resolve().parent.parent
K8S_VERSION = "1.30.0"
"""The Kubernetes API the manifests are checked against (a release clusters still run)."""
ENVIRONMENTS = {"dev": (1, 1, 2, "DEBUG"), "staging": (2, 2, 4, "INFO"), "prod": (3, 3, 10, "INFO")}


def validate(resources: list[dict[str, Any]]) -> None:
    for resource in resources:
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)  # raises on any schema error


def by_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


def assert_selectors_match(resources: list[dict[str, Any]]) -> None:
    """What schemas cannot see and the API server refuses: a workload whose selector misses its own pods,
    and a Service that selects no workload's pods."""
    templates = []
    for r in resources:
        if r["kind"] in ("Deployment", "StatefulSet"):
            selector = r["spec"]["selector"]["matchLabels"]
            labels = r["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), r["metadata"]["name"]
            templates.append(labels)
    for service in by_kind(resources, "Service"):
        wanted = service["spec"]["selector"].items()
        assert any(wanted <= labels.items() for labels in templates), service["metadata"]["name"]


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("k8s") / "product"
    Engineer().render(invoicing(), out, "0123456789abcdef0123456789abcdef")
    return out


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_each_generated_overlay_builds_and_validates(product: Path, env: str) -> None:
    replicas, low, high, log_level = ENVIRONMENTS[env]
    resources = build(product / "deploy" / "k8s" / "overlays" / env)
    validate(resources)
    assert sorted(r["kind"] for r in resources) == ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Service"]
    assert {r["metadata"]["namespace"] for r in resources} == {f"acme-{env}"}
    (deployment,) = by_kind(resources, "Deployment")
    (hpa,) = by_kind(resources, "HorizontalPodAutoscaler")
    (config,) = by_kind(resources, "ConfigMap")
    assert deployment["spec"]["replicas"] == replicas
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (low, high)
    assert config["data"]["LOG_LEVEL"] == log_level
    name = deployment["metadata"]["name"]
    assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == f"{name}-{env}"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].startswith(f"ghcr.io/example/{name}:")
    assert_selectors_match(resources)


def test_the_factory_on_a_cluster_builds_and_validates() -> None:
    resources = build(ROOT / "infra" / "k8s")
    validate(resources)
    deployments = {r["metadata"]["name"]: r for r in by_kind(resources, "Deployment")}
    assert set(deployments) == {"dagster-webserver", "dagster-daemon", "celery-workers", "studio", "api"}
    assert {r["metadata"]["name"] for r in by_kind(resources, "StatefulSet")} == {"oxigraph"}
    assert {r["metadata"]["name"] for r in by_kind(resources, "Service")} >= {"dagster-webserver", "studio", "api"}
    assert_selectors_match(resources)
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "ghcr.io/example/software-factory:0.1.0", name
        secrets = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
        # PostgreSQL and the broker are outside services, reached by URLs held in a Secret, never in the manifests
        assert secrets == dict.fromkeys(
            ("FACTORY_DATABASE_URL", "DAGSTER_POSTGRES_URL", "FACTORY_BROKER_URL"), "factory-secrets"
        )
        assert not any("value" in e for e in container["env"]), name
    assert not by_kind(resources, "Secret")
    instance = yaml.safe_load(
        next(r for r in resources if r["metadata"]["name"] == "dagster-instance")["data"]["dagster.yaml"]
    )
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"
    (limit,) = instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert limit["key"] == TENANT_TAG  # the tag every build's run carries
    (worker,) = deployments["celery-workers"]["spec"]["template"]["spec"]["containers"]
    assert worker["command"] == ["factory", "worker"]  # late acknowledgement, the factory's queue (assets/workers.py)


def test_a_manifest_the_api_would_refuse_fails_validation_and_bad_patches_are_one_line(
    product: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(product / "deploy" / "k8s", copy)
    deployment = copy / "base" / "deployment.yaml"
    good = deployment.read_text()
    # a value of the wrong type, and a misspelt field
    for right, wrong in (("runAsNonRoot: true", "runAsNonRoot: yes please"), ("readinessProbe:", "readynessProbe:")):
        deployment.write_text(good.replace(right, wrong))
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(build(copy / "overlays" / "prod"))
    deployment.write_text(good)
    kustomization = copy / "overlays" / "dev" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("/spec/minReplicas", "/spec/noSuchField"))
    with pytest.raises(InvalidInputError, match="does not exist"):
        build(copy / "overlays" / "dev")
    (copy / "overlays" / "odd").mkdir()
    (copy / "overlays" / "odd" / "kustomization.yaml").write_text("resources: [../../base]\nhelmCharts: []\n")
    with pytest.raises(InvalidInputError, match="helmCharts"):
        build(copy / "overlays" / "odd")
