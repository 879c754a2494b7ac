"""The deployment manifests: valid against their schemas (offline, schemas shipped in the
checkers' packages) and consistent with the code they deploy.

No container engine or cluster is needed: deploy/Dockerfile is parsed (dockerfile-parse),
deploy/compose.yaml is checked against the compose-spec schema (check-jsonschema's bundled
copy), deploy/k8s/*.yaml against the Kubernetes OpenAPI schemas (kubernetes-validate), and
then against what the code reads: settings aliases, ports, probes, topics, partitions.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from deploy.local import STOP_TIMEOUT_S
from services import launcher
from services.console.settings import ConsoleSettings
from services.settings import (
    DEFAULT_PORTS,
    LISTEN_SETTINGS,
    SERVICES,
    GatewaySettings,
    LauncherSettings,
)
from shared.bus import MemoryBroker
from shared.events import TOPICS, EventPayload, registered
from shared.runtime import EventHandler, ManyHandler, ServiceRuntime, Wants
from shared.settings import BusSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

COMPONENTS = (*SERVICES, "gateway")
IMAGE = "beacon"
# The oldest Kubernetes these manifests claim, and a recent one.
K8S_VERSIONS = ("1.29", "1.33")
KUSTOMIZATION = "kustomization.yaml"
SECRET_TEMPLATE = "secret.example.yaml"
SECRET_NAME = "beacon-secrets"
TOPICS_CONFIGMAP = "beacon-topics"
# Settings a replica would otherwise generate for itself, which replicas must share.
# BEACON_INTERNAL_SECRET: the gateway signs callers with it, every service checks them.
SIGNING_SECRET = "BEACON_INTERNAL_SECRET"
SHARED_SECRETS = {"intake": {"PII_KEYS", SIGNING_SECRET},
                  "triage": {SIGNING_SECRET},
                  "notify": {"NOTIFY_ACK_SECRET", SIGNING_SECRET},
                  "sentiment": {SIGNING_SECRET},
                  "gateway": {"DEV_API_KEY", SIGNING_SECRET}}
# Variables of the Python runtime itself, allowed in the image's ENV.
RUNTIME_ENV = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}


# --- what the code reads -----------------------------------------------------------------

def env_names(model: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (its aliases, nested blocks too)."""
    names: set[str] = set()
    for field in model.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            names |= env_names(annotation)
    return names


def settings_class(component: str) -> type[BaseSettings]:
    if component == "gateway":
        return GatewaySettings
    module = importlib.import_module(f"{component}_svc.settings")
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, ServiceSettings)
             and value.__module__ == module.__name__]
    assert len(found) == 1, f"{module.__name__}: expected one ServiceSettings class, {found}"
    return found[0]


@cache
def allowed_env(component: str) -> frozenset[str]:
    """What the process of one component reads: its settings and the launcher's, plus
    `<NAME>_HOST`/`<NAME>_PORT` for a service run alone."""
    names = env_names(settings_class(component)) | env_names(LauncherSettings)
    if component != "gateway":
        names |= env_names(LISTEN_SETTINGS[component])
    else:  # the console in the gateway: its own settings, and the bus it follows events on
        names |= env_names(ConsoleSettings) | env_names(BusSettings)
    return frozenset(names)


def all_env() -> frozenset[str]:
    return frozenset().union(*(allowed_env(c) for c in COMPONENTS))


@pytest.fixture(scope="module")
def consumed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """The topics each service's consumers subscribe to, as its app factory registers them."""
    found: dict[str, set[str]] = {name: set() for name in COMPONENTS}
    original = ServiceRuntime.on

    def recording_on(self: ServiceRuntime, events: Sequence[type[EventPayload]],
                     handler: EventHandler, *, group: str | None = None,
                     many: ManyHandler | None = None, wants: Wants | None = None) -> None:
        found[self.name].update(e.topic for e in events)
        original(self, events, handler, group=group, many=many, wants=wants)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ServiceRuntime, "on", recording_on)
        patch.setenv("DATA_DIR", str(tmp_path_factory.mktemp("data")))
        for var in ("BUS", "DATABASE_URL", *(f"{n.upper()}_DATABASE_URL" for n in SERVICES)):
            patch.delenv(var, raising=False)
        for name in SERVICES:
            launcher.service_factory(name)(broker=MemoryBroker())
    return found


