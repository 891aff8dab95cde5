//! Writing the plan to the cluster: topics created in batches, records produced with every
//! delivery checked, and each group's offsets committed from its own short-lived client.

use super::*;

/// Creates the plan's topics in batches, then waits until every broker's metadata shows each
/// with all its partitions led.
pub async fn create_topics(bed: &KafkaBed, plan: &Plan) {
    let admin: AdminClient<DefaultClientContext> = bed
        .kafka
        .plaintext_config()
        .create()
        .expect("an admin client");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(120)));
    let names: Vec<String> = (0..plan.topics).map(|t| plan.topic(t)).collect();
    for batch in names.chunks(CREATE_BATCH) {
        let new: Vec<NewTopic> = batch
            .iter()
            .map(|n| NewTopic::new(n, plan.partitions as i32, TopicReplication::Fixed(1)))
            .collect();
        let results = admin
            .create_topics(&new, &opts)
            .await
            .expect("CreateTopics");
        for r in results {
            match r {
                // A timed-out creation goes on in the controller: the metadata wait below decides.
                Ok(_)
                | Err((_, RDKafkaErrorCode::TopicAlreadyExists))
                | Err((_, RDKafkaErrorCode::RequestTimedOut)) => {}
                Err((t, code)) => panic!("CreateTopics {t}: {code:?}"),
            }
        }
    }
    let deadline = Instant::now() + TOPICS_BOUND;
    loop {
        let missing = bed.kafka.broker_ids().into_iter().find_map(|id| {
            let md = match bed.kafka.metadata_via(id, Duration::from_secs(30)) {
                Ok(md) => md,
                Err(e) => return Some(format!("broker {id}: {e}")),
            };
            let led: HashMap<&str, usize> = md
                .topics()
                .iter()
                .filter(|t| t.error().is_none())
                .map(|t| {
                    let n = t.partitions().iter().filter(|p| p.leader() >= 0).count();
                    (t.name(), n)
                })
                .collect();
            let short = names
                .iter()
                .filter(|n| led.get(n.as_str()) != Some(&plan.partitions))
                .count();
            (short > 0).then(|| format!("broker {id}: {short} topics not fully led yet"))
        });
        let Some(missing) = missing else { return };
        assert!(
            Instant::now() < deadline,
            "topics not ready within {} s: {missing}",
            TOPICS_BOUND.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Counts failed deliveries: the expected lags assume every record landed exactly once.
#[derive(Default)]
pub struct Deliveries {
    pub failed: AtomicUsize,
    pub first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.first_error
                .lock()
                .unwrap()
                .get_or_insert_with(|| e.to_string());
        }
    }
}

/// Produces the plan's records; returns how many.
pub fn produce(bed: &KafkaBed, plan: &Plan) -> usize {
    // Idempotence: a retried batch is not written twice, so the log ends are exact.
    let producer: BaseProducer<Deliveries> = bed
        .kafka
        .plaintext_config()
        .set("enable.idempotence", "true")
        .set("linger.ms", "20")
        .create_with_context(Deliveries::default())
        .expect("a producer");
    let mut sent = 0;
    for t in 0..plan.topics {
        let topic = plan.topic(t);
        for p in 0..plan.partitions {
            for _ in 0..plan.produced(t, p) {
                let mut record = BaseRecord::<(), str>::to(&topic)
                    .partition(p as i32)
                    .payload("x");
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                            record = r;
                            producer.poll(Duration::from_millis(50));
                        }
                        Err((e, _)) => panic!("produce to {topic}-{p}: {e}"),
                    }
                }
                sent += 1;
                if sent % 1000 == 0 {
                    producer.poll(Duration::ZERO);
                }
            }
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .expect("every record delivered");
    let ctx = producer.context();
    let failed = ctx.failed.load(Ordering::Relaxed);
    assert_eq!(
        failed,
        0,
        "{failed} records not delivered, first: {:?}",
        ctx.first_error.lock().unwrap()
    );
    sent
}

/// Commits group `g`'s offsets on every partition of its topic, without joining the group
/// (as a Flink source commits).
pub fn commit_group(bootstrap: &str, plan: &Plan, g: usize) -> Result<(), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", plan.group(g))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    let topic = plan.topic(plan.topic_of(g));
    let mut tpl = TopicPartitionList::with_capacity(plan.partitions);
    for p in 0..plan.partitions {
        tpl.add_partition_offset(&topic, p as i32, Offset::Offset(plan.committed(g, p)))
            .map_err(|e| e.to_string())?;
    }
    // The first commits of a run may meet a coordinator still loading its partition.
    let mut last = String::new();
    for attempt in 1..=5 {
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300 * attempt));
    }
    Err(format!("commit {}: {last}", plan.group(g)))
}

pub fn commit_groups(bed: &KafkaBed, plan: &Plan, from: usize, to: usize) {
    let bootstrap = bed.kafka.bootstrap();
    let next = AtomicUsize::new(from);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..COMMIT_THREADS {
            s.spawn(|| loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                if g >= to {
                    break;
                }
                if let Err(e) = commit_group(&bootstrap, plan, g) {
                    errors.lock().unwrap().push(e);
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "commits failed: {errors:?}");
}
