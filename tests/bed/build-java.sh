#!/usr/bin/env bash
# Builds the bed's Java pieces against the Flink 2.3 jars of .cache/flink/lib (run
# tests/flink/fetch-flink.sh first) into .cache/bed/flink/:
#   roas-udf.jar         pipelinehealth.roas.Throttle, the ROAS job's slowable UDF (cluster classpath)
#   classes/             pipelinehealth.bed.SubmitSql, the SQL script submitter (client classpath)
#   bash-java-utils.jar  Flink's own BashJavaUtils from the same wheel: the JVM memory flags that
#                        Flink's jobmanager.sh / taskmanager.sh compute, for our direct launches
# Idempotent: rebuilds only when a source is newer than its output.
set -euo pipefail
cd "$(dirname "$0")/../.."
FLINK=.cache/flink
OUT=.cache/bed/flink
SRC=tests/bed/flink
# The UDF is the demo's own source (provisioning/demo/udf), compiled here against Flink 2.3.
UDF_SRC=provisioning/demo/udf/src/main/java
if ! ls "$FLINK"/lib/flink-dist*.jar >/dev/null 2>&1; then
    echo "build-java: no Flink jars in $FLINK/lib (run tests/flink/fetch-flink.sh)" >&2
    exit 1
fi
mkdir -p "$OUT"

if [ ! -s "$OUT/bash-java-utils.jar" ]; then
    wheel=$(ls "$FLINK"/apache_flink_libraries-*.whl | head -n1)
    unzip -p "$wheel" pyflink/bin/bash-java-utils.jar > "$OUT/bash-java-utils.jar.part"
    mv "$OUT/bash-java-utils.jar.part" "$OUT/bash-java-utils.jar"
fi

stamp="$OUT/.built"
if [ ! -f "$stamp" ] || [ -n "$(find "$SRC" "$UDF_SRC" -name '*.java' -newer "$stamp")" ]; then
    rm -rf "$OUT/classes" "$OUT/udf-classes" "$OUT/roas-udf.jar"
    mkdir -p "$OUT/classes" "$OUT/udf-classes"
    javac -nowarn --release 17 -cp "$FLINK/lib/*" -d "$OUT/udf-classes" \
        $(find "$UDF_SRC/pipelinehealth/roas" -name '*.java')
    jar --create --file "$OUT/roas-udf.jar" -C "$OUT/udf-classes" .
    javac -nowarn --release 17 -cp "$FLINK/lib/*:$OUT/roas-udf.jar" -d "$OUT/classes" \
        $(find "$SRC/pipelinehealth/bed" -name '*.java')
    touch "$stamp"
fi
echo "build-java: ready in $OUT" >&2
