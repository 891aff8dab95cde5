#!/usr/bin/env bash
# Fetches the real Apache Flink 2.3 jars (PyPI's apache-flink-libraries wheel) into .cache/flink/
# and compiles the test jobs in tests/flink-jobs/. Idempotent: runs again only what is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
FLINK_VERSION=2.3.0
CACHE=.cache/flink
mkdir -p "$CACHE"

if ! ls "$CACHE"/lib/flink-dist*.jar >/dev/null 2>&1; then
    wheel=$(ls "$CACHE"/apache_flink_libraries-"$FLINK_VERSION"-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$wheel" ]; then
        echo "fetch-flink: downloading apache-flink-libraries==$FLINK_VERSION (~330 MB) from PyPI" >&2
        python3 -m pip download --no-deps "apache-flink-libraries==$FLINK_VERSION" -d "$CACHE"
        wheel=$(ls "$CACHE"/apache_flink_libraries-"$FLINK_VERSION"-*.whl | head -n1)
    fi
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    unzip -q "$wheel" 'pyflink/lib/*' 'pyflink/plugins/metrics-prometheus/*' -d "$tmp"
    rm -rf "$CACHE/lib" "$CACHE/plugins"
    mkdir -p "$CACHE/plugins"
    mv "$tmp"/pyflink/plugins/metrics-prometheus "$CACHE/plugins/"
    # lib/ last, in one rename: flink-dist's presence marks a complete unpack.
    mv "$tmp"/pyflink/lib "$CACHE/lib"
fi

# Recompile when a job source is newer than its classes.
stamp="$CACHE/classes/.compiled"
if [ ! -f "$stamp" ] || [ -n "$(find tests/flink-jobs -name '*.java' -newer "$stamp")" ]; then
    rm -rf "$CACHE/classes"
    mkdir -p "$CACHE/classes"
    javac -nowarn -cp "$CACHE/lib/*" -d "$CACHE/classes" tests/flink-jobs/*.java
    touch "$stamp"
fi
echo "fetch-flink: ready in $CACHE" >&2
