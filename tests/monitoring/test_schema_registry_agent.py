"""schema-registry.yml on the real JMX exporter agent (0.20.0), over Schema Registry's real MBean
names.

Confluent Schema Registry cannot run here (not on Maven Central), so its MBeans are made the way
Schema Registry makes them: a JVM (schema_registry/SchemaRegistryMetrics.java) registers the
metrics Schema Registry's source registers (group, name, tags) with Kafka's own `Metrics` and
`JmxReporter` under the JMX prefix `kafka.schema.registry`, and the real agent, attached to that
JVM with the provisioned rule file, turns them into metrics. Sources of the metric list:
- schema-registry core/.../metrics/MetricsContainer.java: one group per metric, named like it;
- rest-utils MetricsResourceMethodApplicationListener (group "jersey" + "-metrics"): the REST
  requests, global (no prefix) and per endpoint (`<@PerformanceMetric value>.`), error rates also
  per HTTP status class (tag http_status_code);
- rest-utils MetricsListener (group "jetty-metrics"): TCP connections.
Confluent's "Monitor Schema Registry" page documents the same MBeans: request metrics on
`kafka.schema.registry:type=jersey-metrics`, connections on `type=jetty-metrics`.
"""
import subprocess
import threading
import time

import pytest
import requests

from bed import JMX_AGENT_JAR, KAFKA_JARS, parse_exposition
from prometheus_server import free_port
from stack import PROVISIONING, require_tool
from test_exporters import DOCUMENTED_BEANS, IGNORED_BEANS, sample_series

STAND_IN = __import__("pathlib").Path(__file__).resolve().parent / "schema_registry" / "SchemaRegistryMetrics.java"
PREFIX = "kafka.schema.registry"

# MetricsContainer: group == name.
_CONTAINER = [
    "master-slave-role", "node-count", "api-success-count", "api-failure-count",
    "custom-schema-provider-count", "registered-count", "deleted-count",
    "avro-schemas-created", "avro-schemas-deleted", "json-schemas-created", "json-schemas-deleted",
    "protobuf-schemas-created", "protobuf-schemas-deleted",
]
# rest-utils MethodMetrics, for the global instance (no prefix) and per @PerformanceMetric.
_JERSEY = [
    "request-rate", "request-byte-rate", "request-size-avg", "request-size-max",
    "response-rate", "response-byte-rate", "response-size-avg", "response-size-max",
    "request-latency-avg", "request-latency-max", "request-latency-95", "request-latency-99",
    "request-error-rate",
]
_STATUS_CLASSES = ["unknown", "1xx", "2xx", "3xx", "4xx", "5xx"]
_ENDPOINTS = ["subjects.versions.register", "schemas.ids.get-schema"]
_JETTY = ["connections-accepted-rate", "connections-opened-rate", "connections-closed-rate", "connections-active"]


def schema_registry_metrics():
    """(jmx prefix, group, name, tags) of what a Schema Registry registers."""
    out = [(PREFIX, name, name, "") for name in _CONTAINER]
    for endpoint in [None, *_ENDPOINTS]:
        full = (lambda m: m) if endpoint is None else (lambda m, e=endpoint: f"{e}.{m}")
        out += [(PREFIX, "jersey-metrics", full(m), "") for m in _JERSEY]
        out += [(PREFIX, "jersey-metrics", full("request-error-rate"), f"http_status_code={c}")
                for c in _STATUS_CLASSES]
    out += [(PREFIX, "jetty-metrics", m, "") for m in _JETTY]
    # The Kafka store's producer: its own prefix, to be left out by the rule file.
    out += [("kafka.producer", "producer-metrics", "record-send-rate", "client-id=sr")]
    return out


@pytest.fixture(scope="module")
def agent():
    assert JMX_AGENT_JAR.exists() and list(KAFKA_JARS.glob("kafka-clients-*.jar")), \
        f"{JMX_AGENT_JAR} or kafka-clients missing: run `bash tests/bed/fetch-jars.sh`"
    port = free_port()
    config = PROVISIONING / "exporters" / "jmx" / "schema-registry.yml"
    proc = subprocess.Popen(
        [require_tool("java"), "-Xmx64m", f"-javaagent:{JMX_AGENT_JAR}=127.0.0.1:{port}:{config}",
         "-cp", f"{KAFKA_JARS}/*", str(STAND_IN)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        for row in schema_registry_metrics():
            proc.stdin.write("\t".join(row) + "\n")
        proc.stdin.write("END\n")
        proc.stdin.flush()
        beans, output, ready = set(), [], threading.Event()

        def read():
            for line in proc.stdout:
                output.append(line)
                if line.startswith("BEAN\t"):
                    _, name, attribute = line.rstrip("\n").split("\t")
                    beans.add((name, attribute))
                elif line.strip() == "READY":
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(120), "stand-in JVM not READY:\n" + "".join(output[-40:])
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.time() + 30
        while True:
            try:
                text = requests.get(url, timeout=5).text
                break
            except requests.ConnectionError:
                assert time.time() < deadline, "agent does not answer:\n" + "".join(output[-40:])
                time.sleep(0.3)
        yield beans, parse_exposition(text)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def own_series(samples):
    """{name: {label-key tuples}} of what the rule file adds (not the agent's built-in collectors)."""
    out = {}
    for name, labels, _ in samples:
        if name.startswith(("jvm_", "process_", "jmx_")):
            continue
        out.setdefault(name, set()).add(tuple(sorted(labels)))
    return out


def test_documented_beans_of_the_sample_test_are_real_mbean_names(agent):
    beans, _ = agent
    registered = {b for b in beans if b[0].startswith(PREFIX + ":")}
    assert ("kafka.schema.registry:type=jersey-metrics", "request-rate") in registered  # the stand-in works
    wrong = [b for b in DOCUMENTED_BEANS["schema-registry"] if b not in beans]
    assert not wrong, f"test_exporters.py documents MBeans Schema Registry does not register: {wrong}"
    missing = [b for b in IGNORED_BEANS["schema-registry"] if b not in beans]
    assert not missing, missing


def test_real_agent_exports_exactly_the_sample_names(agent):
    _, samples = agent
    exported = own_series(samples)
    wanted = sample_series("schema-registry")
    assert exported == wanted, (
        f"real agent: {sorted(exported)}\nsamples/schema-registry.prom: {sorted(wanted)}")


def test_request_metrics_come_from_jersey_and_connections_from_jetty(agent):
    """Values identify the MBean each series was read from (the stand-in numbers them)."""
    _, samples = agent
    value_of = {row[2]: float(i + 1) for i, row in enumerate(schema_registry_metrics())
                if not row[3]}  # untagged ones: name -> value
    series = {(n, tuple(sorted(l.items()))): v for n, l, v in samples}
    assert series[("schema_registry_jersey_request_rate", ())] == value_of["request-rate"]
    assert series[("schema_registry_jersey_request_error_rate", ())] == value_of["request-error-rate"]
    assert series[("schema_registry_jetty_connections_active", ())] == value_of["connections-active"]
    endpoint = ("schema_registry_endpoint_request_rate", (("endpoint", "subjects.versions.register"),))
    assert series[endpoint] == value_of["subjects.versions.register.request-rate"]


def test_the_store_producer_and_status_classes_stay_out(agent):
    _, samples = agent
    assert not [s for s in samples if s[0].startswith("kafka_producer")]
    assert not [s for s in samples if "http_status_code" in s[1]]