def event_topics() -> set[str]:
    """Every topic: an event's type is the topic it is published on (its payload class's
    `topic`), so each registered schema names one, and shared.events lists them."""
    # Tests register topics of their own (`tests.support.new_topic`: "probe.<hex>"); when
    # they ran earlier in the session the registry holds them too.
    return set(TOPICS) | {event_type for event_type, _version in registered()
                          if not event_type.startswith("probe.")}


def test_launcher_listens_where_the_names_allowed_here_say(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SERVICES:
        assert launcher.listen_address(name) == ("127.0.0.1", DEFAULT_PORTS[name])
        host, port = f"{name.upper()}_HOST", f"{name.upper()}_PORT"
        assert {host, port} <= allowed_env(name)
        monkeypatch.setenv(host, "0.0.0.0")
        monkeypatch.setenv(port, "8123")
        assert launcher.listen_address(name) == ("0.0.0.0", 8123)
        # Only its own: another service's variables move no other service.
        others = [other for other in SERVICES if other != name]
        assert all(launcher.listen_address(o)[1] != 8123 for o in others)
        monkeypatch.delenv(host)
        monkeypatch.delenv(port)


def test_consumers_are_found(consumed: dict[str, set[str]]) -> None:
    # Guards the fixture: triage and notify do consume, and only known topics.
    assert consumed["triage"] and consumed["notify"]
    for name, topics in consumed.items():
        assert topics <= event_topics(), f"{name} consumes topics with no event schema"


# --- Dockerfile --------------------------------------------------------------------------

@cache
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def final_stage() -> list[dict[str, Any]]:
    structure: list[dict[str, Any]] = dockerfile().structure
    last_from = max(i for i, item in enumerate(structure) if item["instruction"] == "FROM")
    return structure[last_from:]


def instructions(name: str) -> list[str]:
    return [item["value"] for item in final_stage() if item["instruction"] == name]


def image_data_dir() -> str:
    data_dir = dockerfile().envs.get("DATA_DIR")
    assert data_dir, "the image sets DATA_DIR"
    return str(data_dir)


def test_dockerfile_base_is_slim_python_311() -> None:
    for image in dockerfile().parent_images:
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image


def test_dockerfile_runs_the_launcher_as_a_non_root_user() -> None:
    (entrypoint,) = instructions("ENTRYPOINT")
    assert json.loads(entrypoint) == ["python", "-m", "services"]
    for cmd in instructions("CMD"):
        argv = json.loads(cmd)
        assert argv == [] or argv[0] in COMPONENTS, cmd
    users = instructions("USER")
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    # Numeric, so Kubernetes' runAsNonRoot can check it.
    assert uid.isdigit() and int(uid) != 0, users[-1]
    assert not instructions("HEALTHCHECK"), "probes belong to compose and Kubernetes"


def test_dockerfile_installs_the_project() -> None:
    runs = [item["value"] for item in dockerfile().structure if item["instruction"] == "RUN"]
    assert any(re.search(r"pip install (--no-deps )?\.(\s|$)", run) for run in runs)


def test_dockerfile_exposes_every_port_and_only_the_gateway_listens_beyond_loopback() -> None:
    exposed = {int(port.split("/")[0]) for value in instructions("EXPOSE")
               for port in value.split()}
    assert exposed == set(DEFAULT_PORTS.values())
    envs = dockerfile().envs
    assert envs.get("GATEWAY_HOST") == "0.0.0.0"
    for component in SERVICES:
        # A service keeps the launcher's 127.0.0.1 unless its deployment says otherwise.
        assert f"{component.upper()}_HOST" not in envs, component
    unknown = set(envs) - all_env() - RUNTIME_ENV
    assert not unknown, f"ENV names no Beacon setting reads: {sorted(unknown)}"


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")], "exceptions are not modelled here"
    return [p.lstrip("/") for p in patterns]


def ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern) or (
                    bare != pattern and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], bare)):
                return True
    return False


