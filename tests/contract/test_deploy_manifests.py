"""Contract tests of the deployment files: the root Dockerfile, docker-compose.yml and k8s/.

The deployable units are discovered from the repository (every ``services/<name>`` with a
``pyproject.toml``, plus ``gateway``), so adding a service without its compose and k8s entries
fails here. Everything runs offline: the compose schema is vendored in check-jsonschema, the
Kubernetes schemas in kubernetes-validate, and the kustomize overlays are rendered by the small
renderer below, which implements exactly the kustomize features k8s/ uses and refuses any other.
When a ``kubectl`` with built-in kustomize is on PATH, its output is compared with the renderer's.
"""

from __future__ import annotations

import base64
import copy
import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
NAMESPACE = "atrium"
SECRET_NAME = "atrium-secrets"
CONFIG_NAME = "atrium-config"
# Validate against an older minor than current clusters run, so fields newer than it fail loudly.
# Native gRPC probes, autoscaling/v2 and policy/v1 are all GA well before it.
K8S_VERSION = "1.30"
# The image's user (Dockerfile `USER`), which the pods of every unit run as.
APP_UID = 10001

# Every gRPC service's port (platform_core.config.DEFAULT_GRPC_PORTS). A new service must be
# added here, which is the reminder to give it a port in compose, k8s and the network policies.
GRPC_PORTS = {
    "client": 50051,
    "scheduling": 50052,
    "portal_requests": 50053,
    "membership_billing": 50054,
    "notification": 50055,
}
GATEWAY_PORT = 8080
WEB_PORT = 8000
# The units each gRPC service accepts calls from; its NetworkPolicy must allow exactly these.
CALLERS = {
    "client": {"gateway", "scheduling", "portal_requests", "membership_billing", "notification"},
    "scheduling": {"gateway", "portal_requests", "membership_billing"},
    "portal_requests": {"gateway"},
    "membership_billing": {"gateway", "notification"},
    "notification": {"gateway"},
}
SERVER_COMPONENT = "server"


@dataclass(frozen=True)
class Unit:
    name: str  # directory name, as in ATRIUM_<NAME>_DATABASE_URL: client, portal_requests, gateway
    path: str  # repository path, the Dockerfile's UNIT build arg

    @property
    def dns(self) -> str:
        """Name of its compose services and k8s objects (DNS labels have no underscores)."""
        return self.name.replace("_", "-")

    @property
    def is_gateway(self) -> bool:
        return self.path == "gateway"

    @property
    def port(self) -> int:
        if self.is_gateway:
            return GATEWAY_PORT
        assert self.name in GRPC_PORTS, f"no gRPC port for {self.name!r}: add it to GRPC_PORTS"
        return GRPC_PORTS[self.name]

    @property
    def database(self) -> str:
        return f"atrium_{self.name}"

    @property
    def database_env(self) -> str:
        return f"ATRIUM_{self.name.upper()}_DATABASE_URL"

    @property
    def database_secret_key(self) -> str:
        return f"{self.dns}-database-url"

    @property
    def pod_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.dns, "app.kubernetes.io/component": SERVER_COMPONENT}


def discover_units() -> list[Unit]:
    services = sorted(p.parent for p in (ROOT / "services").glob("*/pyproject.toml"))
    units = [Unit(p.name, p.relative_to(ROOT).as_posix()) for p in services]
    return [*units, Unit("gateway", "gateway")]


UNITS = discover_units()
# The web unit (staff console and client portal): no database and no gRPC; it calls only the gateway.
WEB = Unit("web", "web")
WEB_LABELS = WEB.pod_labels
GRPC_UNITS = [u for u in UNITS if not u.is_gateway]
by_unit = pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
by_overlay = pytest.mark.parametrize("overlay", OVERLAYS)


# --------------------------------------------------------------------------------------------
# A minimal kustomize renderer: only the features k8s/ uses. Anything else raises
# NotImplementedError, so a manifest change that needs more makes this test fail rather than
# silently render something kustomize would not.
# --------------------------------------------------------------------------------------------

KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "components",
    "patches",
    "images",
    "secretGenerator",
    "generatorOptions",
}
COMPONENT_FIELDS = {"apiVersion", "kind", "resources"}
NAMESPACED_KINDS = {
    "ConfigMap",
    "Secret",
    "Service",
    "ServiceAccount",
    "Deployment",
    "StatefulSet",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Ingress",
}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "Job"}


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _load_one(path: Path) -> dict[str, Any]:
    docs = _load_all(path)
    assert len(docs) == 1, f"{path}: expected one YAML document"
    return docs[0]


def _unsupported(what: str, where: Path) -> NotImplementedError:
    return NotImplementedError(f"{where}: {what} is not supported by the test's kustomize renderer")


def render(directory: Path, *, component: bool = False) -> list[dict[str, Any]]:
    kustomization = _load_one(directory / "kustomization.yaml")
    kind = "Component" if component else "Kustomization"
    assert kustomization.get("kind", "Kustomization") == kind, f"{directory}: expected a {kind}"
    extra = set(kustomization) - (COMPONENT_FIELDS if component else KUSTOMIZATION_FIELDS)
    if extra:
        raise _unsupported(f"field(s) {sorted(extra)}", directory)

    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        objects += render(target) if target.is_dir() else _load_all(target)
    # A component may only add resources, so appending them is exactly what kustomize does.
    for entry in kustomization.get("components", []):
        objects += render(directory / entry, component=True)
    objects += _generate_secrets(kustomization, directory)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise _unsupported(f"patch {patch}", directory)
        _apply_patch(objects, _load_one(directory / patch["path"]), directory)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"], directory)
    for image in kustomization.get("images", []):
        _set_image(objects, image, directory)

    identities = [_identity(obj) for obj in objects]
    duplicates = {i for i in identities if identities.count(i) > 1}
    assert not duplicates, f"{directory}: duplicate objects {sorted(duplicates)}"
    return objects


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _generate_secrets(kustomization: dict[str, Any], where: Path) -> list[dict[str, Any]]:
    generators = kustomization.get("secretGenerator", [])
    options = kustomization.get("generatorOptions", {})
    if options != ({"disableNameSuffixHash": True} if generators else {}):
        # A hash suffix would need kustomize's name-reference rewriting, which is not implemented.
        raise _unsupported(f"generatorOptions {options}", where)
    secrets = []
    for generator in generators:
        if set(generator) - {"name", "literals"}:
            raise _unsupported(f"secretGenerator {sorted(generator)}", where)
        data = {}
        for literal in generator["literals"]:
            key, sep, value = literal.partition("=")
            assert sep and key, f"{where}: bad literal {literal!r}"
            data[key] = base64.b64encode(value.encode()).decode()
        secrets.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": generator["name"]},
                "type": "Opaque",
                "data": data,
            }
        )
    return secrets


def _apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any], where: Path) -> None:
    """Strategic-merge patch restricted to nested mappings (no list merge keys, no deletes)."""
    targets = [
        obj
        for obj in objects
        if (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])
        == (patch["apiVersion"], patch["kind"], patch["metadata"]["name"])
    ]
    assert len(targets) == 1, f"{where}: patch {patch['kind']}/{patch['metadata']['name']} matches {len(targets)}"

    def merge(into: dict[str, Any], change: dict[str, Any]) -> None:
        for key, value in change.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            elif isinstance(value, (list, dict)) or value is None or str(key).startswith("$"):
                raise _unsupported(f"patching {key!r} with {type(value).__name__}", where)
            else:
                into[key] = value

    merge(targets[0], patch)


