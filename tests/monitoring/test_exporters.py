"""Exporter settings: the JMX exporter rule files turn the MBeans that Kafka, ZooKeeper and
Schema Registry document into exactly the metric names our samples, dashboards and alerts use;
kafka_exporter's flags are valid and point at the compose broker."""
import re

import pytest

from jmx_rules import Bean, to_metric
from stack import PROVISIONING, SAMPLES, load_yaml

JMX = PROVISIONING / "exporters" / "jmx"

# MBeans as their projects document them (Kafka "Monitoring", ZooKeeper JMX, Schema Registry
# "Monitoring"): object name, attribute.
DOCUMENTED_BEANS = {
    "kafka": [
        ("kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions", "Value"),
        ("kafka.server:type=ReplicaManager,name=UnderMinIsrPartitionCount", "Value"),
        ("kafka.server:type=ReplicaManager,name=PartitionCount", "Value"),
        ("kafka.server:type=ReplicaManager,name=LeaderCount", "Value"),
        ("kafka.server:type=ReplicaManager,name=IsrShrinksPerSec", "Count"),
        ("kafka.server:type=ReplicaManager,name=IsrExpandsPerSec", "Count"),
        ("kafka.controller:type=KafkaController,name=ActiveControllerCount", "Value"),
        ("kafka.controller:type=KafkaController,name=OfflinePartitionsCount", "Value"),
        ("kafka.controller:type=KafkaController,name=GlobalPartitionCount", "Value"),
        ("kafka.controller:type=ControllerStats,name=UncleanLeaderElectionsPerSec", "Count"),
        ("kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec", "Count"),
        ("kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=clicks", "Count"),
        ("kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec", "Count"),
        ("kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,topic=clicks", "Count"),
        ("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec", "Count"),
        ("kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=clicks", "Count"),
        ("kafka.network:type=RequestMetrics,name=RequestsPerSec,request=Produce,version=9", "Count"),
        ("kafka.network:type=RequestMetrics,name=ErrorsPerSec,request=Produce,error=REQUEST_TIMED_OUT", "Count"),
        ("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce", "99thPercentile"),
        ("kafka.network:type=RequestMetrics,name=TotalTimeMs,request=FetchConsumer", "50thPercentile"),
        ("kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent", "OneMinuteRate"),
        ("kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent", "Value"),
        ("kafka.network:type=RequestChannel,name=RequestQueueSize", "Value"),
    ],
    "zookeeper": [
        ("org.apache.ZooKeeperService:name0=StandaloneServer_port2181", "NumAliveConnections"),
        ("org.apache.ZooKeeperService:name0=StandaloneServer_port2181", "OutstandingRequests"),
        ("org.apache.ZooKeeperService:name0=StandaloneServer_port2181", "AvgRequestLatency"),
        ("org.apache.ZooKeeperService:name0=StandaloneServer_port2181", "MaxRequestLatency"),
        ("org.apache.ZooKeeperService:name0=StandaloneServer_port2181,name1=InMemoryDataTree", "NodeCount"),
        ("org.apache.ZooKeeperService:name0=StandaloneServer_port2181,name1=InMemoryDataTree", "WatchCount"),
    ],
    "schema-registry": [
        # REST requests are Jersey's (all requests, then per endpoint); Jetty has connections only.
        ("kafka.schema.registry:type=jersey-metrics", "request-rate"),
        ("kafka.schema.registry:type=jersey-metrics", "request-error-rate"),
        ("kafka.schema.registry:type=jersey-metrics", "request-latency-99"),
        ("kafka.schema.registry:type=jersey-metrics", "subjects.versions.register.request-rate"),
        ("kafka.schema.registry:type=jersey-metrics", "subjects.versions.register.request-error-rate"),
        ("kafka.schema.registry:type=jetty-metrics", "connections-active"),
        ("kafka.schema.registry:type=master-slave-role", "master-slave-role"),
        ("kafka.schema.registry:type=registered-count", "registered-count"),
    ],
}

# MBeans the rule files must leave out (kept out on purpose: cardinality or unused).
IGNORED_BEANS = {
    "kafka": [("kafka.log:type=Log,name=Size,topic=clicks,partition=0", "Value")],
    "zookeeper": [],
    "schema-registry": [
        ("kafka.producer:type=producer-metrics,client-id=sr", "record-send-rate"),
        ("kafka.schema.registry:type=jersey-metrics,http_status_code=5xx", "request-error-rate"),
        ("kafka.schema.registry:type=jersey-metrics", "request-latency-avg"),
        ("kafka.schema.registry:type=jetty-metrics", "connections-opened-rate"),
    ],
}