def test_dockerignore_keeps_secrets_out_and_the_package_in() -> None:
    patterns = dockerignore_patterns()
    for secret_or_junk in (".git/HEAD", ".venv/bin/python", "data/pii.keys",
                           "data/dev_api_key", "data/run/pii.keys", "tests/conftest.py"):
        assert ignored(secret_or_junk, patterns), secret_or_junk
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    needed = ["pyproject.toml", project["project"]["readme"],
              *(f"{package}/__init__.py" for package in packages)]
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not ignored(path, patterns), f".dockerignore drops {path}, which pip install needs"


# --- compose -----------------------------------------------------------------------------

@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def compose_env(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def seconds(duration: str) -> float:
    """A compose duration such as `45s` or `1m30s`."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_compose_matches_the_compose_spec_offline() -> None:
    # Any attempt to reach the network goes to a closed local port and fails.
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "NO_PROXY": "", "no_proxy": ""}
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_kafka_in_kraft_mode_without_zookeeper() -> None:
    services = compose()["services"]
    assert not [name for name in services if "zookeeper" in name.lower()]
    kafka = compose_env(services["kafka"])
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"]
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    # Topics come from the services (ensure_topics, KAFKA_PARTITIONS), never from auto-create.
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


@pytest.mark.parametrize("name", COMPONENTS)
def test_compose_service(name: str) -> None:
    services = compose()["services"]
    assert name in services, f"compose has no service {name}"
    service = services[name]
    assert service["image"].split(":")[0] == IMAGE
    build = service["build"]
    assert (COMPOSE.parent / build["context"]).resolve() == ROOT
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert service["command"] == [name]
    # Health: the readiness endpoint, on the port the launcher listens on.
    test = " ".join(service["healthcheck"]["test"])
    (url,) = re.findall(r"http://127\.0\.0\.1:\d+/\w+", test)
    assert urlsplit(url).port == DEFAULT_PORTS[name] and urlsplit(url).path == "/readyz"
    assert seconds(service["stop_grace_period"]) >= STOP_TIMEOUT_S
    env = compose_env(service)
    unknown = set(env) - allowed_env(name)
    assert not unknown, f"{name}: variables {name} does not read: {sorted(unknown)}"
    # Required (`:?`): a default, or a value per replica, would fail every signature.
    assert ":?" in str(env[SIGNING_SECRET]), f"{name}: {SIGNING_SECRET} must be required"
    for shared in SHARED_SECRETS.get(name, set()) - {"PII_KEYS", SIGNING_SECRET}:
        if env.get(shared) is None:
            # Not given: generated into DATA_DIR, which replicas must then share.
            targets = {str(volume).split(":")[1] for volume in service.get("volumes", [])
                       if str(volume).split(":")[0] in compose().get("volumes", {})}
            assert image_data_dir() in targets, f"{name}: {shared} needs a shared DATA_DIR"
    assert f"{name.upper()}_PORT" not in env, "ports are the defaults the probes use"
    if name == "gateway":
        for upstream in SERVICES:
            target = urlsplit(env[f"{upstream.upper()}_URL"])
            assert (target.hostname, target.port) == (upstream, DEFAULT_PORTS[upstream])
        assert set(service["depends_on"]) >= set(SERVICES)
        return
    assert env["BUS"] == "kafka", "a service run alone needs BUS=kafka"
    # Reachable on the compose network (it publishes no port, asserted below).
    assert env[f"{name.upper()}_HOST"] == "0.0.0.0"
    host = env["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0]
    assert host in services
    assert env["KAFKA_PARTITIONS"] and env["DATABASE_URL"]
    assert {"kafka", "postgres"} <= set(service["depends_on"])
    # `--scale NAME=N` needs no fixed container name and no published port.
    assert "container_name" not in service and "ports" not in service
    if name == "intake":
        # Required with BUS=kafka; compose's `:?` also refuses an empty value, which intake
        # would take for "none" and answer with a key ring of its own per replica.
        assert ":?" in str(env["PII_KEYS"]), "PII_KEYS must be required, never defaulted"


def test_compose_publishes_only_the_gateway_port_and_on_loopback() -> None:
    published = {name: service["ports"] for name, service in compose()["services"].items()
                 if service.get("ports")}
    assert set(published) == {"gateway"}, published
    (port,) = published["gateway"]
    assert str(port) == f"127.0.0.1:{DEFAULT_PORTS['gateway']}:{DEFAULT_PORTS['gateway']}"


# --- Kubernetes --------------------------------------------------------------------------

def k8s_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION)


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@cache
def resources() -> list[dict[str, Any]]:
    """What `kubectl apply -k deploy/k8s` applies (the Secret template is not part of it)."""
    listed = yaml.safe_load((K8S / KUSTOMIZATION).read_text())["resources"]
    return [doc for name in listed for doc in load_all(K8S / name)]


def find(kind: str, name: str) -> dict[str, Any]:
    found = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def configmap_data(name: str) -> dict[str, str]:
    data: dict[str, str] = find("ConfigMap", name)["data"]
    return data


def secret_template() -> dict[str, Any]:
    (secret,) = load_all(K8S / SECRET_TEMPLATE)
    return secret


def container_of(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    (container,) = containers
    return container


def container_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every variable the container gets, with where it comes from."""
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "envFrom only from ConfigMaps; secrets key by key"
        for key, value in configmap_data(source["configMapRef"]["name"]).items():
            env[key] = {"value": value}
    for item in container.get("env", []):
        env[item["name"]] = item
    return env


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


def partitions() -> dict[str, int]:
    return {topic: int(count) for topic, count in configmap_data(TOPICS_CONFIGMAP).items()}


@pytest.mark.parametrize("path", k8s_files(), ids=lambda p: p.name)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_schema(path: Path, version: str) -> None:
    docs = load_all(path)
    assert docs, path
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata']['name']} at {where}: "
                        f"{exc.message}")


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / KUSTOMIZATION).read_text())
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    expected = {p.name for p in k8s_files()} - {SECRET_TEMPLATE}
    assert set(listed) == expected
    assert {image["name"] for image in kustomization.get("images", [])} <= {IMAGE}


