"""docker-compose.monitoring.yml run natively, the closest to `docker compose up` without a Docker
engine: compose_native.py starts a service from its own definition as Docker would.

Proven natively, for prometheus, alertmanager, alert-webhook and postgres (FIRST_SET; zookeeper,
kafka and roas-generator in test_compose_native_kafka.py, KAFKA_SET):
- each starts from its own definition (entrypoint/command, environment, bind mounts and volumes
  at their container paths, the image's user), in network, UTS, PID and mount namespaces of its
  own, so its `localhost`, its ports and its PID 1 are its own, as in its container, on the stack's compose
  network where every container resolves the others by service name;
- its own healthcheck, run inside it as Docker runs it (CMD or CMD-SHELL, the container's
  environment and user, interval, timeout, retries), turns healthy; and the runner tells a failing
  one as failing (a broken config, nothing listening, a probe that hangs);
- depends_on holds: a dependency of the set is healthy before its dependent starts, and every
  dependency in the file names a service that has what its condition needs;
- PostgreSQL's first start runs the image's entrypoint steps, and the demo user reads the tables
  the mounted init SQL creates, the sink table of roas.sql among them.

Not proven here, and why:
- the other services (NOT_RUNNABLE): no native stand-in for their images (Schema Registry,
  kafka-exporter, Flink, Grafana, the build one-shots); fetch-jars is stood in for (ONE_SHOTS: the JMX
  agent it downloads is put in the jars volume);
- Prometheus alerting and Alertmanager posting to alert-webhook by service name (test_alerting.py
  runs that path on 127.0.0.1); Prometheus scraping by service name is proven on kafka and
  zookeeper (test_compose_native_kafka.py);
- the images themselves: Debian's programs stand in (Prometheus 2.42 for 2.54.1, PostgreSQL 15
  for 16.4; compose_images.IMAGES says why each is faithful), on a compressed clock (probes at
  most 2 s apart, with Docker's retries), so a service must come up faster here than Docker needs.
"""
import copy
import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from compose_images import ONE_SHOTS
from compose_native import compose_up, healthcheck, not_runnable, running, workspace
from stack import ALERTS_YML, PROVISIONING, ROOT, depends_on, environment, interpolate, load_yaml, volumes

