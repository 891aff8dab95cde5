#!/bin/bash
# Demo producer: creates the `clicks` topic and writes about 50 JSON click events a second to it,
# forever. Runs in the cp-kafka image (kafka-topics, kafka-console-producer).
set -euo pipefail
BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
RATE=${RATE:-50}

kafka-topics --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
  --topic clicks --partitions 4 --replication-factor 1

pages=(home search product cart checkout)
while true; do
  ts=$(date -u +%Y-%m-%dT%H:%M:%S.%3N)
  for ((i = 0; i < RATE; i++)); do
    printf '{"user_id":"user-%d","page":"%s","ts":"%s"}\n' \
      $((RANDOM % 500)) "${pages[RANDOM % ${#pages[@]}]}" "$ts"
  done
  sleep 1
done | kafka-console-producer --bootstrap-server "$BOOTSTRAP" --topic clicks
