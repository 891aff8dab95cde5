"""The pytest side of the real-pipeline test bed (tests/src/bin/bed.rs, crate pipeline-tests).

`Bed.start()` spawns `target/debug/bed --json PATH`, waits for `READY` on its stdout, and reads
the JSON description of the bed (loopback addresses of the brokers' and ZooKeeper's JMX agents,
the Flink JobManager's and TaskManager's Prometheus reporters and JMX agents, the Flink REST API,
PostgreSQL, the pipeline's names). `Bed.send("stop-broker 2")` writes one fault command on stdin
and returns on its `OK stop-broker 2`, raising on `ERR <reason>`. `Bed.stop()` closes stdin, which
tears the whole bed down, and waits for the process to end.

Also here: what this machine cannot run (kafka_exporter, Schema Registry), as metric-name sets
defined once, and a parser of the Prometheus exposition format the exporters serve.
"""
import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from stack import ROOT, SAMPLES

BED_BINARY = ROOT / "target" / "debug" / "bed"
BED_SOURCE = ROOT / "tests" / "src" / "bin" / "bed.rs"
BUILD_COMMAND = "cargo build -p pipeline-tests --bin bed"

# Jars the bed resolves from Maven Central (tests/bed/fetch-jars.sh).
JARS = ROOT / ".cache" / "bed" / "jars"
JMX_AGENT_JAR = JARS / "jmx-agent" / "jmx_prometheus_javaagent-0.20.0.jar"
KAFKA_JARS = JARS / "kafka"

# --- What cannot run here, and the metric names only those parts would export --------------
#
# kafka_exporter (danielqsj/kafka_exporter) and KMinion: the Go module proxy refuses them
# ("This module version is not available", HTTP 403), so the `kafka-exporter` scrape job has
# no target here. Its metric names, from its README ("Metrics": Brokers, Topics, Consumer Groups).
KAFKA_EXPORTER_METRICS = frozenset({
    "kafka_brokers", "kafka_broker_info",
    "kafka_topic_partitions", "kafka_topic_partition_current_offset",
    "kafka_topic_partition_oldest_offset", "kafka_topic_partition_in_sync_replica",
    "kafka_topic_partition_leader", "kafka_topic_partition_leader_is_preferred",
    "kafka_topic_partition_replicas", "kafka_topic_partition_under_replicated_partition",
    "kafka_consumergroup_current_offset", "kafka_consumergroup_current_offset_sum",
    "kafka_consumergroup_lag", "kafka_consumergroup_lag_sum",
    "kafka_consumergroupzookeeper_lag_zookeeper", "kafka_consumergroup_members",
})


