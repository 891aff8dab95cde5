#!/usr/bin/env bash
# Resolves the test bed's jars from Maven Central: one jar set per folder of tests/bed/jars/,
# each described by its own pom.xml (sets never share a classpath, so Kafka 3.7's clients and a
# Flink connector's never meet). Copies each set into .cache/bed/jars/<set>/. Idempotent: a set
# is resolved again only when its pom is newer than its copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=.cache/bed/jars
mkdir -p "$CACHE"
for pom in tests/bed/jars/*/pom.xml; do
    set_name=$(basename "$(dirname "$pom")")
    out="$CACHE/$set_name"
    stamp="$out/.resolved"
    if [ -f "$stamp" ] && [ ! "$pom" -nt "$stamp" ]; then
        continue
    fi
    echo "fetch-jars: resolving $set_name from Maven Central" >&2
    rm -rf "$out"
    mkdir -p "$out"
    mvn -B -q -f "$pom" dependency:copy-dependencies \
        -DoutputDirectory="$PWD/$out" -DincludeScope=runtime -Dmdep.useBaseVersion=true >&2
    touch "$stamp"
done
echo "fetch-jars: ready in $CACHE" >&2