def test_secret_template_holds_only_marked_placeholders() -> None:
    secret = secret_template()
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == SECRET_NAME
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert "REPLACE_ME" in value, f"{key} must be an obvious placeholder"


def test_topics_configmap_names_every_topic_and_the_job_uses_it() -> None:
    counts = partitions()
    assert set(counts) == event_topics()
    assert all(count >= 1 for count in counts.values())
    jobs = [r for r in resources() if r["kind"] == "Job"]
    assert any(volume.get("configMap", {}).get("name") == TOPICS_CONFIGMAP
               for job in jobs for volume in job["spec"]["template"]["spec"]["volumes"])


@pytest.mark.parametrize("name", COMPONENTS)
def test_k8s_component(name: str, consumed: dict[str, set[str]]) -> None:
    deployment = find("Deployment", name)
    service = find("Service", name)
    hpa = find("HorizontalPodAutoscaler", name)
    template = deployment["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()

    container = container_of(deployment)
    assert container["image"].split(":")[0] == IMAGE
    assert "command" not in container, "keep the image's entrypoint, python -m services"
    assert container["args"] == [name]
    env = container_env(container)
    port = int(env.get(f"{name.upper()}_PORT", {}).get("value") or DEFAULT_PORTS[name])
    assert resolve_port(container, "http") == port

    # Probes: liveness and startup on /healthz; readiness on /readyz, except the gateway's,
    # whose /readyz needs every service ready (one restarting would take the API down).
    probes = {kind: container[kind]["httpGet"] for kind in
              ("livenessProbe", "readinessProbe", "startupProbe")}
    expected = {"livenessProbe": "/healthz", "startupProbe": "/healthz",
                "readinessProbe": "/healthz" if name == "gateway" else "/readyz"}
    for kind, probe in probes.items():
        assert probe["path"] == expected[kind], f"{name} {kind}"
        assert resolve_port(container, probe["port"]) == port, f"{name} {kind} port"
    (service_port,) = service["spec"]["ports"]
    assert resolve_port(container, service_port["targetPort"]) == port

    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name} {kind}"

    # Graceful shutdown fits in the grace period: preStop, then the drain deploy/local.py
    # allows a service, or the longest proxied request for the gateway.
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = STOP_TIMEOUT_S
    if name == "gateway":
        upstream = env.get("UPSTREAM_TIMEOUT_S", {}).get("value")
        drain = max(drain, float(upstream or GatewaySettings().upstream_timeout_s))
    grace = template["spec"]["terminationGracePeriodSeconds"]
    assert grace >= float(pre_stop[1]) + drain, f"{name}: {grace}s cannot hold the drain"

    # A read-only root filesystem needs a writable DATA_DIR.
    if container["securityContext"].get("readOnlyRootFilesystem"):
        data_dir = env.get("DATA_DIR", {}).get("value") or image_data_dir()
        assert data_dir in {m["mountPath"] for m in container["volumeMounts"]}

    # Every variable is one this component reads; every reference resolves.
    unknown = set(env) - allowed_env(name)
    assert not unknown, f"{name}: variables {name} does not read: {sorted(unknown)}"
    secret_keys = set(secret_template()["stringData"])
    for item in env.values():
        ref = item.get("valueFrom", {})
        if "secretKeyRef" in ref:
            assert ref["secretKeyRef"]["name"] == SECRET_NAME
            assert ref["secretKeyRef"]["key"] in secret_keys, ref
        if "configMapKeyRef" in ref:
            assert ref["configMapKeyRef"]["key"] in configmap_data(ref["configMapKeyRef"]["name"])
    for required in SHARED_SECRETS.get(name, set()):
        assert "secretKeyRef" in env[required].get("valueFrom", {}), (
            f"{name}: {required} from the Secret, or each replica makes its own")
        assert not env[required]["valueFrom"]["secretKeyRef"].get("optional")

    # Scaling: the HPA drives this Deployment, within the partitions of what it consumes.
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
    assert 1 <= low <= high
    # Every service's replicas share their state (sentiment's too, README "Replicas"), so
    # each rolls without a gap (RollingUpdate, Kubernetes' default when none is named).
    assert deployment["spec"].get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate"
    if name == "gateway":
        for upstream in SERVICES:
            url = urlsplit(env[f"{upstream.upper()}_URL"]["value"])
            ports = [p["port"] for p in find("Service", str(url.hostname))["spec"]["ports"]]
            assert url.port in ports, f"{upstream.upper()}_URL names no port of its Service"
        return
    assert env["BUS"]["value"] == "kafka"
    assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"} <= set(env)
    bound = [partitions()[topic] for topic in consumed[name]]
    if bound:
        bound.append(int(env["KAFKA_PARTITIONS"]["value"]))
        assert high <= min(bound), (
            f"{name}: maxReplicas {high} > {min(bound)} partitions; the rest would idle")


