"""zookeeper, kafka and roas-generator of docker-compose.monitoring.yml run natively from their own
definitions (compose_native.py; the cp images' scripts in confluent_entrypoint.py, the python
image's in python_image.py), on one compose network with Prometheus, as `docker compose up
prometheus zookeeper kafka roas-generator` would run them.

Proven here:
- both start in depends_on order (fetch-jars' jar in the jars volume, then ZooKeeper healthy before
  Kafka starts) and turn healthy by their own healthchecks, run inside them as Docker runs them;
- the cp images' configure turns their environment into the properties the servers read;
- each JMX agent (KAFKA_OPTS) serves, on 7071 in its container, the names the dashboards use, and
  Prometheus scrapes both by service name (kafka:7071, zookeeper:7071), its targets up;
- the defect the kafka healthcheck's `KAFKA_OPTS=` fixed is caught: without it, on a copy of the
  definition, the probe's JVM loads the agent too and aborts on the port the broker holds, so
  Kafka would never turn healthy; any JVM tool in the ZooKeeper container meets the same agent;
- a user's check: from a one-off container of the kafka service on the network (`docker compose
  run`), a topic is created and listed through the advertised listener kafka:9092;
- the ROAS generator starts once Kafka is healthy, installs its requirement with pip, turns healthy
  by its own healthcheck (its PID 1 is the generator, in a PID namespace of its own) and creates
  its three topics with the partitions its environment asks for, their offsets growing.

Not proven here: the images themselves (Apache Kafka 3.7.1's jars and Debian's Java 17 behind the
images' scripts, emulated; compose_images.IMAGES says why that is faithful), the HOST listener
published on the host's 29092, and the Flink connectors fetch-jars also downloads.
"""
import copy
import json
import re

import pytest

import confluent_entrypoint
from compose_images import ONE_SHOTS
from compose_native import MAX_TIMEOUT, compose_up, healthcheck
from on_bed.probes import wait_until
from stack import DASHBOARDS, PROVISIONING, depends_on, environment, volumes

# Prometheus first: it scrapes while the JVMs start.
NAMES = ["prometheus", "zookeeper", "kafka", "roas-generator"]
# Gauges of an idle broker that the dashboards and alerts read.
KAFKA_METRICS = ["kafka_server_replicamanager_underreplicatedpartitions",
                 "kafka_server_replicamanager_underminisrpartitioncount",
                 "kafka_controller_kafkacontroller_activecontrollercount",
                 "kafka_controller_kafkacontroller_offlinepartitionscount"]
AGENT_BIND = "java.net.BindException: Address already in use"


@pytest.fixture(scope="module")
def stack(compose):
    with compose_up(compose, NAMES) as stack:
        yield stack


def metrics(container, timeout=30):
    """The container's own JMX agent's metrics, once its server's beans are there."""
    last = {}

    def probe():
        code, last["out"] = container.exec(["curl", "-fsS", "http://localhost:7071/metrics"], timeout=10)
        return last["out"] if code == 0 and re.search(rf"^{container.name}_", last["out"], re.M) else None
    return wait_until(f"{container.name}'s agent", probe, timeout, detail=lambda: last.get("out", ""))