def _set_namespace(objects: list[dict[str, Any]], namespace: str, where: Path) -> None:
    for obj in objects:
        if obj["kind"] == "Namespace":
            # kustomize leaves a Namespace object alone; only the matching one is meaningful.
            assert obj["metadata"]["name"] == namespace, f"{where}: Namespace is not {namespace!r}"
        elif obj["kind"] in NAMESPACED_KINDS:
            obj["metadata"]["namespace"] = namespace
        else:
            raise _unsupported(f"namespace transform of kind {obj['kind']}", where)


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] not in POD_TEMPLATE_KINDS:
        return []
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def _split_image(image: str) -> tuple[str, str | None]:
    assert "@" not in image, f"digests are not supported by the renderer: {image}"
    slash, colon = image.rfind("/"), image.rfind(":")
    return (image[:colon], image[colon + 1 :]) if colon > slash else (image, None)


def _set_image(objects: list[dict[str, Any]], entry: dict[str, Any], where: Path) -> None:
    if set(entry) - {"name", "newName", "newTag"}:
        raise _unsupported(f"images entry {sorted(entry)}", where)
    for obj in objects:
        for container in _containers(obj):
            name, tag = _split_image(container["image"])
            if name == entry["name"]:
                name = entry.get("newName", name)
                tag = str(entry["newTag"]) if "newTag" in entry else tag
                container["image"] = f"{name}:{tag}" if tag else name


@functools.cache
def _rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(K8S / "overlays" / overlay))


