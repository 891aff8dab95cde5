"""The images compose_native.py runs natively: each image's native stand-in (its programs, user,
folders, environment) and why that is faithful; and the one-shot services whose outcome is stood in
for (ONE_SHOTS) because what they produce is already here."""
import sys
from dataclasses import dataclass, field
from pathlib import Path

import confluent_entrypoint
from stack import ROOT

PG_BIN = "/usr/lib/postgresql/*/bin/"
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Image:
    why: str  # why the native stand-in is faithful to the image
    programs: dict  # program on the image's PATH -> native file (a glob: the newest), or an argv
    entrypoint: tuple
    cmd: tuple = ()
    user: str = "root"
    workdir: str = "/"
    dirs: dict = field(default_factory=dict)  # folders the image has (its VOLUMEs too) -> owner
    private: tuple = ()  # folders needed at their own path (compiled-in defaults), per container
    env: dict = field(default_factory=dict)
    stop_signal: str = "SIGTERM"


IMAGES = {
    "prom/prometheus": Image(
        why="Debian's prometheus (2.42 for the image's 2.54.1) takes the flags this compose file "
            "passes, reads rule_files beside its config, answers /-/ready; wget as in the image",
        programs={"prometheus": "/usr/bin/prometheus", "promtool": "/usr/bin/promtool",
                  "wget": "/usr/bin/wget", "sh": "/bin/sh"},
        entrypoint=("/bin/prometheus",),
        # (the image's CMD names its console folders too, which Debian keeps elsewhere)
        cmd=("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"),
        user="nobody", workdir="/prometheus", dirs={"/etc/prometheus": "nobody", "/prometheus": "nobody"}),
    "prom/alertmanager": Image(
        why="Debian's prometheus-alertmanager is the image's version, 0.25.0; wget as in the image",
        programs={"alertmanager": "/usr/bin/prometheus-alertmanager", "amtool": "/usr/bin/amtool",
                  "wget": "/usr/bin/wget", "sh": "/bin/sh"},
        entrypoint=("/bin/alertmanager",),
        cmd=("--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"),
        user="nobody", workdir="/alertmanager",
        dirs={"/etc/alertmanager": "nobody", "/alertmanager": "nobody"}),
    "python": Image(
        why="the python3 running these tests (3.11 here, as the image's 3.11.10) with its standard "
            "library, in a venv per container (python_image.py): pip installs into the container "
            "alone and finds pinned requirements the test command installed from PyPI; like the "
            "slim image, no wget nor curl",
        programs={**{p: [sys.executable, str(HERE / "python_image.py"), "{rootfs}", p]
                     for p in ("python", "python3", "pip", "pip3")},
                  "sh": "/bin/sh", "grep": "/bin/grep"},
        entrypoint=(), cmd=("python3",), env={"LANG": "C.UTF-8"}),
    "postgres": Image(
        why="Debian's PostgreSQL (15 for the image's 16.4) behind the image's docker-entrypoint.sh, "
            "emulated step by step (postgres_entrypoint.py); the socket in /var/run/postgresql, "
            "the compiled-in default of both",
        programs={**{p: PG_BIN + p for p in ("postgres", "initdb", "pg_ctl", "psql", "pg_isready")},
                  "sh": "/bin/sh",
                  "docker-entrypoint.sh": [sys.executable, str(HERE / "postgres_entrypoint.py"), "{rootfs}"]},
        entrypoint=("docker-entrypoint.sh",), cmd=("postgres",),
        dirs={"/docker-entrypoint-initdb.d": "root", "/var/lib/postgresql/data": "postgres",
              "/var/run/postgresql": "postgres"},
        private=("/var/run/postgresql",),
        # The image's LANG is en_US.utf8: musl collates as C, hence C.UTF-8 here.
        env={"PGDATA": "/var/lib/postgresql/data", "LANG": "C.UTF-8"}, stop_signal="SIGINT"),
}


CONFLUENT_WHY = (
    "Apache Kafka 3.7.1's jars from Maven Central (cp-kafka 7.7.1's broker; its ZooKeeper 3.8.4 is "
    "what cp-zookeeper 7.7.1 runs, from the same confluent-kafka package) on Debian's Java 17 (the "
    "image's is 17 too), behind the image's scripts emulated step by step (confluent_entrypoint.py): "
    "run, configure, ensure and launch of kafka-images v7.7.1, and kafka-run-class for the server and "
    "for each tool on its PATH, so KAFKA_OPTS reaches every JVM as in the image; curl as in the "
    "image; appuser is uid 1000. The jars volume's /jars/jmx/jmx_prometheus_javaagent.jar is the "
    "native JMX exporter agent 0.20.0 (put there for fetch-jars, ONE_SHOTS)")


def confluent(component, dirs, env=None):
    # Debian's python3 (its standard library is all it needs): appuser may not reach the tests' own.
    entry = ["/usr/bin/python3", str(HERE / "confluent_entrypoint.py"), "{rootfs}"]
    return Image(
        why=CONFLUENT_WHY,
        programs={"java": "/usr/lib/jvm/java-17-openjdk-*/bin/java", "sh": "/bin/sh", "bash": "/bin/bash",
                  "curl": "/usr/bin/curl", **{p: [*entry, p] for p in confluent_entrypoint.PROGRAMS}},
        # /etc/confluent/docker/run is `run` on this PATH
        entrypoint=(), cmd=("/etc/confluent/docker/run",), user="1000",
        dirs={folder: "1000" for folder in dirs}, env={"COMPONENT": component, **(env or {})})


IMAGES.update({
    "confluentinc/cp-zookeeper": confluent("zookeeper", (
        "/var/lib/zookeeper/data", "/var/lib/zookeeper/log", "/etc/zookeeper/secrets", "/etc/kafka", "/var/log/kafka")),
    # Its Dockerfile's ENV of the build arguments, empty here as in the published image.
    "confluentinc/cp-kafka": confluent("kafka", (
        "/var/lib/kafka/data", "/etc/kafka/secrets", "/etc/kafka", "/var/log/kafka"),
        {"KAFKA_ZOOKEEPER_CONNECT": "", "KAFKA_ADVERTISED_LISTENERS": "", "CLUSTER_ID": ""}),
})


@dataclass(frozen=True)
class OneShot:
    why: str  # why what is put in its place is what the service would produce
    files: dict  # (volume, path in it) -> native file copied there


JMX_AGENT = ROOT / ".cache/bed/jars/jmx-agent/jmx_prometheus_javaagent-0.20.0.jar"
# A service here completes successfully once its files are in place (before a dependent starts).
ONE_SHOTS = {
    "fetch-jars": OneShot(
        why="its script downloads the JMX exporter agent 0.20.0 from Maven Central into the jars "
            "volume's jmx/, with a copy under a stable name; tests/bed/fetch-jars.sh has the same "
            "jar from Maven Central in .cache/bed. Not put there: its Flink connectors (the bed's "
            "are other versions) and the checkpoint volume's owner, as no Flink runs here",
        files={("jars", "jmx/jmx_prometheus_javaagent-0.20.0.jar"): JMX_AGENT,
               ("jars", "jmx/jmx_prometheus_javaagent.jar"): JMX_AGENT}),
}
