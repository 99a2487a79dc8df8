"""Structural promises of the production-shaped stack (docker-compose.yml and what it mounts).

No Docker here: these tests read the files. `docker-compose --env-file infra/compose.env.example
-f docker-compose.yml config -q` checks the same file against the Compose schema.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "infra" / "compose.env.example"
PROMETHEUS = ROOT / "infra" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "infra" / "grafana"
DOCKERFILE = ROOT / "Dockerfile"

PROJECT_SERVICES = (
    "topics-init",
    "db-migrate",
    "worker",
    "sink",
    "api",
    "webhooks",
    "webhook-delivery",
)
LONG_RUNNING = ("worker", "sink", "api", "webhooks", "webhook-delivery")
METRICS_PORT = "9100"
# Where each long-running process serves /metrics: the worker and the sink on
# COBRANCA_METRICS_PORT, the HTTP servers on their own port.
METRICS_PORT_SETTING = {
    "worker": "COBRANCA_METRICS_PORT",
    "sink": "COBRANCA_METRICS_PORT",
    "api": "COBRANCA_API_PORT",
    "webhooks": "COBRANCA_WEBHOOK_PORT",
    "webhook-delivery": "COBRANCA_METRICS_PORT",
}
# The Prometheus job of each, named like the service but for the API's: its job keeps the name
# `imports`, which the alert rules and dashboards use (the API is the process serving imports).
JOB_OF = {"api": "imports"}

# A variable holds a secret when its name ends like one; WAHA_API_KEY_EXCLUDE_PATH does not.
SECRET_NAME = re.compile(r"(PASSWORD|_KEY|SECRET|TOKEN)$")
REQUIRED_REF = re.compile(r"^\$\{(?P<name>[A-Z][A-Z0-9_]*):\?[^}]*\}$")
ANY_REF = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?::?[-?+][^}]*)?\}")


def _load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: top level is not a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs = compose["services"]
    assert isinstance(svcs, dict)
    return svcs


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {p[0]: (p[1] if len(p) > 1 else "") for p in pairs}
    return {str(k): str(v) for k, v in env.items()}


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{ENV_EXAMPLE.name}: not NAME=value: {raw!r}"
        values[name.strip()] = value.strip()
    return values


def test_expected_services_exist(services: dict[str, dict[str, Any]]) -> None:
    expected = {"kafka", "clickhouse", "waha", "prometheus", "grafana", *PROJECT_SERVICES}
    assert expected <= set(services), f"missing: {sorted(expected - set(services))}"


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        image = svc.get("image")
        assert image, f"{name}: no image (a build also needs an image: name:tag)"
        last = str(image).rsplit("/", 1)[-1]
        assert ":" in last or "@sha256:" in str(image), f"{name}: {image} has no tag"
        tag = last.split(":", 1)[1] if ":" in last else ""
        assert tag not in {"latest", "stable", "main", "master", "edge"}, f"{name}: {image}"
        assert "${" not in tag or ":-" in tag, f"{name}: {image} tag has no default"


def test_third_party_images(services: dict[str, dict[str, Any]]) -> None:
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert services["waha"]["image"].startswith("devlikeapro/waha:")
    assert services["prometheus"]["image"].startswith("prom/prometheus:v")
    assert services["grafana"]["image"].startswith("grafana/grafana:")


def test_published_ports_bind_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for port in svc.get("ports") or []:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port!r} is not on 127.0.0.1"


def test_kafka_is_single_node_kraft(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = _environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_NODE_ID"] == "1"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert not any("ZOOKEEPER" in k for k in env), "ZooKeeper settings in a KRaft broker"

    listeners = dict(entry.split("://", 1) for entry in env["KAFKA_LISTENERS"].split(","))
    assert listeners["PLAINTEXT"].endswith(":9092")
    assert listeners["CONTROLLER"].endswith(":9093")
    advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "PLAINTEXT://kafka:9092" in advertised
    assert not any(a.startswith("CONTROLLER://") for a in advertised)
    protocols = dict(
        p.split(":", 1) for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(listeners) <= set(protocols)

    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", f"{key}={env.get(key)!r}: a one-broker cluster needs 1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert any(str(v).endswith(":/var/lib/kafka/data") for v in kafka["volumes"])
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert "kafka-broker-api-versions.sh" in str(kafka["healthcheck"]["test"])


def test_clickhouse(services: dict[str, dict[str, Any]]) -> None:
    ch = services["clickhouse"]
    assert ch["ulimits"]["nofile"]["soft"] >= 262144
    assert "/ping" in str(ch["healthcheck"]["test"])
    assert any(str(v).endswith(":/var/lib/clickhouse") for v in ch["volumes"])


def test_waha_posts_signed_webhooks_to_the_receiver(services: dict[str, dict[str, Any]]) -> None:
    waha = services["waha"]
    env = _environment(waha)
    assert env["WHATSAPP_HOOK_URL"] == "http://webhooks:8080/webhooks/waha"
    assert env["WHATSAPP_HOOK_EVENTS"].split(",") == ["message", "message.ack", "session.status"]
    assert REQUIRED_REF.match(env["WHATSAPP_HOOK_HMAC_KEY"])
    assert REQUIRED_REF.match(env["WAHA_API_KEY"])
    assert "WEBJS" in env["WHATSAPP_DEFAULT_ENGINE"]
    assert any(str(v).endswith(":/app/.sessions") for v in waha["volumes"])

    # The project gets WAHA's HMAC key for the receiver; the worker sends the key WAHA expects.
    worker = _environment(services["worker"])
    assert worker["WAHA_HMAC_KEY"] == env["WHATSAPP_HOOK_HMAC_KEY"]
    assert worker["WAHA_API_KEY"] == env["WAHA_API_KEY"]


def test_project_services_share_one_build(services: dict[str, dict[str, Any]]) -> None:
    first = services[PROJECT_SERVICES[0]]
    assert first.get("build"), "project services are built from ./Dockerfile"
    for name in PROJECT_SERVICES:
        svc = services[name]
        assert svc.get("build") == first["build"], f"{name}: a different build"
        assert svc.get("image") == first["image"], f"{name}: a different image tag"
        command = svc["command"]
        argv = command if isinstance(command, list) else str(command).split()
        assert argv[0] == "cobranca", f"{name}: {command!r}"
    for name, svc in services.items():
        if name not in PROJECT_SERVICES:
            assert "build" not in svc, f"{name}: third-party services use published images"


def test_project_service_commands(services: dict[str, dict[str, Any]]) -> None:
    def argv(name: str) -> list[str]:
        command = services[name]["command"]
        return command if isinstance(command, list) else str(command).split()

    assert argv("topics-init") == ["cobranca", "topics", "create"]
    assert argv("db-migrate") == ["cobranca", "db", "migrate"]
    assert argv("worker") == ["cobranca", "worker"]
    assert argv("sink") == ["cobranca", "sink"]
    assert argv("webhook-delivery") == ["cobranca", "webhooks", "deliver"]


def test_the_webhook_receiver_service(services: dict[str, dict[str, Any]]) -> None:
    webhooks = services["webhooks"]
    assert webhooks["command"] == ["cobranca", "waha", "receive"]
    assert webhooks["image"] == services["worker"]["image"]
    env = _environment(webhooks)
    assert env["COBRANCA_WEBHOOK_PORT"] == "8080"  # WAHA posts to webhooks:8080
    assert env["COBRANCA_WEBHOOK_HOST"] == "0.0.0.0"
    assert env["WAHA_HMAC_KEY"] == _environment(services["waha"])["WHATSAPP_HOOK_HMAC_KEY"]
    assert env["COBRANCA_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "ports" not in webhooks, "WAHA reaches it on the compose network"
    assert "/healthz" in str(webhooks["healthcheck"]["test"])
    deps = webhooks["depends_on"]
    assert deps["topics-init"]["condition"] == "service_completed_successfully"
    jobs = {job["job_name"]: job for job in _load_yaml(PROMETHEUS)["scrape_configs"]}
    assert [t for sc in jobs["webhooks"]["static_configs"] for t in sc["targets"]] == [
        "webhooks:8080"
    ]


def test_project_service_commands_exist_in_the_cli(services: dict[str, dict[str, Any]]) -> None:
    import click

    from streams.ops.cli import main

    for name in PROJECT_SERVICES:
        command = services[name]["command"]
        words = command[1:] if isinstance(command, list) else str(command).split()[1:]
        group: click.Command = main
        for word in words:
            if word.startswith("-") or not isinstance(group, click.Group):
                break
            found = group.get_command(click.Context(group), word)
            assert found is not None, f"{name}: `cobranca {' '.join(words)}` is not a command"
            group = found


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    def condition(name: str, dependency: str) -> str:
        deps = services[name]["depends_on"]
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions"
        return str(deps[dependency]["condition"])

    assert condition("topics-init", "kafka") == "service_healthy"
    assert condition("db-migrate", "clickhouse") == "service_healthy"
    for name in LONG_RUNNING:
        assert condition(name, "topics-init") == "service_completed_successfully"
    for name in ("topics-init", "db-migrate"):
        assert services[name].get("restart") in (None, "no"), f"{name} runs once"
    # The sink writes into tables the migrations create, from topics topics-init creates.
    assert condition("sink", "topics-init") == "service_completed_successfully"
    assert condition("sink", "db-migrate") == "service_completed_successfully"
    assert services["sink"]["restart"] == "unless-stopped"


def test_project_environment(services: dict[str, dict[str, Any]]) -> None:
    for name in PROJECT_SERVICES:
        env = _environment(services[name])
        assert env["COBRANCA_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["CLICKHOUSE_URL"] == "http://clickhouse:8123"
        assert env["WAHA_URL"] == "http://waha:3000"
        assert env["COBRANCA_DATA_DIR"] == "/var/lib/cobranca"
        assert env["COBRANCA_LOG_FORMAT"] == "json"
        assert env["COBRANCA_METRICS_PORT"] == METRICS_PORT
        assert "CLICKHOUSE_DATABASE" in env


def test_no_literal_secrets(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, svc in services.items():
        for key, value in _environment(svc).items():
            if SECRET_NAME.search(key):
                checked += 1
                assert REQUIRED_REF.match(value), (
                    f"{name}.{key}={value!r}: a secret must be a required ${{VAR:?message}} "
                    "reference, with no default"
                )
    assert checked >= 8


def test_env_example_covers_every_variable() -> None:
    lines = COMPOSE.read_text(encoding="utf-8").splitlines()
    text = "\n".join(ln for ln in lines if not ln.lstrip().startswith("#"))
    referenced = {m.group("name") for m in ANY_REF.finditer(text)}
    example = _env_example()
    assert referenced == set(example), (
        f"missing from {ENV_EXAMPLE.name}: {sorted(referenced - set(example))}; "
        f"unused: {sorted(set(example) - referenced)}"
    )
    required = {m.group(1) for m in re.finditer(r"\$\{([A-Z0-9_]+):\?", text)}
    assert required, "no required variables"
    for name in required:
        assert example[name].startswith("change-me"), f"{name}: the example holds a real value?"


def test_volumes_are_declared_and_bind_mounts_exist(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for volume in svc.get("volumes") or []:
            source = str(volume).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source} is not in the repository"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_prometheus_scrapes_every_long_running_service(
    services: dict[str, dict[str, Any]],
) -> None:
    config = _load_yaml(PROMETHEUS)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(METRICS_PORT_SETTING) == set(LONG_RUNNING)
    for name in LONG_RUNNING:
        job = jobs[JOB_OF.get(name, name)]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        port = _environment(services[name])[METRICS_PORT_SETTING[name]]
        assert targets == [f"{name}:{port}"], f"{name} listens on {port}"
        if METRICS_PORT_SETTING[name] == "COBRANCA_METRICS_PORT":
            # prometheus_client's endpoint binds loopback unless told otherwise.
            assert _environment(services[name])["COBRANCA_METRICS_HOST"] == "0.0.0.0"
    # Every project service that runs until stopped is scraped.
    long_running = {
        name for name in PROJECT_SERVICES if services[name].get("restart") not in (None, "no")
    }
    assert long_running == set(LONG_RUNNING)


def test_every_scrape_target_is_a_compose_service(services: dict[str, dict[str, Any]]) -> None:
    config = _load_yaml(PROMETHEUS)
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                if job["job_name"] == "prometheus":
                    assert host == "localhost"
                    continue
                assert host in services, f"job {job['job_name']}: no compose service {host}"
                assert port.isdigit()


def test_prometheus_loads_the_alert_rules(services: dict[str, dict[str, Any]]) -> None:
    config = _load_yaml(PROMETHEUS)
    mounts = [str(v) for v in services["prometheus"]["volumes"]]
    assert "./infra/prometheus/rules:/etc/prometheus/rules:ro" in mounts
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert list((ROOT / "infra" / "prometheus" / "rules").glob("*.yml"))


def test_grafana_provisioning() -> None:
    datasources = _load_yaml(GRAFANA / "provisioning" / "datasources" / "datasources.yml")
    by_uid = {ds["uid"]: ds for ds in datasources["datasources"]}
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    clickhouse = by_uid["clickhouse"]
    assert clickhouse["type"] == "grafana-clickhouse-datasource"
    password = clickhouse["secureJsonData"]["password"]
    assert re.fullmatch(r"\$\{?[A-Z_]+\}?", password), "the password comes from the environment"
    # Grafana reads ClickHouse as the read-only login of migration 0012, never as the writer.
    assert clickhouse["jsonData"]["username"] == "${CLICKHOUSE_READER_USER}"
    assert password == "${CLICKHOUSE_READER_PASSWORD}"

    providers = _load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")
    assert providers["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"

    dashboard = json.loads((GRAFANA / "dashboards" / "cobranca-overview.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    used = {t["datasource"]["uid"] for p in panels for t in p["targets"]}
    assert used == set(by_uid), f"panels use {used}"
    sql = [t["rawSql"] for p in panels for t in p["targets"] if "rawSql" in t]
    assert any("raw_events" in q and "topic" in q for q in sql)


def test_grafana_installs_the_clickhouse_plugin(services: dict[str, dict[str, Any]]) -> None:
    env = _environment(services["grafana"])
    assert "CLICKHOUSE_PASSWORD" not in env, "Grafana must not hold the writer's password"
    assert REQUIRED_REF.match(env["CLICKHOUSE_READER_PASSWORD"])
    assert (
        env["CLICKHOUSE_READER_PASSWORD"]
        == _environment(services["db-migrate"])["CLICKHOUSE_READER_PASSWORD"]
    )
    assert "grafana-clickhouse-datasource" in env["GF_INSTALL_PLUGINS"]
    assert REQUIRED_REF.match(env["GF_SECURITY_ADMIN_PASSWORD"])


def test_dockerfile_runs_as_non_root() -> None:
    lines = [ln.strip() for ln in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert froms and all(ln.split()[1] == "python:3.11-slim" for ln in froms)
    users = [ln.split()[1] for ln in lines if ln.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert any("pip install --no-deps ." in ln for ln in lines)


def test_the_api_serves_imports(services: dict[str, dict[str, Any]]) -> None:
    assert "imports" not in services, "imports are the API's (cobranca api serve)"
    api = services["api"]
    assert api["command"] == ["cobranca", "api", "serve"]
    assert api["depends_on"]["topics-init"]["condition"] == "service_completed_successfully"
    env = _environment(api)
    assert env["COBRANCA_API_HOST"] == "0.0.0.0"
    assert f"127.0.0.1:{env['COBRANCA_API_PORT']}:8080" in api["ports"]
    # The signing keys outlive the container: on its volume, so tokens survive a restart.
    keys = env["COBRANCA_API_SIGNING_KEYS"]
    mounts = [str(v).split(":")[1] for v in api["volumes"]]
    assert any(keys.startswith(mount.rstrip("/") + "/") for mount in mounts), (keys, mounts)
    assert "COBRANCA_IMPORTS_MAX_BYTES" in env
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert f":{env['COBRANCA_API_PORT']}/healthz" in " ".join(api["healthcheck"]["test"])


def test_kafka_ui_reads_the_topics_through_the_registry_api(
    services: dict[str, dict[str, Any]],
) -> None:
    ui = services["kafka-ui"]
    assert ui["image"].startswith("provectuslabs/kafka-ui:v")
    assert ui["profiles"] == ["tools"], "optional: started with --profile tools"
    env = _environment(ui)
    api_port = _environment(services["api"])["COBRANCA_API_PORT"]
    assert env["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"] == f"http://api:{api_port}/registry"
    assert env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == "kafka:9092"
    assert env["KAFKA_CLUSTERS_0_READONLY"] == "true"
    assert ui["depends_on"]["api"]["condition"] == "service_healthy"


# --- the 3-node cluster overlay (docker-compose.cluster.yml) -----------------------------------

CLUSTER = ROOT / "docker-compose.cluster.yml"
NODES = ("kafka", "kafka-2", "kafka-3")
THREE = "kafka:9092,kafka-2:9092,kafka-3:9092"


def _overlaid(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services as Compose merges an overlay: keys replaced, `environment` merged."""
    merged = {name: dict(service) for name, service in base["services"].items()}
    for name, service in overlay["services"].items():
        target = merged.setdefault(name, {})
        for key, value in service.items():
            if key == "environment":
                target[key] = {**_environment(target), **_environment(service)}
            else:
                target[key] = value
    return merged


