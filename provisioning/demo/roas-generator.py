#!/usr/bin/env python3
"""Ad traffic for the Marketing ROAS job (provisioning/demo/roas.sql).

Writes JSON events to three Kafka topics, event time = now (UTC, ISO-8601):
  impressions  {"impression_id", "campaign_id", "cost", "ts"}
  clicks       {"click_id", "impression_id", "campaign_id", "cost", "ts"}      (some impressions)
  conversions  {"conversion_id", "click_id", "campaign_id", "revenue", "ts"}   (some clicks, 0.5-3 s later)
Each campaign has fixed prices (CAMPAIGNS), so a window's spend is
impressions * impression_cost + clicks * click_cost and its revenue conversions * revenue:
`--describe` prints them as JSON for a test to check the job's arithmetic.

Runs anywhere with Python 3 and `pip install confluent-kafka` (its wheel bundles librdkafka):
  python3 roas-generator.py --bootstrap kafka:9092 --rate 50 [--create-topics]
Flags fall back to the environment: BOOTSTRAP, RATE (impressions per second), CREATE_TOPICS=1,
PARTITIONS, REPLICATION. SIGTERM or SIGINT: flush and exit.
"""

import argparse
import heapq
import json
import os
import random
import signal
import sys
import time
import uuid
from datetime import datetime, timezone

CAMPAIGNS = [
    {"campaign_id": "brand-search", "impression_cost": 0.002, "click_cost": 1.20,
     "ctr": 0.15, "cvr": 0.25, "revenue": 24.0},
    {"campaign_id": "spring-sale", "impression_cost": 0.004, "click_cost": 0.90,
     "ctr": 0.12, "cvr": 0.15, "revenue": 18.0},
    {"campaign_id": "retargeting", "impression_cost": 0.003, "click_cost": 0.70,
     "ctr": 0.10, "cvr": 0.30, "revenue": 15.0},
    {"campaign_id": "video-launch", "impression_cost": 0.010, "click_cost": 1.50,
     "ctr": 0.08, "cvr": 0.05, "revenue": 40.0},
    {"campaign_id": "newsletter-promo", "impression_cost": 0.001, "click_cost": 0.40,
     "ctr": 0.20, "cvr": 0.08, "revenue": 12.0},
]
TOPICS = ("impressions", "clicks", "conversions")
TICK = 0.1  # seconds between bursts


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def parse_args():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", default=env("BOOTSTRAP", "kafka:9092"))
    p.add_argument("--rate", type=float, default=float(env("RATE", "50")),
                   help="impressions per second, over all campaigns")
    p.add_argument("--create-topics", action="store_true",
                   default=env("CREATE_TOPICS", "") in ("1", "true", "yes"))
    p.add_argument("--partitions", type=int, default=int(env("PARTITIONS", "6")))
    p.add_argument("--replication", type=int, default=int(env("REPLICATION", "1")))
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--describe", action="store_true", help="print the campaigns as JSON and exit")
    return p.parse_args()


def create_topics(admin_cls, new_topic_cls, bootstrap, partitions, replication):
    admin = admin_cls({"bootstrap.servers": bootstrap})
    wanted = [new_topic_cls(t, num_partitions=partitions, replication_factor=replication)
              for t in TOPICS]
    for topic, future in admin.create_topics(wanted).items():
        try:
            future.result()
            print(f"roas-generator: created topic {topic}", flush=True)
        except Exception as e:  # an existing topic is fine
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise


def main():
    args = parse_args()
    if args.describe:
        print(json.dumps(CAMPAIGNS))
        return 0
    # Imported here so that --describe needs no Kafka client.
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    if args.create_topics:
        create_topics(AdminClient, NewTopic, args.bootstrap, args.partitions, args.replication)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    stats = {"delivered": 0, "failed": 0}

    def on_delivery(err, _msg):
        if err is not None:
            stats["failed"] += 1
            print(f"roas-generator: delivery failed: {err}", file=sys.stderr, flush=True)
            return
        stats["delivered"] += 1
        if stats["delivered"] == 1:
            print("roas-generator: ready (first event delivered)", flush=True)

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "client.id": "roas-generator",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 20,
    })

    def send(topic, key, event):
        while True:
            try:
                producer.produce(topic, key=key, value=json.dumps(event), on_delivery=on_delivery)
                return
            except BufferError:  # the local queue is full while a broker is away: wait
                producer.poll(0.1)

    rng = random.Random(args.seed)
    pending = []  # (due, seq, conversion): conversions follow their click a little later
    seq = 0
    carry = 0.0
    produced = {t: 0 for t in TOPICS}
    next_tick = time.monotonic()
    next_report = next_tick + 5
    print(f"roas-generator: {args.rate:g} impressions/s to {args.bootstrap}", flush=True)
    while not stop:
        now = time.time()
        carry += args.rate * TICK
        burst, carry = int(carry), carry - int(carry)
        for _ in range(burst):
            c = rng.choice(CAMPAIGNS)
            impression_id = uuid.uuid4().hex
            send("impressions", impression_id, {
                "impression_id": impression_id, "campaign_id": c["campaign_id"],
                "cost": c["impression_cost"], "ts": iso(now)})
            produced["impressions"] += 1
            if rng.random() >= c["ctr"]:
                continue
            click_id = uuid.uuid4().hex
            send("clicks", click_id, {
                "click_id": click_id, "impression_id": impression_id,
                "campaign_id": c["campaign_id"], "cost": c["click_cost"], "ts": iso(now)})
            produced["clicks"] += 1
            if rng.random() < c["cvr"]:
                seq += 1
                heapq.heappush(pending, (now + rng.uniform(0.5, 3.0), seq, {
                    "conversion_id": uuid.uuid4().hex, "click_id": click_id,
                    "campaign_id": c["campaign_id"], "revenue": c["revenue"]}))
        while pending and pending[0][0] <= now:
            conversion = heapq.heappop(pending)[2]
            conversion["ts"] = iso(time.time())
            send("conversions", conversion["click_id"], conversion)
            produced["conversions"] += 1
        producer.poll(0)
        if time.monotonic() >= next_report:
            next_report += 5
            print(f"roas-generator: produced {produced}, delivered {stats['delivered']}, "
                  f"failed {stats['failed']}", flush=True)
        next_tick += TICK
        time.sleep(max(0.0, next_tick - time.monotonic()))
    left = producer.flush(10)
    print(f"roas-generator: stopped, produced {produced}, {left} undelivered", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