def walk_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for resource in resources():
        spec = resource.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []):
            yield resource["metadata"]["name"], container


def test_every_beacon_container_is_a_known_component() -> None:
    seen = {name for name, c in walk_containers() if c["image"].split(":")[0] == IMAGE}
    assert seen == set(COMPONENTS)


# --- NetworkPolicies: only the gateway reaches a service ---------------------------------

CHANNEL_PORTS = {25, 465, 587, 443, 80}  # notify's SMTP, webhooks, SMS gateway
BUS_AND_DATABASE_PORTS = {9092, 5432}
DNS_PORT = 53


def pod_labels(name: str) -> dict[str, str]:
    labels: dict[str, str] = find("Deployment", name)["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels is modelled here: {selector}"
    wanted: dict[str, str] = selector.get("matchLabels", {})
    return wanted.items() <= labels.items()


def policies_for(labels: dict[str, str], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources() if r["kind"] == "NetworkPolicy"
            and selects(r["spec"]["podSelector"], labels) and kind in r["spec"]["policyTypes"]]


def rule_ports(name: str, rule: dict[str, Any]) -> set[int]:
    assert rule.get("ports"), f"{name}: a rule without ports admits every port"
    container = container_of(find("Deployment", name))
    return {resolve_port(container, p["port"]) for p in rule["ports"]}


def test_every_pod_starts_from_deny_all() -> None:
    deny = [r for r in resources() if r["kind"] == "NetworkPolicy"
            and r["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress")


@pytest.mark.parametrize("name", SERVICES)
def test_only_the_gateway_reaches_a_service(name: str) -> None:
    rules = [rule for policy in policies_for(pod_labels(name), "Ingress")
             for rule in policy["spec"].get("ingress", [])]
    assert rules, f"{name}: no ingress rule lets the gateway in"
    for rule in rules:
        peers = rule.get("from")
        assert peers, f"{name}: a rule without `from` admits every source"
        for peer in peers:
            assert set(peer) == {"podSelector"}, f"{name}: admits {peer}"
            assert selects(peer["podSelector"], pod_labels("gateway"))
            others = [other for other in SERVICES if selects(peer["podSelector"],
                                                             pod_labels(other))]
            assert not others, f"{name}: admits {others}"
        assert rule_ports(name, rule) == {DEFAULT_PORTS[name]}


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_reaches_only_dns_the_bus_and_the_database(name: str) -> None:
    rules = [rule for policy in policies_for(pod_labels(name), "Egress")
             for rule in policy["spec"].get("egress", [])]
    reached = set().union(*(rule_ports(name, rule) for rule in rules))
    allowed = BUS_AND_DATABASE_PORTS | {DNS_PORT} | (CHANNEL_PORTS if name == "notify" else set())
    # The drill runner posts through the public API, as a hotline would.
    allowed |= {DEFAULT_PORTS["gateway"]} if name == "drill" else set()
    assert BUS_AND_DATABASE_PORTS | {DNS_PORT} <= reached <= allowed, sorted(reached)


def test_the_gateway_is_reachable_and_reaches_every_service() -> None:
    ingress = [rule for policy in policies_for(pod_labels("gateway"), "Ingress")
               for rule in policy["spec"].get("ingress", [])]
    assert any(rule_ports("gateway", rule) == {DEFAULT_PORTS["gateway"]} for rule in ingress)
    egress = [rule for policy in policies_for(pod_labels("gateway"), "Egress")
              for rule in policy["spec"].get("egress", [])]
    for name in SERVICES:
        assert any(DEFAULT_PORTS[name] in rule_ports("gateway", rule)
                   and any("podSelector" in peer and selects(peer["podSelector"], pod_labels(name))
                           for peer in rule.get("to", []))
                   for rule in egress), f"the gateway cannot reach {name}"


@pytest.mark.parametrize("name", SERVICES)
def test_k8s_service_listens_on_the_pod_address(name: str) -> None:
    env = container_env(container_of(find("Deployment", name)))
    assert env[f"{name.upper()}_HOST"]["value"] == "0.0.0.0"