def without_opts_reset(service):
    """A copy of the service whose healthcheck runs its tool without `KAFKA_OPTS= `, as before."""
    variant = copy.deepcopy(service)
    test = variant["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and test[1].startswith("KAFKA_OPTS= "), test
    variant["healthcheck"]["test"] = ["CMD-SHELL", test[1][len("KAFKA_OPTS= "):]]
    return variant


def agent_port(service):
    found = re.search(r"-javaagent:\S+?=(\d+):", environment(service)["KAFKA_OPTS"])
    assert found, environment(service)
    return found.group(1)


@pytest.mark.parametrize("name", ["zookeeper", "kafka", "roas-generator"])
def test_each_turns_healthy_by_its_own_healthcheck(compose, stack, name):
    container = stack.started(name)
    assert container.healthcheck == healthcheck(compose["services"][name]["healthcheck"])
    health = container.health()
    assert health.status == "healthy", f"{name}: {health}\n{container.logs()[-3000:]}"
    assert container.running(), f"{name} exited after turning healthy:\n{container.logs()[-3000:]}"


def test_they_start_in_depends_on_order(compose, stack):
    wanted = sorted((name, dep, condition) for name in ("zookeeper", "kafka")
                    for dep, condition in depends_on(compose["services"][name]).items())
    assert ("kafka", "zookeeper", "service_healthy") in wanted and ("zookeeper", "fetch-jars", "service_completed_successfully") in wanted
    assert sorted(w[:3] for w in stack.waited if w[0] in ("zookeeper", "kafka")) == wanted, stack.waited
    zookeeper, kafka = stack.started("zookeeper"), stack.started("kafka")
    assert zookeeper.health().at <= kafka.started_at, (zookeeper.health(), kafka.started_at)
    # The broker connects once the image's `cub zk-ready` has had its ZooKeeper session.
    ready = kafka.wait_log("SyncConnected", timeout=5)
    kafka.wait_log("Launching kafka", timeout=5, after=ready)


def test_the_images_configure_turns_the_environment_into_the_servers_properties(compose, stack):
    def read(container, name):
        text = (container.rootfs / "etc/kafka" / name).read_text()
        return dict(line.split("=", 1) for line in text.splitlines() if line)
    kafka = stack.started("kafka")
    env = environment(compose["services"]["kafka"])
    expected = {k[len("KAFKA_"):].lower().replace("_", "."): v for k, v in env.items() if k != "KAFKA_OPTS"}
    assert read(kafka, "kafka.properties") == {**expected, "log.dirs": f"{kafka.rootfs}/var/lib/kafka/data"}
    zookeeper = stack.started("zookeeper")
    env = environment(compose["services"]["zookeeper"])
    assert read(zookeeper, "zookeeper.properties") == {
        "clientPort": env["ZOOKEEPER_CLIENT_PORT"], "tickTime": env["ZOOKEEPER_TICK_TIME"],
        "dataDir": f"{zookeeper.rootfs}/var/lib/zookeeper/data", "dataLogDir": f"{zookeeper.rootfs}/var/lib/zookeeper/log"}


def test_env_to_props_reads_names_as_the_images_dub_does():
    env = {"KAFKA_A_B": "1", "KAFKA_A__B": "2", "KAFKA_A___B": "3", "KAFKA_OPTS": "-x",
           "KAFKA_HEAP_OPTS": "-Xmx1G", "KAFKA_JMX_OPTS": "-y", "OTHER": "4"}
    # KAFKA_HEAP_OPTS too: the 7.7.1 template's exclusion list misses a comma before KAFKA_LOG4J_OPTS.
    assert confluent_entrypoint.env_to_props(env, "KAFKA_", confluent_entrypoint.EXCLUDED) == \
        {"a.b": "1", "a_b": "2", "a-b": "3", "heap.opts": "-Xmx1G"}


def test_configure_requires_derives_and_refuses_as_the_images_scripts(tmp_path):
    (tmp_path / "etc/kafka").mkdir(parents=True)
    at = lambda path: f"{tmp_path}{path}"
    env = {"KAFKA_ZOOKEEPER_CONNECT": "zookeeper:2181", "KAFKA_ADVERTISED_LISTENERS": "PLAINTEXT://kafka:9092,HOST://localhost:29092"}
    assert confluent_entrypoint.kafka_properties(at, env)["listeners"] == "PLAINTEXT://0.0.0.0:9092,HOST://0.0.0.0:29092"
    for name in env:  # dub ensure
        with pytest.raises(confluent_entrypoint.Refused, match=f"{name} is required"):
            confluent_entrypoint.kafka_properties(at, {**env, name: ""})
    with pytest.raises(confluent_entrypoint.Refused, match="ZOOKEEPER_SERVERS"):  # an ensemble: not emulated
        confluent_entrypoint.zookeeper_properties(at, {"ZOOKEEPER_CLIENT_PORT": "2181", "ZOOKEEPER_SERVERS": "a:2888:3888"})


def test_fetch_jars_stand_in_puts_the_agent_where_its_script_does(compose):
    script = (PROVISIONING / "demo" / "fetch-jars.sh").read_text()
    target = {m.source: m.target for m in volumes(compose["services"]["fetch-jars"])}["jars"]
    fetched = re.findall(rf"^fetch ({re.escape(target)}/jmx) \S+ (\S+) (\S+)$", script, re.M)
    copied = re.findall(rf"^cp {re.escape(target)}/jmx/\S+ ({re.escape(target)}/jmx/\S+)$", script, re.M)
    wanted = {f"{folder}/{artifact}-{version}.jar" for folder, artifact, version in fetched} | set(copied)
    files = ONE_SHOTS["fetch-jars"].files
    assert {f"{target}/{path}" for volume, path in files if volume == "jars"} == wanted
    assert all(native.is_file() and native.name in {w.rsplit("/", 1)[1] for w in wanted} for native in files.values())
    for name in ("zookeeper", "kafka"):
        agent = re.search(r"-javaagent:([^=]+)=", environment(compose["services"][name])["KAFKA_OPTS"]).group(1)
        assert agent in wanted, f"{name} loads {agent}, which fetch-jars does not put there"


def test_the_jmx_agents_serve_the_dashboards_names_on_their_port(stack):
    used = " ".join(p.read_text() for p in DASHBOARDS.glob("*.json"))
    zookeeper_names = sorted(set(re.findall(r"\bzookeeper_[a-z_]+", used)))
    assert zookeeper_names and all(name in used for name in KAFKA_METRICS)
    served = {name: metrics(stack.started(name)) for name in ("kafka", "zookeeper")}
    for name, wanted in (("kafka", KAFKA_METRICS), ("zookeeper", zookeeper_names + ["zookeeper_inmemorydatatree_nodecount"])):
        missing = [m for m in wanted if not re.search(rf"^{m}[{{ ]", served[name], re.M)]
        assert not missing, f"{name}'s agent lacks {missing}:\n{served[name][:2000]}"
    assert re.search(r"^kafka_controller_kafkacontroller_activecontrollercount(\{[^}]*\})? 1\.0$", served["kafka"], re.M)


def test_without_the_kafka_opts_reset_the_healthcheck_fails_on_the_agents_port(compose, stack):
    """The defect the compose file's `KAFKA_OPTS= ` fixed: the probe is a JVM that reads KAFKA_OPTS,
    starts the JMX agent on the port the broker's agent holds, and aborts: never healthy."""
    service = compose["services"]["kafka"]
    check = healthcheck(without_opts_reset(service)["healthcheck"])
    kafka = stack.started("kafka")
    assert kafka.health().status == "healthy"
    code, out = kafka.exec(check.argv, timeout=30)  # its whole output: why it fails
    assert code not in (0, None), out
    assert AGENT_BIND in out and "JavaAgent.premain" in out, out  # (the JVM's own abort went to /dev/null)
    assert agent_port(service) == "7071"
    # Docker's verdict on it, its retries back to back: unhealthy, each probe the agent's abort (or,
    # on a loaded machine, its timeout, which Docker counts as a failure too).
    health = kafka.watch(check, max_interval=0.1)
    assert health.status == "unhealthy" and len(health.probes) == check.retries, health
    assert all(p.code != 0 and (p.code is None or "premain call failed" in p.output) for p in health.probes), health.probes
    # The broker keeps its port and its health; the probe as the compose file has it passes.
    code, out = kafka.exec(kafka.healthcheck.argv, timeout=min(kafka.healthcheck.timeout, MAX_TIMEOUT))
    assert code == 0, out


def test_any_jvm_tool_in_the_zookeeper_container_meets_the_same_agent(stack):
    zookeeper = stack.started("zookeeper")
    shell = ["zookeeper-shell", "localhost:2181", "ls", "/brokers/ids"]
    code, out = zookeeper.exec(shell, timeout=30)
    assert code not in (0, None) and AGENT_BIND in out, out
    code, out = zookeeper.exec(shell, timeout=30, env={"KAFKA_OPTS": ""})
    assert code == 0 and out.strip().splitlines()[-1] == "[1]", out  # the broker's registration


def test_a_topic_is_created_and_listed_from_another_container_through_the_advertised_listener(compose, stack):
    """`docker compose run --rm kafka sh -c '...'`: a one-off container of the service (its
    KAFKA_OPTS and agent too, on its own 7071), bootstrapping from kafka:9092; the broker's
    advertised listener is kafka:9092, which its clients connect to after the metadata."""
    assert "PLAINTEXT://kafka:9092" in environment(compose["services"]["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    tools = "kafka-topics --bootstrap-server kafka:9092"
    command = ["sh", "-c", f"{tools} --create --topic native-check --partitions 3 --replication-factor 1"
                           f" && {tools} --describe --topic native-check && {tools} --list"]
    code, out = stack.run("kafka", command, timeout=90)
    assert code == 0, out
    assert re.search(r"PartitionCount: 3\s+ReplicationFactor: 1", out), out
    assert "native-check" in out.splitlines(), out


def test_prometheus_scrapes_kafka_and_zookeeper_by_service_name(stack):
    prometheus = stack.started("prometheus")
    assert prometheus.health().status == "healthy", prometheus.health()
    last = {}

    def probe():
        code, out = prometheus.exec(["wget", "-qO-", "http://localhost:9090/api/v1/targets"], timeout=10)
        assert code == 0, out
        targets = {t["labels"]["job"]: t for t in json.loads(out)["data"]["activeTargets"]}
        last["jvms"] = {job: targets.get(job, {}) for job in ("kafka", "zookeeper")}
        return last["jvms"] if all(t.get("health") == "up" for t in last["jvms"].values()) else None
    # Scrapes are 15 s apart (prometheus.yml): a target is up by its second one at the latest.
    targets = wait_until("kafka and zookeeper up", probe, timeout=45, interval=2, detail=lambda: last)
    assert {t["scrapeUrl"] for t in targets.values()} == {"http://kafka:7071/metrics", "http://zookeeper:7071/metrics"}



def end_offsets(stack, topics):
    """{topic: [end offset of each partition]} from a one-off kafka container (GetOffsetShell,
    the image's kafka-get-offsets) through kafka:9092."""
    code, out = stack.run("kafka", ["kafka-get-offsets", "--bootstrap-server", "kafka:9092",
                                    "--topic", "|".join(topics), "--time", "-1"], timeout=90)
    assert code == 0, out
    found = {}
    for topic, partition, offset in re.findall(r"^([\w.-]+):(\d+):(\d+)$", out, re.M):
        found.setdefault(topic, {})[int(partition)] = int(offset)
    return {t: [found.get(t, {})[p] for p in sorted(found.get(t, {}))] for t in topics}


def test_the_generator_is_its_pid_1_and_feeds_its_topics(compose, stack):
    service = compose["services"]["roas-generator"]
    assert "/proc/1/cmdline" in service["healthcheck"]["test"][1]
    generator = stack.started("roas-generator")
    assert generator.health().status == "healthy", f"{generator.health()}\n{generator.logs()[-3000:]}"
    code, cmdline = generator.exec(
        ["python", "-c", "print(open('/proc/1/cmdline').read().replace(chr(0), ' '))"], timeout=10)
    assert code == 0 and "roas-generator.py" in cmdline and "pip" not in cmdline, cmdline
    env = environment(service)
    topics = ["impressions", "clicks", "conversions"]
    first = end_offsets(stack, topics)
    assert all(len(first[t]) == int(env["PARTITIONS"]) for t in topics), first
    second = end_offsets(stack, topics)
    assert sum(second["impressions"]) > sum(first["impressions"]) > 0, (first, second)
    assert generator.running(), generator.logs()[-3000:]