def rendered(overlay: str) -> list[dict[str, Any]]:
    return copy.deepcopy(list(_rendered(overlay)))


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
    return matches[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are checked: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def secret_refs(containers: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(env var, secret name, key) of every secretKeyRef."""
    for container in containers:
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                yield env["name"], ref["name"], ref["key"]


def env_names(container: dict[str, Any], config: dict[str, Any]) -> set[str]:
    names = {env["name"] for env in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert source == {"configMapRef": {"name": CONFIG_NAME}}, f"unexpected envFrom {source}"
        names |= set(config["data"])
    return names


# --------------------------------------------------------------------------------------------
# docker-compose.yml and the Dockerfile
# --------------------------------------------------------------------------------------------


@functools.cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def compose_service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    service: dict[str, Any] = services[name]
    return service


def test_compose_file_matches_the_compose_spec() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_compose_build_uses_the_root_dockerfile_with_an_existing_unit() -> None:
    builds = {name: svc["build"] for name, svc in compose()["services"].items() if "build" in svc}
    assert builds, "no service builds an image"
    for name, build in builds.items():
        assert (ROOT / build["context"]).resolve() == ROOT, f"{name}: build context must be the repository root"
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", f"{name}: must use the root Dockerfile"
        unit = build.get("args", {}).get("UNIT")
        assert unit, f"{name}: build arg UNIT is missing"
        assert (ROOT / unit / "pyproject.toml").is_file(), f"{name}: UNIT={unit} has no pyproject.toml"


def test_dockerfile_is_one_pattern_for_every_unit() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^ARG UNIT\b", text, re.M)
    assert re.search(r"^COPY \$\{UNIT\}/ ", text, re.M)
    assert "pip install -c constraints.txt -e libs/contracts -e libs/platform_core" in text
    assert "platform_dev" not in text, "deployed images carry no dev servers, runner or test kit"
    assert re.search(rf"^USER {APP_UID}:{APP_UID}$", text, re.M), "run as the fixed non-root uid"
    assert re.search(r'^CMD \["serve"\]$', text, re.M)
    assert (ROOT / "constraints.txt").is_file(), "the image installs with -c constraints.txt"
    assert not list(ROOT.glob("services/*/Dockerfile")) and not (ROOT / "gateway" / "Dockerfile").exists(), (
        "units are built from the root Dockerfile only"
    )


@by_unit
def test_unit_has_compose_serve_and_migrate_services(unit: Unit) -> None:
    serve = compose_service(unit.dns)
    migrate = compose_service(f"migrate-{unit.dns}")
    for service in (serve, migrate):
        assert service["build"]["args"]["UNIT"] == unit.path
        assert service["image"] == f"atrium-{unit.dns}:dev"
    assert serve["command"] == ["serve"]
    assert migrate["command"] == ["migrate"]
    assert migrate.get("restart") == "no"
    # The migrate step sees the same settings as the server, so it fails on the same mistakes.
    assert migrate["environment"] == serve["environment"]
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert serve["depends_on"][f"migrate-{unit.dns}"] == {"condition": "service_completed_successfully"}
    assert "healthcheck" in serve

    env = serve["environment"]
    assert env["ATRIUM_NATS_URL"] == "nats://nats:4222"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert re.fullmatch(rf"postgresql://[^@]+@postgres:5432/{unit.database}", env[unit.database_env])
    for callee in GRPC_UNITS:
        assert env[f"ATRIUM_{callee.name.upper()}_GRPC_ADDR"] == f"{callee.dns}:{callee.port}"
    if unit.is_gateway:
        assert env["ATRIUM_GATEWAY_HOST"] == "0.0.0.0"
        assert str(env["ATRIUM_GATEWAY_PORT"]) == str(GATEWAY_PORT)
        assert "ATRIUM_JWT_SECRET" in env
        assert f"{GATEWAY_PORT}:{GATEWAY_PORT}" in serve["ports"]
    else:
        assert env["ATRIUM_GRPC_LISTEN"] == f"0.0.0.0:{unit.port}"
        assert "ports" not in serve, "only the gateway is published"
        assert f"127.0.0.1:{unit.port}" in " ".join(serve["healthcheck"]["test"])


@by_unit
def test_unit_database_is_created_for_development(unit: Unit) -> None:
    statement = f"CREATE DATABASE {unit.database} OWNER atrium;"
    assert statement in (ROOT / "deploy" / "postgres-init.sql").read_text()
    init = find(rendered("dev"), "ConfigMap", "postgres-init")
    assert any(statement in script for script in init["data"].values())


def test_compose_infrastructure() -> None:
    postgres = compose_service("postgres")
    assert postgres["image"].startswith("postgres:16")
    assert "./deploy/postgres-init.sql:/docker-entrypoint-initdb.d/10-atrium-databases.sql:ro" in postgres["volumes"]
    nats = compose_service("nats")
    assert nats["image"].startswith("nats:2.10")
    assert nats["command"][:3] == ["-js", "-sd", "/data"]
    collector = compose_service("otel-collector")
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    config = yaml.safe_load((ROOT / "deploy" / "otel-collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert "debug" in config["exporters"]
    for pipeline in config["service"]["pipelines"].values():
        assert set(pipeline["receivers"]) <= set(config["receivers"])
        assert set(pipeline["exporters"]) <= set(config["exporters"])
    published = {name for name, svc in compose()["services"].items() if svc.get("ports")}
    assert published == {"gateway", WEB.dns}


# --------------------------------------------------------------------------------------------
# Kubernetes manifests
# --------------------------------------------------------------------------------------------


@by_overlay
def test_overlay_objects_match_the_kubernetes_schema(overlay: str) -> None:
    objects = rendered(overlay)
    assert objects
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']} at {list(error.path)}: {error.message}")
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE
    assert not errors, "\n".join(errors)


@by_overlay
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with built-in kustomize) not installed")
def test_renderer_agrees_with_kubectl_kustomize(overlay: str) -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

    def normalised(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for obj in objects:  # kustomize wraps long base64 values over several lines
            if obj["kind"] == "Secret":
                obj["data"] = {k: base64.b64decode(v) for k, v in obj["data"].items()}
        return sorted(objects, key=_identity)

    expected = [o for o in yaml.safe_load_all(result.stdout) if o]
    assert normalised(rendered(overlay)) == normalised(expected)


@by_overlay
@by_unit
def test_unit_has_deployment_service_job_hpa_and_pdb(overlay: str, unit: Unit) -> None:
    objects = rendered(overlay)
    config = find(objects, "ConfigMap", CONFIG_NAME)

    deployment = find(objects, "Deployment", unit.dns)
    assert deployment["spec"]["selector"]["matchLabels"] == unit.pod_labels
    assert selects(deployment["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    spec = pod_spec(deployment)
    assert spec["serviceAccountName"] == unit.dns
    find(objects, "ServiceAccount", unit.dns)
    (server,) = spec["containers"]
    image, tag = _split_image(server["image"])
    assert image.endswith(f"atrium/{unit.dns}") or image == f"atrium-{unit.dns}"
    assert tag and tag != "latest", f"{overlay}: {server['image']} must be pinned"
    assert server["args"] == ["serve"]
    port_name = "http" if unit.is_gateway else "grpc"
    assert server["ports"] == [{"name": port_name, "containerPort": unit.port, "protocol": "TCP"}]
    assert (unit.database_env, SECRET_NAME, unit.database_secret_key) in set(secret_refs([server]))

    if unit.is_gateway:
        assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert ("ATRIUM_JWT_SECRET", SECRET_NAME, "jwt-secret") in set(secret_refs([server]))
    else:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert server[probe]["grpc"] == {"port": unit.port}, f"{probe} must be a gRPC health probe"
        assert {"name": "ATRIUM_GRPC_LISTEN", "value": f"0.0.0.0:{unit.port}"} in server["env"]

    # Every setting compose gives the unit is also set in k8s (values differ per environment).
    compose_env = set(compose_service(unit.dns)["environment"])
    if overlay == "dev":
        compose_env.discard("OTEL_EXPORTER_OTLP_ENDPOINT")  # no collector in the dev cluster
    assert compose_env <= env_names(server, config), f"{overlay}: missing {compose_env - env_names(server, config)}"

    service = find(objects, "Service", unit.dns)
    assert service["spec"]["selector"] == unit.pod_labels
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(unit.port, port_name)]

    job = find(objects, "Job", f"migrate-{unit.dns}")
    (migrate,) = pod_spec(job)["containers"]
    assert migrate["image"] == server["image"]
    assert migrate["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert not selects({"matchLabels": unit.pod_labels}, job["spec"]["template"]["metadata"]["labels"]), (
        "migrate pods must not match the Service or the PDB"
    )
    # The migrate step gets the same secrets as the server.
    assert set(secret_refs([migrate])) == set(secret_refs([server]))

    hpa = find(objects, "HorizontalPodAutoscaler", unit.dns)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": unit.dns}
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]

    pdb = find(objects, "PodDisruptionBudget", unit.dns)
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"] == unit.pod_labels


@by_overlay
def test_every_workload_is_hardened_and_sized(overlay: str) -> None:
    for obj in rendered(overlay):
        if obj["kind"] not in POD_TEMPLATE_KINDS:
            continue
        where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        spec = pod_spec(obj)
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, where
        assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        assert spec.get("automountServiceAccountToken") is False, where
        if obj["metadata"]["labels"].get("app.kubernetes.io/name") in {u.dns for u in UNITS}:
            assert pod.get("runAsUser") == APP_UID, f"{where}: must run as the image's user"
        for container in _containers(obj):
            ctx = container.get("securityContext", {})
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("capabilities") == {"drop": ["ALL"]}, where
            assert ctx.get("privileged") in (None, False), where
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), f"{where}: requests"
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), f"{where}: limits"


@by_overlay
def test_config_and_secrets(overlay: str) -> None:
    objects = rendered(overlay)
    config = find(objects, "ConfigMap", CONFIG_NAME)
    assert config["data"]["ATRIUM_ENV"] == ("development" if overlay == "dev" else "production")
    for unit in GRPC_UNITS:
        # Through the headless Service, so clients balance calls over every replica.
        assert config["data"][f"ATRIUM_{unit.name.upper()}_GRPC_ADDR"] == f"dns:///{unit.dns}-headless:{unit.port}"
        headless = find(objects, "Service", f"{unit.dns}-headless")
        assert headless["spec"]["clusterIP"] == "None"
    assert not any(re.search("SECRET|PASSWORD|DATABASE_URL", key) for key in config["data"])

    referenced = {key for obj in objects for _, name, key in secret_refs(_containers(obj)) if name == SECRET_NAME}
    assert {u.database_secret_key for u in UNITS} | {"jwt-secret"} <= referenced
    secrets = [o for o in objects if o["kind"] == "Secret"]
    if overlay == "dev":
        (secret,) = secrets
        assert secret["metadata"]["name"] == SECRET_NAME
        assert referenced <= set(secret["data"]), f"missing keys {referenced - set(secret['data'])}"
    else:
        # Provisioned outside the repository; its keys are documented in the overlay.
        assert secrets == []
        documented = (K8S / "overlays" / "prod" / "kustomization.yaml").read_text()
        assert all(key in documented for key in referenced - {"postgres-password"})
    assert not [o for o in render(K8S / "base") if o["kind"] == "Secret"], "no secrets in base"


@by_overlay
def test_network_policies_expose_only_the_gateway(overlay: str) -> None:
    objects = rendered(overlay)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]

    default_deny = [p for p in policies if p["spec"]["podSelector"] == {} and p["spec"].get("ingress") in (None, [])]
    assert default_deny and "Ingress" in default_deny[0]["spec"]["policyTypes"], "no default-deny ingress policy"

    def open_to_anyone(rule: dict[str, Any]) -> bool:
        peers = rule.get("from")
        return not peers or any(set(peer) != {"podSelector"} or peer["podSelector"] == {} for peer in peers)

    public = [p for p in policies if any(open_to_anyone(rule) for rule in p["spec"].get("ingress", []))]
    gateway = next(u for u in UNITS if u.is_gateway)
    exposed = {
        tuple(sorted(p["spec"]["podSelector"]["matchLabels"].items())): [r["ports"] for r in p["spec"]["ingress"]]
        for p in public
    }
    assert exposed == {
        tuple(sorted(gateway.pod_labels.items())): [[{"port": GATEWAY_PORT, "protocol": "TCP"}]],
        tuple(sorted(WEB_LABELS.items())): [[{"port": WEB_PORT, "protocol": "TCP"}]],
    }, "only the gateway's and the web unit's pods may accept ingress from anywhere, on their HTTP port"

    for unit in GRPC_UNITS:
        allowed = [
            rule
            for p in policies
            if selects(p["spec"]["podSelector"], unit.pod_labels) and p["spec"]["podSelector"] != {}
            for rule in p["spec"].get("ingress", [])
        ]
        assert unit.name in CALLERS, f"add the units that call {unit.name} to CALLERS"
        callers = set()
        for rule in allowed:
            assert [port["port"] for port in rule["ports"]] == [unit.port], f"{unit.name}: only its gRPC port"
            for peer in rule["from"]:
                matched = {u.name for u in UNITS if selects(peer["podSelector"], u.pod_labels)}
                assert matched, f"{unit.name}: ingress from {peer} matches no unit"
                callers |= matched
        assert callers == CALLERS[unit.name], f"{overlay}: {unit.name} reachable from {sorted(callers)}"


# --------------------------------------------------------------------------------------------
# The web unit: deployed like the others, public behind the same Ingress, calling only the gateway
# --------------------------------------------------------------------------------------------


def test_web_has_a_compose_service_that_reaches_only_the_gateway() -> None:
    web = compose_service(WEB.dns)
    assert web["build"]["args"] == {"UNIT": "web", "MODULE": "atrium_web"}
    assert web["image"] == "atrium-web:dev"
    assert web["command"] == ["serve"]
    assert f"migrate-{WEB.dns}" not in compose()["services"], "no database, so no migrate step"
    env = web["environment"]
    assert env["ATRIUM_WEB_GATEWAY_URL"] == f"http://gateway:{GATEWAY_PORT}"
    assert str(env["ATRIUM_WEB_PORT"]) == str(WEB_PORT) and env["ATRIUM_WEB_HOST"] == "0.0.0.0"
    assert "ATRIUM_WEB_SESSION_SECRET" in env
    assert not [k for k in env if k.endswith(("_GRPC_ADDR", "_DATABASE_URL")) or k in ("ATRIUM_NATS_URL",)]
    assert web["depends_on"]["gateway"] == {"condition": "service_healthy"}
    assert f"{WEB_PORT}:{WEB_PORT}" in web["ports"]
    assert f"127.0.0.1:{WEB_PORT}/readyz" in " ".join(web["healthcheck"]["test"])
    # The invitation links the gateway writes lead to the web unit's pages.
    assert compose_service("gateway")["environment"]["ATRIUM_PUBLIC_URL"] == f"http://localhost:{WEB_PORT}"


@by_overlay
def test_web_has_deployment_service_hpa_pdb_and_no_job(overlay: str) -> None:
    objects = rendered(overlay)
    deployment = find(objects, "Deployment", WEB.dns)
    assert deployment["spec"]["selector"]["matchLabels"] == WEB_LABELS
    assert "replicas" not in deployment["spec"]
    spec = pod_spec(deployment)
    assert spec["serviceAccountName"] == WEB.dns and spec["securityContext"]["runAsUser"] == APP_UID
    (server,) = spec["containers"]
    image, tag = _split_image(server["image"])
    assert image.endswith("atrium/web") or image == "atrium-web"
    assert tag and tag != "latest"
    assert server["args"] == ["serve"]
    assert server["ports"] == [{"name": "http", "containerPort": WEB_PORT, "protocol": "TCP"}]
    assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "ATRIUM_WEB_GATEWAY_URL", "value": f"http://gateway:{GATEWAY_PORT}"} in server["env"]
    assert set(secret_refs([server])) == {("ATRIUM_WEB_SESSION_SECRET", SECRET_NAME, "web-session-secret")}
    service = find(objects, "Service", WEB.dns)
    assert service["spec"]["selector"] == WEB_LABELS
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(WEB_PORT, "http")]
    assert find(objects, "HorizontalPodAutoscaler", WEB.dns)["spec"]["minReplicas"] >= 2
    assert find(objects, "PodDisruptionBudget", WEB.dns)["spec"]["selector"]["matchLabels"] == WEB_LABELS
    assert not [o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == f"migrate-{WEB.dns}"]
    secrets = [o for o in objects if o["kind"] == "Secret"]
    if overlay == "dev":
        assert "web-session-secret" in secrets[0]["data"]
    else:
        assert "web-session-secret" in (K8S / "overlays" / "prod" / "kustomization.yaml").read_text()


@by_overlay
def test_one_ingress_serves_the_api_and_feeds_from_the_gateway_and_pages_from_web(overlay: str) -> None:
    objects = rendered(overlay)
    (ingress,) = [o for o in objects if o["kind"] == "Ingress"]
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: (p["pathType"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]}
    assert routes == {"/api": ("Prefix", "gateway"), "/ical": ("Prefix", "gateway"), "/": ("Prefix", WEB.dns)}


@by_overlay
def test_web_may_call_only_the_gateway(overlay: str) -> None:
    policies = [o for o in rendered(overlay) if o["kind"] == "NetworkPolicy"]
    egress = [
        p for p in policies if "Egress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], WEB_LABELS)
    ]
    assert len(egress) == 1, "one egress policy for the web unit"
    rules = egress[0]["spec"]["egress"]
    gateway = next(u for u in UNITS if u.is_gateway)
    reachable = set()
    for rule in rules:
        for peer in rule["to"]:
            if "namespaceSelector" in peer:  # the cluster's DNS, on port 53 only
                assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
                assert {p["port"] for p in rule["ports"]} == {53}
                continue
            reachable |= {u.name for u in [*UNITS, WEB] if selects(peer["podSelector"], u.pod_labels)}
            assert [p["port"] for p in rule["ports"]] == [GATEWAY_PORT]
    assert reachable == {gateway.name}
