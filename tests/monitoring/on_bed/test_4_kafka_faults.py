"""Alerts on Kafka faults (state `firing`, and what it names):
- stop-broker N: KafkaUnderReplicatedPartitions on the surviving brokers, MonitoringTargetDown on
  N's agent; both clear after start-broker N;
- pause-broker N with a real acks=all producer whose produce timeout is shorter than the ISR lag
  limit: KafkaBrokerRequestTimeouts (request="Produce") on the leaders, and the panel shows it;
"""
import threading
import time


from dashboard_check import RANGE_VARIABLES
from promql import prometheus_queries, substitute
from .deploy import FOR_IN_TEST, SCRAPE
from .probes import alert_detail, alerts, seconds, wait_healthy, wait_until


def test_stopped_broker_fires_under_replicated_partitions_until_it_is_back(bed, prometheus, webhook):
    brokers = sorted(bed.info["kafka"]["brokers"], key=lambda b: b["id"])
    victim = brokers[-1]
    others = {b["jmx_exporter"] for b in brokers if b is not victim}
    detail = alert_detail(bed, prometheus)
    bed.send(f"stop-broker {victim['id']}")
    try:
        firing = wait_until("KafkaUnderReplicatedPartitions firing",
                            lambda: alerts(prometheus, "KafkaUnderReplicatedPartitions"), 180, detail=detail)
        instances = {a["labels"]["instance"] for a in firing}
        assert instances <= others, f"alert names {instances}; the surviving brokers are {others}"
        # The target label of provisioning/prometheus/prometheus.yml, kept by the aggregation.
        assert {a["labels"].get("cluster") for a in firing} == {"pipeline-demo"}, firing
        down = wait_until("MonitoringTargetDown for the stopped broker",
                          lambda: alerts(prometheus, "MonitoringTargetDown"), 120, detail=detail)
        assert {(a["labels"]["job"], a["labels"]["instance"]) for a in down} == {("kafka", victim["jmx_exporter"])}
        # It reaches someone: Prometheus -> the provisioned Alertmanager -> the demo's receiver,
        # within Alertmanager's group_wait (10 s) and a couple of evaluations.
        delivered = wait_until("KafkaUnderReplicatedPartitions delivered to the webhook",
                               lambda: webhook.received("KafkaUnderReplicatedPartitions", "firing"), 60,
                               detail=lambda: webhook.log())
        assert {a["labels"]["instance"] for a in delivered} <= others, delivered
        assert {a["labels"].get("cluster") for a in delivered} == {"pipeline-demo"}, delivered
        assert all(a["runbook_url"] == "docs/runbook.md#kafkaunderreplicatedpartitions" for a in delivered)
    finally:
        bed.send(f"start-broker {victim['id']}")
    for name in ("KafkaUnderReplicatedPartitions", "MonitoringTargetDown"):
        wait_until(f"{name} cleared after start-broker",
                   lambda: not alerts(prometheus, name, states=("firing", "pending")), 120, detail=detail)


PROBE_TOPIC = "monitoring-probe"


class Producing:
    """A real producer (librdkafka, acks=all) writing to its own topic in a thread, with a
    produce-request timeout short enough that a leader waiting on a follower that is still in
    the ISR answers REQUEST_TIMED_OUT."""

    def __init__(self, bootstrap, request_timeout_ms=1500):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until its futures resolve
        created = admin.create_topics([NewTopic(PROBE_TOPIC, 3, 3)])
        for future in created.values():
            try:
                future.result(timeout=60)
            except Exception as e:  # the broker's own error, as librdkafka raises it
                assert "TOPIC_ALREADY_EXISTS" in str(e), e
        self._producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                                   "request.timeout.ms": request_timeout_ms, "message.timeout.ms": 120000,
                                   "log_level": 0})
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        n = 0
        while not self._stop.is_set():
            try:
                self._producer.produce(PROBE_TOPIC, b"probe", partition=n % 3)
                n += 1
            except BufferError:
                pass
            self._producer.poll(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self._producer.flush(120)


def within(probe, timeout, interval=1.0):
    """`probe`'s first truthy result within `timeout` seconds, or None."""
    deadline = time.time() + timeout
    while True:
        result = probe()
        if result or time.time() > deadline:
            return result or None
        time.sleep(interval)


TIMEOUTS = 'kafka_network_requestmetrics_errors_total{error="REQUEST_TIMED_OUT"}'
URP = "sum(kafka_server_replicamanager_underreplicatedpartitions) > 0"


def test_paused_follower_fires_request_timeouts_on_the_leaders(bed, prometheus, flink, dashboards):
    """acks=all produce requests wait on a paused follower until it leaves the ISR
    (replica.lag.time.max.ms); with a produce timeout shorter than that, the leaders answer
    REQUEST_TIMED_OUT. A broker registers an error code's meter at its first such error, so the
    series of a broker's first timeouts starts at their count and rate() sees no increase: the
    fault is made again (pause, the follower leaves the ISR, resume, it rejoins) until it does."""
    brokers = sorted(bed.info["kafka"]["brokers"], key=lambda b: b["id"])
    victim = brokers[0]
    leaders = {b["jmx_exporter"] for b in brokers if b is not victim}
    detail = alert_detail(bed, prometheus)
    firing, rounds = None, 0
    with Producing(bed.info["kafka"]["bootstrap"]):
        while not firing and rounds < 3:
            rounds += 1
            bed.send(f"pause-broker {victim['id']}")
            try:
                wait_until("the paused follower out of the ISR", lambda: prometheus.query(URP), 120, detail=detail)
            finally:
                bed.send(f"resume-broker {victim['id']}")
            wait_until("the follower back in the ISR", lambda: not prometheus.query(URP), 180, detail=detail)
            assert {s["instance"] for s in prometheus.series(TIMEOUTS)} <= leaders | {victim["jmx_exporter"]}
            firing = within(lambda: alerts(prometheus, "KafkaBrokerRequestTimeouts"),
                            3 * seconds(SCRAPE) + seconds(FOR_IN_TEST))
    print(f"pause-broker: REQUEST_TIMED_OUT series {sorted(s['instance'] for s in prometheus.series(TIMEOUTS))}; "
          f"KafkaBrokerRequestTimeouts firing after round {rounds}")
    assert firing, f"KafkaBrokerRequestTimeouts not firing after {rounds} rounds\n{detail()}"
    assert {a["labels"]["instance"] for a in firing} <= leaders, (firing, leaders)
    assert {a["labels"]["request"] for a in firing} == {"Produce"}
    # the panel shows them per broker and request (not only its 0 lines)
    board = dashboards["kafka-overview.json"]
    [(_, _, expr)] = [q for q in prometheus_queries(board) if q[0] == "Broker request timeouts"]
    # The alert's cluster, every broker (the variable's All).
    values = {**RANGE_VARIABLES, "cluster": firing[0]["labels"]["cluster"], "instance": ".*"}
    shown = prometheus.query(substitute(expr, values))
    assert any(r["metric"].get("request") == "Produce" and float(r["value"][1]) > 0 for r in shown), shown
    # A paused broker can also fail the Flink Kafka source's partition discovery (a restart):
    # the pipeline is whole again before the next fault.
    wait_healthy(bed, prometheus, flink)
