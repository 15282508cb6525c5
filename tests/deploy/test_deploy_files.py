"""The deployment files parse, validate, and reference only images, files and settings that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())
K8S_VERSION = "1.32.0"


def render(overlay: str) -> list[dict[str, Any]]:
    """Render a kustomize overlay with kubectl (skipped, saying why, where kubectl is missing)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot render the kustomize overlays here")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_renders_and_validates_against_the_kubernetes_schema(overlay: str) -> None:
    docs = render(overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for service in SERVICES:
        assert ("Deployment", service) in names or ("StatefulSet", service) in names  # consumers: StatefulSets
        assert ("Service", service) in names
    assert ("Deployment", "relay") in names


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_http_deployment_has_probes_runs_as_non_root_and_uses_existing_config(overlay: str) -> None:
    docs = render(overlay)
    by_kind: dict[str, set[str]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    for doc in docs:
        workload = doc["kind"] in ("Deployment", "StatefulSet")
        if not workload or not doc["spec"]["template"]["spec"]["containers"][0]["image"].startswith("ordertalk/"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert "readinessProbe" in container, doc["metadata"]["name"]
        assert "livenessProbe" in container, doc["metadata"]["name"]
        image = container["image"].split(":")[0].removeprefix("ordertalk/")
        assert image in SERVICES
        for source in container["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in by_kind["ConfigMap"]
            if "secretRef" in source and overlay == "dev":
                assert source["secretRef"]["name"] in by_kind["Secret"]


def test_autoscaling_never_exceeds_the_partition_count() -> None:
    docs = render("prod")
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    partitions = int(config["data"]["KAFKA_TOPIC_PARTITIONS"])
    hpas = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpas
    for hpa in hpas:
        assert hpa["spec"]["maxReplicas"] <= partitions


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    return data


def test_compose_builds_every_service_from_the_dockerfile_and_has_the_real_servers() -> None:
    services = load_compose()["services"]
    assert {"kafka", "mongo", "postgres", "mailpit"} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert "--replSet" in services["mongo"]["command"]
    for name in SERVICES:
        build = services[name]["build"]
        assert (DEPLOY / "compose" / build["context"] / build["dockerfile"]).resolve().exists()
        assert build["args"]["SERVICE"] == name
        assert (ROOT / "services" / name / "src" / f"ordertalk_{name}").is_dir()
    for name, spec in services.items():
        for dep in spec.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
    for server in ("kafka", "mongo", "postgres"):
        assert "healthcheck" in services[server]


def test_compose_variables_are_all_documented_in_the_example_env_file() -> None:
    text = (DEPLOY / "compose" / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    documented = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "compose" / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used - {"IMAGE_TAG"} <= documented


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", text, re.M)
    assert "HEALTHCHECK" in text
    assert text.count("FROM ") >= 2


def test_docker_compose_config_accepts_the_file() -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed here: `docker compose config` cannot run")
    compose, env = DEPLOY / "compose" / "compose.yaml", DEPLOY / "compose" / ".env.example"
    subprocess.run([str(docker), "compose", "-f", str(compose), "--env-file", str(env), "config", "-q"], check=True)