def _sample_names(path):
    return {m.group(1) for line in path.read_text().splitlines()
            if (m := re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)", line)) and not line.startswith("#")}


# Confluent Schema Registry is not on Maven Central, so it cannot run here either. The names its
# JMX agent would add to the JVM collectors are those of provisioning/exporters/jmx/
# schema-registry.yml, which samples/schema-registry.prom holds (test_exporters.py and
# test_schema_registry_agent.py tie the sample to the rule file, the latter on the real agent).
SCHEMA_REGISTRY_METRICS = frozenset(_sample_names(SAMPLES / "schema-registry.prom"))

# Scrape jobs of provisioning/prometheus/prometheus.yml with no target on this machine.
UNAVAILABLE_JOBS = {
    "kafka-exporter": "kafka_exporter is not obtainable here (Go module proxy: 403 "
                      "'This module version is not available'; KMinion likewise)",
    "schema-registry": "Confluent Schema Registry is not on Maven Central, so it cannot run here",
}
NOT_PROVABLE_HERE = KAFKA_EXPORTER_METRICS | SCHEMA_REGISTRY_METRICS


# --- Exposition format ------------------------------------------------------------------------
_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """[(name, {label: value}, value)] of every sample line of Prometheus text exposition."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            samples.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return samples


# --- The bed process ------------------------------------------------------------------------
class BedError(AssertionError):
    pass


class Bed:
    def __init__(self, binary=BED_BINARY):
        self.binary = Path(binary)
        self.info = None
        self._proc = None
        self._lines = queue.Queue()
        self._output = []
        self._dir = tempfile.TemporaryDirectory(prefix="ph-bed-")
        self.json_path = Path(self._dir.name) / "bed.json"
        self._stderr = open(Path(self._dir.name) / "bed.stderr", "w+")
        self._lock = threading.Lock()

    # start / stop
    def start(self, timeout=600):
        if not self.binary.exists():
            raise BedError(
                f"the bed binary {self.binary} is missing: build it with `{BUILD_COMMAND}`"
                + ("" if BED_SOURCE.exists() else f" (and {BED_SOURCE.relative_to(ROOT)} does not exist yet)"))
        self._proc = subprocess.Popen(
            [str(self.binary), "--json", str(self.json_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            bufsize=1, cwd=ROOT, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            # `READY`, possibly followed by the same JSON on the line
            self._expect(lambda line: line == "READY" or line.startswith("READY "), "READY", timeout)
            self.info = json.loads(self.json_path.read_text())
        except BaseException:
            self.stop()
            raise
        return self

    def _read(self):
        for line in self._proc.stdout:
            line = line.rstrip("\n")
            with self._lock:
                self._output.append(line)
            self._lines.put(line)
        self._lines.put(None)  # EOF

    def _expect(self, accept, what, timeout):
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise BedError(f"bed: no {what} in {timeout:.0f} s\n{self.output()}")
            try:
                line = self._lines.get(timeout=min(left, 1))
            except queue.Empty:
                continue
            if line is None:
                raise BedError(f"bed exited (code {self._proc.poll()}) before {what}\n{self.output()}")
            result = accept(line)
            if result:
                return line

    def send(self, command, timeout=300):
        """Send one fault command; return when the bed answers `OK <command>`."""
        assert self._proc and self._proc.poll() is None, f"bed not running\n{self.output()}"
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        # `OK <command>`, possibly followed by a detail; `ERR <reason>`
        answer = self._expect(lambda line: line == f"OK {command}" or line.startswith(f"OK {command} ")
                              or line.startswith("ERR"), f"answer to {command!r}", timeout)
        if answer.startswith("ERR"):
            raise BedError(f"bed refused {command!r}: {answer}\n{self.output()}")
        return answer

    def stop(self, timeout=120):
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.stdin.close()  # the bed tears everything down when stdin closes
            except OSError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Its own process group: the bed and whatever it started that is still in it.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._stderr.close()
        self._dir.cleanup()
        self._proc = None

    def output(self, lines=40):
        with self._lock:
            out = "\n".join(self._output[-lines:])
        try:
            self._stderr.flush()
            err = Path(self._stderr.name).read_text()[-3000:]
        except (OSError, ValueError):
            err = ""
        log_dir = (self.info or {}).get("log_dir")
        return f"--- bed stdout ---\n{out}\n--- bed stderr ---\n{err}" + (f"\n(logs in {log_dir})" if log_dir else "")

    # the JSON description
    def refresh(self):
        """Re-read the JSON description (a bed may rewrite it when a part comes back on new
        ports); True when it changed."""
        info = json.loads(self.json_path.read_text())
        changed = info != self.info
        self.info = info
        return changed

    def exporters(self):
        """{(scrape target of provisioning/prometheus.yml): [bed loopback address, ...]}: where
        the demo's compose service:port lives on this bed."""
        k, z, f = self.info["kafka"], self.info["zookeeper"], self.info["flink"]
        return {
            "kafka:7071": [b["jmx_exporter"] for b in sorted(k["brokers"], key=lambda b: b["id"])],
            "zookeeper:7071": [z["jmx_exporter"]],
            "flink-jobmanager:7071": [f["jobmanager"]["jmx_exporter"]],
            "flink-jobmanager:9249": [f["jobmanager"]["prometheus"]],
            "flink-taskmanager:7071": [f["taskmanager"]["jmx_exporter"]],
            "flink-taskmanager:9249": [f["taskmanager"]["prometheus"]],
        }

    @property
    def pipeline(self):
        return self.info["pipeline"]

    @property
    def flink_rest(self):
        return self.info["flink"]["rest_url"].rstrip("/")
