#!/bin/sh
# One-shot init of the demo: downloads the jars the official images do not ship, from Maven
# Central, each checked against the .sha1 Maven Central publishes next to it. Runs in
# curlimages/curl; idempotent (a jar already present and verified is kept).
#   /jars/jmx      the JMX exporter java agent, loaded by Kafka, ZooKeeper, Schema Registry, Flink
#   /jars/flink    Kafka and JDBC connectors + PostgreSQL driver for the demo's Flink SQL job
set -eu
MAVEN=https://repo1.maven.org/maven2

fetch() { # fetch <dest dir> <group path> <artifact> <version>
  dir=$1 group=$2 artifact=$3 version=$4
  file="$artifact-$version.jar"
  url="$MAVEN/$group/$artifact/$version/$file"
  mkdir -p "$dir"
  if [ ! -s "$dir/$file" ]; then
    curl -fsSL --retry 3 -o "$dir/$file.part" "$url"
    mv "$dir/$file.part" "$dir/$file"
  fi
  expected=$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)
  echo "$expected  $dir/$file" | sha1sum -c -
}

fetch /jars/jmx io/prometheus/jmx jmx_prometheus_javaagent 0.20.0
# A stable name for the -javaagent flags of every JVM service.
cp /jars/jmx/jmx_prometheus_javaagent-0.20.0.jar /jars/jmx/jmx_prometheus_javaagent.jar

# Connector releases built for Flink 2.0 (the version of the flink image in the compose file).
fetch /jars/flink org/apache/flink flink-sql-connector-kafka 4.0.0-2.0
fetch /jars/flink org/apache/flink flink-connector-jdbc-core 4.0.0-2.0
fetch /jars/flink org/apache/flink flink-connector-jdbc-postgres 4.0.0-2.0
fetch /jars/flink org/postgresql postgresql 42.7.4
echo "jars ready"
