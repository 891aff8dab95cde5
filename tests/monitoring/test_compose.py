"""docker-compose.monitoring.yml, checked statically (no Docker engine here): the Compose
specification's schema, the files it mounts, Prometheus targets against its services and ports,
pinned images, healthchecks, both plugins loaded unsigned, no secrets beyond demo defaults."""
import json
import re
import subprocess

import pytest

from stack import COMPOSE, PROMETHEUS_YML, ROOT, bind_mounts, load_yaml, require_tool

PLUGINS = ["pipelinehealth-kafkaflink-datasource", "pipelinehealth-topology-panel"]
DEMO_SECRETS = {"demo", "admin"}


def declared_ports(service):
    ports = {str(p) for p in service.get("expose", [])}
    for p in service.get("ports", []):
        ports.add(str(p).split(":")[-1] if isinstance(p, (str, int)) else str(p["target"]))
    return ports


def test_compose_file_validates_against_the_compose_specification():
    result = subprocess.run(
        [require_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_mounted_file_exists(compose):
    mounts = list(bind_mounts(compose))
    assert len(mounts) >= 15
    for service, source, _ in mounts:
        path = (ROOT / source).resolve()
        hint = " (run `cargo xtask dist` first)" if "/dist/" in str(path) else ""
        assert path.exists(), f"{service} mounts {source}, which does not exist{hint}"


def test_every_prometheus_target_is_a_service_port_of_the_compose_file(compose, prometheus_config):
    for job in prometheus_config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.split(":")
                if host == "localhost":
                    assert job["job_name"] == "prometheus"
                    host = "prometheus"
                assert host in compose["services"], f"job {job['job_name']}: no service {host}"
                assert port in declared_ports(compose["services"][host]), \
                    f"job {job['job_name']}: service {host} does not declare port {port}"


def test_every_jmx_agent_serves_the_port_prometheus_scrapes(compose, prometheus_config):
    """A service with a JMX agent listens where its scrape job looks, with its own rule file."""
    targets = {t: job["job_name"] for job in prometheus_config["scrape_configs"]
               for s in job["static_configs"] for t in s["targets"]}
    agents = 0
    for name, service in compose["services"].items():
        text = str(service.get("environment", {}))
        for port, rules in re.findall(r"jmx_prometheus_javaagent\.jar=(\d+):(/etc/jmx-exporter/[\w.-]+)", text):
            agents += 1
            assert f"{name}:{port}" in targets, f"{name}'s JMX agent on {port} is not scraped"
            local = ROOT / "provisioning" / "exporters" / "jmx" / rules.rsplit("/", 1)[1]
            assert local.exists(), rules
    assert agents == 5  # Kafka, ZooKeeper, Schema Registry, Flink JobManager and TaskManager


def test_flink_reporter_port_matches_the_scrape_jobs(compose, prometheus_config):
    for component in ["flink-jobmanager", "flink-taskmanager"]:
        props = compose["services"][component]["environment"]["FLINK_PROPERTIES"]
        assert "metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory" in props
        port = re.search(r"metrics\.reporter\.prom\.port: (\d+)", props).group(1)
        job = next(j for j in prometheus_config["scrape_configs"] if j["job_name"] == component)
        assert job["static_configs"][0]["targets"] == [f"{component}:{port}"]


def test_the_whole_pipeline_is_in_the_demo(compose):
    services = set(compose["services"])
    wanted = {"zookeeper", "kafka", "schema-registry", "flink-jobmanager", "flink-taskmanager",
              "flink-sql-job", "roas-generator", "build-udf", "postgres", "kafka-exporter", "prometheus",
              "grafana", "plugin-build"}
    assert wanted <= services, wanted - services
    # The demo submits the very file the test bed runs (tests/src/bed/roas/mod.rs).
    job = compose["services"]["flink-sql-job"]
    assert job["command"][-1].split("exec ")[-1].startswith("/opt/flink/bin/sql-client.sh -f /opt/demo/roas.sql")
    mounts = {t: s for _, s, t in bind_mounts({"services": {"j": job}})}
    assert mounts["/opt/demo/roas.sql"] == "./provisioning/demo/roas.sql"
    sql = (ROOT / "provisioning" / "demo" / "roas.sql").read_text()
    assert "'connector' = 'kafka'" in sql and "'connector' = 'jdbc'" in sql
    assert "jdbc:postgresql://postgres:5432/" in sql
    assert "'properties.group.id' = 'roas-attribution'" in sql


def test_the_job_is_submitted_once(compose):
    """A later `up` finds the job still there and submits nothing; a cancelled one is submitted
    again. The check runs on overview answers of a real JobManager (fuzz/corpus/flink_answers/,
    written from Flink 2.3), compact as Flink sends them and spaced."""
    script = compose["services"]["flink-sql-job"]["command"][-1]
    pattern = re.search(r"grep -Eq '([^']+)'", script).group(1)
    corpus = ROOT / "fuzz" / "corpus" / "flink_answers"
    for name, submitted in (("pipeline-1.txt", True), ("pipeline-1-cancelled.txt", False)):
        overview = json.loads((corpus / name).read_text().split("\n---\n")[0])
        for job in overview["jobs"]:
            job["name"] = "roas-attribution"
        for text in (json.dumps(overview, separators=(",", ":")), json.dumps(overview)):
            found = subprocess.run(["grep", "-Eq", pattern], input=text, text=True).returncode == 0
            assert found == submitted, f"{name}: {'skips' if found else 'submits'} on {text[:200]}"


def test_healthchecks_run_what_the_image_has_without_the_services_agent(compose):
    """A tool JVM started by a healthcheck must not load the JMX agent from KAFKA_OPTS (it binds
    the agent's port, which the server holds); Grafana's -ubuntu image has curl, not wget."""
    for name, service in compose["services"].items():
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        opts = str(service.get("environment", {}).get("KAFKA_OPTS", ""))
        if "-javaagent" in opts and re.search(r"\bkafka-[a-z-]+|zookeeper-shell", test):
            assert "KAFKA_OPTS= " in test, f"{name}: the healthcheck's JVM would start the agent too: {test}"
    assert "wget" not in " ".join(compose["services"]["grafana"]["healthcheck"]["test"])


def test_checkpoints_are_on_storage_both_flink_processes_share(compose):
    """A restarted job restores from what the TaskManager wrote: the checkpoint directory is a
    volume mounted in the JobManager and the TaskManager alike, made writable before they start."""
    dirs, mounts = set(), []
    for name in ("flink-jobmanager", "flink-taskmanager"):
        service = compose["services"][name]
        props = dict(line.split(": ", 1) for line in service["environment"]["FLINK_PROPERTIES"].splitlines() if ": " in line)
        path = props["execution.checkpointing.dir"].removeprefix("file://")
        dirs.add(path)
        volumes = [v for v in service["volumes"] if isinstance(v, str) and v.split(":")[1] == path]
        assert volumes, f"{name}: checkpoints in {path}, which is no volume (a container-local directory)"
        mounts.append(volumes[0].split(":")[0])
        assert "fetch-jars" in service["depends_on"], f"{name} must start after the volume is made writable"
    assert len(dirs) == 1 and len(set(mounts)) == 1, (dirs, mounts)
    assert mounts[0] in compose["volumes"]
    init = compose["services"]["fetch-jars"]
    assert f"{mounts[0]}:{dirs.pop()}" in init["volumes"] and "chown 9999:9999" in init["command"][-1]


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image, f"{name}: {image} has no tag"
        tag = image.rsplit(":", 1)[1]
        assert tag not in {"latest", "main", "master"} and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned"


def test_long_running_services_have_healthchecks(compose):
    one_shot = {"fetch-jars", "flink-sql-job", "build-udf", "plugin-build"}
    for name, service in compose["services"].items():
        if name in one_shot:
            continue
        check = service.get("healthcheck", {}).get("test")
        assert check, f"{name} has no healthcheck"


def test_grafana_loads_both_plugins_unsigned_with_provisioning(compose):
    grafana = compose["services"]["grafana"]
    env = grafana["environment"]
    assert env["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"].split(",") == PLUGINS
    ini = (ROOT / "provisioning" / "grafana" / "grafana.ini").read_text()
    assert f"allow_loading_unsigned_plugins = {','.join(PLUGINS)}" in ini
    targets = {t: s for _, s, t in bind_mounts({"services": {"grafana": grafana}})}
    for plugin in PLUGINS:
        assert targets[f"/var/lib/grafana/plugins/{plugin}"] == f"./dist/{plugin}"
    assert targets["/etc/grafana/provisioning/datasources"] == "./provisioning/grafana/datasources"
    assert targets["/etc/grafana/provisioning/dashboards"] == "./provisioning/grafana/dashboards"
    provider = load_yaml(ROOT / "provisioning/grafana/dashboards/dashboards.yml")["providers"][0]
    assert targets[provider["options"]["path"]] == "./dashboards"


def test_built_plugins_are_what_grafana_expects():
    """The mounted dist/ folders hold a plugin.json with the right id and, for the datasource,
    the backend binary Grafana starts on linux/amd64."""
    for plugin in PLUGINS:
        manifest = ROOT / "dist" / plugin / "plugin.json"
        assert manifest.exists(), f"{manifest} missing: run `cargo xtask dist` first"
        assert json.loads(manifest.read_text())["id"] == plugin
    assert (ROOT / "dist" / PLUGINS[0] / "gpx_kafkaflink_linux_amd64").exists()


SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.I)


def test_no_secrets_beyond_demo_defaults(compose):
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        for key, value in env.items():
            if SECRET_KEY.search(key) and not key.startswith("GF_PLUGINS"):
                assert str(value) in DEMO_SECRETS, f"{name}.{key} is not a demo default"
    sql = (ROOT / "provisioning" / "demo" / "roas.sql").read_text()
    assert set(re.findall(r"'password' = '([^']*)'", sql)) <= DEMO_SECRETS
    datasources = (ROOT / "provisioning/grafana/datasources/datasources.yml").read_text()
    assert "secureJsonData" not in datasources


def test_demo_scripts_parse():
    result = subprocess.run(["sh", "-n", str(ROOT / "provisioning" / "demo" / "fetch-jars.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(["python3", str(ROOT / "provisioning" / "demo" / "roas-generator.py"), "--describe"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert {c["campaign_id"] for c in json.loads(result.stdout)}, result.stdout


def test_the_udf_the_demo_builds_is_built_by_its_own_pom(compose, tmp_path):
    """The build-udf service's pom, run here with Maven as the service runs it: the jar holds the
    class roas.sql registers."""
    build = compose["services"]["build-udf"]
    assert "mvn -B -q -f /udf/pom.xml package" in " ".join(build["command"])
    mounts = {t: s for _, s, t in bind_mounts({"services": {"b": build}})}
    pom = ROOT / mounts["/udf"] / "pom.xml"
    out = tmp_path / "udf-build"
    result = subprocess.run([require_tool("mvn"), "-B", "-q", "-f", str(pom), "package", f"-Dudf.build.dir={out}"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    listing = subprocess.run(["unzip", "-l", str(out / "roas-udf.jar")], capture_output=True, text=True).stdout
    cls = re.search(r"AS '([\w.]+)' LANGUAGE JAVA", (ROOT / "provisioning/demo/roas.sql").read_text()).group(1)
    assert cls.replace(".", "/") + ".class" in listing, listing


def test_prometheus_mount_holds_the_config_and_rules(compose):
    mounts = {t: s for _, s, t in bind_mounts({"services": {"p": compose["services"]["prometheus"]}})}
    folder = ROOT / mounts["/etc/prometheus"]
    assert (folder / "prometheus.yml").resolve() == PROMETHEUS_YML.resolve()
    assert (folder / "alerts.yml").exists()
    assert "--config.file=/etc/prometheus/prometheus.yml" in compose["services"]["prometheus"]["command"]


def test_a_fresh_clone_builds_the_plugins_before_grafana_starts(compose):
    build = compose["services"]["plugin-build"]
    assert "cargo xtask dist" in " ".join(build["command"])
    grafana = compose["services"]["grafana"]
    assert grafana["depends_on"]["plugin-build"]["condition"] == "service_completed_successfully"
    # The backend binary links glibc: Grafana's default image is Alpine (musl), the -ubuntu one is not.
    assert grafana["image"].endswith("-ubuntu"), grafana["image"]