FIRST_SET = ["prometheus", "alertmanager", "alert-webhook", "postgres"]
KAFKA_SET = ["zookeeper", "kafka", "roas-generator"]  # test_compose_native_kafka.py
# Every other service but the ONE_SHOTS stood in for, with why it does not run here.
NOT_RUNNABLE = {
    "plugin-build": "the Rust image building both plugins (cargo xtask dist builds them here)",
    "schema-registry": "Confluent Platform's Schema Registry image: Schema Registry is not on Maven "
                       "Central, so no native one (test_schema_registry_agent.py makes its MBeans)",
    "kafka-exporter": "no native kafka_exporter",
    "build-udf": "the Maven image (test_compose.py builds the same pom natively)",
    "flink-jobmanager": "the Flink image: its JVM not run from its definition yet (the config its "
                        "entrypoint writes from FLINK_PROPERTIES is, test_flink_image.py); the bed "
                        "runs Flink natively",
    "flink-taskmanager": "the Flink image, and it waits for the JobManager",
    "flink-sql-job": "the Flink image, and it waits for Flink",
    "grafana": "Grafana's image; no native Grafana here",
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def stack(compose):
    with compose_up(compose, FIRST_SET) as stack:
        yield stack


@pytest.fixture
def scratch():
    with workspace() as path:
        yield path


def remount(service, target, source):
    """A copy of the service with `source` mounted read-only at `target`, in place of its own."""
    service = copy.deepcopy(service)
    kept = [v for v in service.get("volumes", []) if next(volumes({"volumes": [v]})).target != target]
    service["volumes"] = kept + [f"{source}:{target}:ro"]
    return service


def init_sql(service):
    """The host files the service mounts as /docker-entrypoint-initdb.d/*.sql, in their order."""
    return [ROOT / m.source for m in sorted(volumes(service), key=lambda m: m.target)
            if re.fullmatch(r"/docker-entrypoint-initdb\.d/[^/]+\.sql", m.target)]


@pytest.mark.parametrize("name", FIRST_SET)
def test_each_service_turns_healthy_by_its_own_healthcheck(stack, name):
    container = stack.started(name)
    health = container.health()
    assert health.status == "healthy", f"{name}: {health}\n{container.logs()[-3000:]}"
    assert container.running(), f"{name} exited after turning healthy:\n{container.logs()[-3000:]}"


def test_prometheus_runs_the_mounted_config_and_the_services_flags(stack):
    prometheus = stack.started("prometheus")
    code, out = prometheus.exec(["wget", "-qO-", "http://localhost:9090/api/v1/rules"], timeout=10)
    assert code == 0, out
    served = {group["name"] for group in json.loads(out)["data"]["groups"]}
    assert served == {group["name"] for group in load_yaml(ALERTS_YML)["groups"]}
    code, out = prometheus.exec(["wget", "-qO-", "http://localhost:9090/api/v1/status/flags"], timeout=10)
    assert code == 0 and json.loads(out)["data"]["storage.tsdb.retention.time"] == "2d", out


def test_alertmanager_routes_by_the_mounted_config(stack):
    code, out = stack.started("alertmanager").exec(["wget", "-qO-", "http://localhost:9093/api/v2/status"], timeout=10)
    assert code == 0, out
    served = yaml.safe_load(json.loads(out)["config"]["original"])
    provisioned = load_yaml(PROVISIONING / "alertmanager" / "alertmanager.yml")
    assert served["route"]["receiver"] == provisioned["route"]["receiver"]
    assert [r["name"] for r in served["receivers"]] == [r["name"] for r in provisioned["receivers"]]
    assert len(served["inhibit_rules"]) == len(provisioned["inhibit_rules"])


def test_a_broken_config_is_told_not_healthy(compose, scratch):
    """Prometheus exits on a config it cannot parse: no verdict of healthy, the exit told."""
    config = scratch / "prometheus"
    shutil.copytree(PROVISIONING / "prometheus", config)
    (config / "prometheus.yml").write_text("scrape_configs: [\n")
    with running("prometheus", remount(compose["services"]["prometheus"], "/etc/prometheus", config), scratch) as prometheus:
        health = prometheus.health()
    assert health.status == "exited", health
    assert "prometheus.yml" in prometheus.logs(), prometheus.logs()


class Ready(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_nothing_listening_in_the_container_is_unhealthy_after_its_retries(compose, scratch):
    """The prometheus healthcheck in a container where nothing listens fails `retries` times,
    while the host itself answers on 127.0.0.1:9090: the container's localhost is its own."""
    try:
        host = ThreadingHTTPServer(("127.0.0.1", 9090), Ready)
    except OSError:
        host = None  # the host has a listener on 9090 already, which is as good
    if host:
        threading.Thread(target=host.serve_forever, daemon=True).start()
    service = {**compose["services"]["prometheus"], "entrypoint": ["/bin/sleep", "120"], "command": []}
    try:
        with running("prometheus", service, scratch, max_interval=0.1) as container:
            health = container.health()
    finally:
        if host:
            host.shutdown()
            host.server_close()
    assert health.status == "unhealthy", health
    assert len(health.probes) == healthcheck(service["healthcheck"]).retries, health.probes
    assert all(probe.code not in (0, None) for probe in health.probes), health.probes


def test_a_probe_that_hangs_fails_at_its_timeout(compose, scratch):
    check = {"test": ["CMD", "/bin/sleep", "30"], "interval": "1s", "timeout": "500ms", "retries": 2}
    service = {**compose["services"]["prometheus"], "entrypoint": ["/bin/sleep", "120"], "command": [],
               "healthcheck": check}
    with running("prometheus", service, scratch, max_interval=0.1) as container:
        health = container.health()
        assert health.status == "unhealthy" and [p.code for p in health.probes] == [None, None], health
        assert health.at - container.started_at < 10, health


def test_healthchecks_read_as_docker_reads_them():
    assert healthcheck({"test": ["CMD-SHELL", "pg_isready -U demo"]}).argv == ["/bin/sh", "-c", "pg_isready -U demo"]
    assert healthcheck({"test": "wget -q x"}).argv == ["/bin/sh", "-c", "wget -q x"]
    assert healthcheck({"test": ["CMD", "python", "-c", "x"]}).argv == ["python", "-c", "x"]
    assert healthcheck({"test": ["NONE"]}).argv is None and healthcheck({"disable": True, "test": "x"}).argv is None
    assert healthcheck({"test": "x"})[1:] == (30.0, 30.0, 3, 0.0)  # Docker's defaults
    assert healthcheck({"test": "x", "interval": "1m30s", "timeout": "500ms", "retries": 12})[1:] == (90.0, 0.5, 12, 0.0)


def test_environment_and_dollars_read_as_compose_reads_them(compose):
    host = {"FROM_HOST": "h"}
    listed = {"environment": ["A=1", "B=x=y", "FROM_HOST", "MISSING"]}
    assert environment(listed, host) == {"A": "1", "B": "x=y", "FROM_HOST": "h"}
    mapped = interpolate({"environment": {"N": 50, "D": "$$(grep x)", "V": "${FROM_HOST}-${NONE:-d}"}}, host)
    assert environment(mapped, host) == {"N": "50", "D": "$(grep x)", "V": "h-d"}
    # The shell of kafka-exporter's entrypoint gets the `$(...)` that `$$(...)` stands for.
    assert "exec /bin/kafka_exporter $(grep" in interpolate(compose["services"]["kafka-exporter"])["entrypoint"][-1]


def test_every_dependency_is_a_service_with_what_its_condition_needs(compose):
    services = compose["services"]
    for name, service in services.items():
        for dep, condition in depends_on(service).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert condition in CONDITIONS, f"{name} waits for {dep} to be {condition}"
            if condition == "service_healthy":
                assert healthcheck(services[dep].get("healthcheck")).argv, \
                    f"{name} waits for {dep}'s health, and {dep} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[dep].get("restart", "no") in ("no", "on-failure"), \
                    f"{name} waits for {dep} to complete, which restarts forever"


def test_every_service_runs_here_or_is_listed_with_why(compose):
    found, runs = not_runnable(compose), FIRST_SET + KAFKA_SET
    groups = [set(runs), set(ONE_SHOTS), set(NOT_RUNNABLE)]
    assert set.union(*groups) == set(compose["services"]) and sum(map(len, groups)) == len(compose["services"])
    assert not set(runs) & set(found), {name: found[name] for name in runs if name in found}
    assert set(found) == set(NOT_RUNNABLE), found
    # The runner says why from the definition alone: no stand-in for the image, or a dependency with none.
    assert all(found.values()) and "no native stand-in" in found["flink-jobmanager"], found


def test_the_first_sets_dependencies_are_healthy_before_it_starts(compose, stack):
    wanted = []
    for name in FIRST_SET:
        for dep, condition in depends_on(compose["services"][name]).items():
            if dep not in FIRST_SET:
                assert dep in NOT_RUNNABLE, f"{name} waits for {dep}, which is in neither list"
                continue
            wanted.append((name, dep, condition))
            container = stack.started(name)
            if condition == "service_healthy":
                health = stack.started(dep).health()
                assert health.status == "healthy" and health.at <= container.started_at, \
                    f"{name} started at {container.started_at}, {dep}: {health} at {health.at}"
    assert wanted, "the first set has a dependency to wait for (alertmanager on alert-webhook)"
    assert sorted(w[:3] for w in stack.waited) == sorted(wanted), stack.waited


def test_the_demo_user_reads_the_tables_the_init_sql_creates(compose, stack):
    service = compose["services"]["postgres"]
    env, scripts = environment(service), init_sql(service)
    tables = [t for path in scripts for t in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", path.read_text(), re.I)]
    assert tables, f"no CREATE TABLE in {scripts}"
    sink = re.search(r"'table-name' = '(\w+)'", (PROVISIONING / "demo" / "roas.sql").read_text()).group(1)
    assert sink in tables, f"roas.sql writes to {sink}, which the init SQL does not create"
    postgres = stack.started("postgres")
    # The server itself starts after the init, as its log tells.
    done = postgres.wait_log("PostgreSQL init process complete", timeout=60)
    postgres.wait_log("database system is ready to accept connections", timeout=30, after=done)
    # To the container's address on its network, with the password, as the Flink job's JDBC sink
    # connects from its own container (from localhost, initdb's pg_hba.conf trusts anyone).
    psql = ["psql", "-h", postgres.address, "-U", env["POSTGRES_USER"], "-d", env["POSTGRES_DB"], "-tAc"]
    for table in tables:
        code, out = postgres.exec(psql + [f"SELECT count(*) FROM {table}"], timeout=10,
                                  env={"PGPASSWORD": env["POSTGRES_PASSWORD"]})
        assert (code, out.strip()) == (0, "0"), out
    code, out = postgres.exec(psql + ["SELECT 1"], timeout=10, env={"PGPASSWORD": "not-" + env["POSTGRES_PASSWORD"]})
    assert code != 0 and "password authentication failed" in out, out


def test_postgres_turns_healthy_only_once_it_serves_its_dependents(compose, scratch):
    """With an init that takes a while (its own SQL here), the container is healthy only when
    flink-sql-job's JDBC sink can connect: TCP on 5432. Found here first: without `-h localhost`
    pg_isready asks the Unix socket, which the image's entrypoint serves during its init (a
    temporary server, listen_addresses=''), so the container was healthy before TCP was served."""
    slow = scratch / "99-slow-init.sql"
    slow.write_text("SELECT pg_sleep(5);\n")
    service = remount(compose["services"]["postgres"], "/docker-entrypoint-initdb.d/99-slow-init.sql", slow)
    with running("postgres", service, scratch) as postgres:
        health = postgres.health()
        assert health.status == "healthy", f"{health}\n{postgres.logs()}"
        code, out = postgres.exec(["pg_isready", "-h", "localhost", "-p", "5432"], timeout=5)
        assert code == 0, f"healthy at {health.probes[-1].at} s, yet TCP 5432 is not served: {out}"