def test_the_cluster_overlay_runs_three_nodes_with_the_same_settings(
    compose: dict[str, Any],
) -> None:
    overlay = _load_yaml(CLUSTER)
    services = _overlaid(compose, overlay)
    envs = {name: _environment(services[name]) for name in NODES}
    assert [envs[n]["KAFKA_NODE_ID"] for n in NODES] == ["1", "2", "3"]
    assert {services[n].get("image") for n in NODES} == {services["kafka"]["image"]}
    per_node = {"KAFKA_NODE_ID", "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS"}
    shared = [{k: v for k, v in env.items() if k not in per_node} for env in envs.values()]
    assert shared[0] == shared[1] == shared[2]  # the same settings on every node
    settings = shared[0]
    assert settings["KAFKA_CONTROLLER_QUORUM_VOTERS"] == (
        "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
    )
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_DEFAULT_REPLICATION_FACTOR",
    ):
        assert settings[key] == "3", key
    assert settings["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
    assert settings["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    external = [env["KAFKA_ADVERTISED_LISTENERS"].split("EXTERNAL://")[1] for env in envs.values()]
    assert external == ["127.0.0.1:19092", "127.0.0.1:19094", "127.0.0.1:19096"]
    for node in ("kafka-2", "kafka-3"):
        assert services[node]["profiles"] == ["cluster"]
        (volume,) = services[node]["volumes"]
        assert volume.split(":")[0] in overlay["volumes"]
    for name in (*LONG_RUNNING, "topics-init"):
        assert _environment(services[name])["COBRANCA_KAFKA_BOOTSTRAP"] == THREE, name


@pytest.mark.parametrize("overlays", [(), (CLUSTER,)], ids=["single", "cluster"])
def test_docker_compose_accepts_the_files(overlays: tuple[Path, ...]) -> None:
    import shutil
    import subprocess

    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose is not installed (infra/bootstrap.sh installs it as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the compose files must be validated)")
        pytest.skip(message)
    files = [arg for path in (COMPOSE, *overlays) for arg in ("-f", str(path))]
    done = subprocess.run(
        [binary, "--env-file", str(ENV_EXAMPLE), *files, "--profile", "cluster", "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