def sample_series(job):
    """{name: set of label-name tuples} in the exposition sample of `job`."""
    series = {}
    for line in (SAMPLES / f"{job}.prom").read_text().splitlines():
        m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})?\s", line)
        if m and not line.startswith("#"):
            keys = tuple(sorted(re.findall(r"(\w+)=", m.group(2) or "")))
            series.setdefault(m.group(1), set()).add(keys)
    return series


@pytest.mark.parametrize("job", sorted(DOCUMENTED_BEANS))
def test_rule_file_turns_documented_mbeans_into_the_sample_metrics(job):
    config = load_yaml(JMX / f"{job}.yml")
    samples = sample_series(job)
    produced = {}
    for object_name, attribute in DOCUMENTED_BEANS[job]:
        metric = to_metric(config, Bean(object_name, attribute))
        assert metric, f"{job}.yml exports nothing for {object_name} {attribute}"
        name, labels = metric
        assert name in samples, f"{object_name} {attribute} -> {name}, not in samples/{job}.prom"
        keys = tuple(sorted(labels))
        assert keys in samples[name], f"{name} labels {keys} not in samples/{job}.prom ({samples[name]})"
        produced.setdefault(name, set()).add(keys)
    # and the samples hold nothing the rules cannot produce
    assert set(samples) == set(produced), f"samples/{job}.prom has names no documented MBean yields: {set(samples) - set(produced)}"


@pytest.mark.parametrize("job", sorted(IGNORED_BEANS))
def test_rule_file_keeps_unused_mbeans_out(job):
    config = load_yaml(JMX / f"{job}.yml")
    for object_name, attribute in IGNORED_BEANS[job]:
        assert to_metric(config, Bean(object_name, attribute)) is None, object_name


@pytest.mark.parametrize("job", sorted(DOCUMENTED_BEANS))
def test_counter_rules_are_named_total(job):
    for rule in load_yaml(JMX / f"{job}.yml")["rules"]:
        if rule.get("type") == "COUNTER":
            assert rule["name"].endswith("_total"), rule["name"]


def test_request_timeouts_keep_their_error_code():
    config = load_yaml(JMX / "kafka.yml")
    bean = Bean("kafka.network:type=RequestMetrics,name=ErrorsPerSec,request=Fetch,error=REQUEST_TIMED_OUT", "Count")
    assert to_metric(config, bean) == (
        "kafka_network_requestmetrics_errors_total", {"request": "Fetch", "error": "REQUEST_TIMED_OUT"})


def test_topic_and_broker_totals_stay_apart():
    config = load_yaml(JMX / "kafka.yml")
    total = to_metric(config, Bean("kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec", "Count"))
    topic = to_metric(config, Bean("kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=clicks", "Count"))
    assert total == ("kafka_server_brokertopicmetrics_bytesinpersec_total", {})
    assert topic == ("kafka_server_brokertopicmetrics_bytesinpersec_total", {"topic": "clicks"})


@pytest.mark.parametrize("component", ["flink-jobmanager", "flink-taskmanager"])
def test_flink_agents_leave_flink_metrics_to_the_reporter(component):
    """Flink's own MBeans are not exported twice: the Prometheus reporter serves them."""
    config = load_yaml(JMX / f"{component}.yml")
    bean = Bean("org.apache.flink.taskmanager.job.task:key1=x", "numRecordsIn")
    assert to_metric(config, bean) is None
    cpu = to_metric(config, Bean("java.lang:type=OperatingSystem", "ProcessCpuLoad"))
    assert cpu == ("java_lang_operatingsystem_processcpuload", {})


def kafka_exporter_flags():
    lines = (PROVISIONING / "exporters" / "kafka-exporter.flags").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# kafka_exporter v1.9.0 flags (its README's table).
KAFKA_EXPORTER_FLAGS = {
    "--kafka.server", "--kafka.version", "--web.listen-address", "--web.telemetry-path",
    "--topic.filter", "--topic.exclude", "--group.filter", "--group.exclude",
    "--refresh.metadata", "--log.level", "--sasl.enabled", "--tls.enabled", "--offset.show-all",
    "--concurrent.enable", "--topic.workers", "--use.consumelag.zookeeper", "--zookeeper.server",
}


def test_kafka_exporter_flags_are_known_and_point_at_the_compose_broker(compose):
    flags = dict(f.split("=", 1) for f in kafka_exporter_flags())
    assert set(flags) <= KAFKA_EXPORTER_FLAGS, set(flags) - KAFKA_EXPORTER_FLAGS
    host, port = flags["--kafka.server"].split(":")
    assert host in compose["services"], host
    assert port in str(compose["services"][host].get("expose", [])) + str(compose["services"][host]["environment"])
    assert flags["--web.listen-address"] == ":9308"
    # a flag value with spaces would be split by the entrypoint's word splitting
    assert all(" " not in f for f in kafka_exporter_flags())
