//! Clients of the bed's cluster: rdkafka and Java client configs for either listener,
//! metadata, topics created and deleted through the Admin API, and ground truth about groups
//! read with Kafka's own `kafka-consumer-groups`.

use super::*;

impl KafkaCluster {
    /// An rdkafka config for the PLAINTEXT listeners.
    pub fn plaintext_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.bootstrap());
        c
    }

    /// An rdkafka config for the SASL_SSL listeners as `user`, trusting the bed's CA (PEM),
    /// with host name verification on (the certificates name 127.0.0.1).
    pub fn sasl_ssl_config(&self, user: &str, password: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.bootstrap_sasl_ssl())
            .set("security.protocol", "SASL_SSL")
            .set("sasl.mechanism", SASL_MECHANISM)
            .set("sasl.username", user)
            .set("sasl.password", password)
            .set("ssl.ca.pem", self.ca_pem())
            .set("ssl.endpoint.identification.algorithm", "https");
        c
    }

    /// A Java client properties file (`--command-config`) for the SASL_SSL listeners as `user`.
    pub fn java_client_properties(&self, user: &str, password: &str) -> PathBuf {
        let n = self.client_files.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("client-{user}-{n}.properties"));
        fs::write(
            &path,
            format!(
                "security.protocol=SASL_SSL\nsasl.mechanism={SASL_MECHANISM}\n\
                 sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \
                 required username=\"{user}\" password=\"{password}\";\n\
                 ssl.truststore.type=PKCS12\nssl.truststore.location={}\n\
                 ssl.truststore.password={STORE_PASSWORD}\n",
                self.tls.truststore_path().display()
            ),
        )
        .expect("a client properties file");
        path
    }

    /// Cluster metadata (all topics) from the first live broker that answers.
    pub fn metadata(&self) -> Result<Metadata, String> {
        let mut last = "no broker is up".to_string();
        for b in self.live() {
            match metadata_via_port(b.plaintext_port, METADATA_TIMEOUT) {
                Ok(md) => return Ok(md),
                Err(e) => last = format!("broker {}: {e}", b.id),
            }
        }
        Err(last)
    }

    /// Metadata as one broker answers it (a client bootstrapped on it alone).
    pub fn metadata_via(&self, id: i32, timeout: Duration) -> Result<Metadata, String> {
        metadata_via_port(self.broker(id).plaintext_port, timeout)
    }

    /// Creates a topic and waits until every live broker's metadata shows all its partitions
    /// with a leader and a full ISR.
    pub fn create_topic(&self, name: &str, partitions: i32, replication_factor: i32) {
        let admin: AdminClient<DefaultClientContext> = self
            .plaintext_config()
            .create()
            .expect("an rdkafka admin client");
        let topic = NewTopic::new(
            name,
            partitions,
            TopicReplication::Fixed(replication_factor),
        );
        let opts = AdminOptions::new().operation_timeout(Some(TOPIC_BOUND));
        let results = block_on(admin.create_topics([&topic], &opts))
            .unwrap_or_else(|e| panic!("CreateTopics {name}: {e}"));
        for r in results {
            if let Err((t, code)) = r {
                panic!("CreateTopics {t}: {code:?}");
            }
        }
        self.wait_topics(TOPIC_BOUND, &format!("topic {name} ready"), |md| {
            let Some(t) = md.topics().iter().find(|t| t.name() == name) else {
                return Err("not in metadata".into());
            };
            let ready = t.error().is_none()
                && t.partitions().len() == partitions as usize
                && t.partitions()
                    .iter()
                    .all(|p| p.leader() >= 0 && p.isr().len() == replication_factor as usize);
            if ready {
                Ok(())
            } else {
                Err(format!(
                    "partitions (leader, isr): {:?}",
                    t.partitions()
                        .iter()
                        .map(|p| (p.leader(), p.isr().to_vec()))
                        .collect::<Vec<_>>()
                ))
            }
        });
    }

    /// Deletes a topic and waits until no live broker lists it.
    pub fn delete_topic(&self, name: &str) {
        let admin: AdminClient<DefaultClientContext> = self
            .plaintext_config()
            .create()
            .expect("an rdkafka admin client");
        let opts = AdminOptions::new().operation_timeout(Some(TOPIC_BOUND));
        let results = block_on(admin.delete_topics(&[name], &opts))
            .unwrap_or_else(|e| panic!("DeleteTopics {name}: {e}"));
        for r in results {
            if let Err((t, code)) = r {
                panic!("DeleteTopics {t}: {code:?}");
            }
        }
        self.wait_topics(TOPIC_BOUND, &format!("topic {name} deleted"), |md| {
            if md.topics().iter().any(|t| t.name() == name) {
                Err("still in metadata".into())
            } else {
                Ok(())
            }
        });
    }

    /// Polls until `check` holds on the metadata of every live broker.
    fn wait_topics(
        &self,
        bound: Duration,
        what: &str,
        check: impl Fn(&Metadata) -> Result<(), String>,
    ) {
        let deadline = Instant::now() + bound;
        loop {
            let last = self
                .live()
                .iter()
                .map(|b| {
                    metadata_via_port(b.plaintext_port, METADATA_TIMEOUT)
                        .and_then(|md| check(&md))
                        .map_err(|e| format!("broker {}: {e}", b.id))
                })
                .find_map(Result::err);
            let Some(last) = last else { return };
            if Instant::now() >= deadline {
                panic!(
                    "{what}: not within {} s ({last})\n{}",
                    bound.as_secs(),
                    self.logs_tail(1500)
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// `ConsumerGroupCommand --describe --group G` over PLAINTEXT: the group's partitions with
    /// committed offset, log end and lag as Kafka computes them.
    pub fn describe_group_offsets(&self, group: &str) -> Vec<GroupOffsetRow> {
        let out = describe_group_tool(&self.live_bootstrap(), &[], group, &[]);
        assert!(
            out.success,
            "ConsumerGroupCommand --describe {group} failed ({}):\n{}",
            out.status,
            out.text()
        );
        parse_group_offsets(&out.stdout, group).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The same as `user` over SASL_SSL (`--command-config`); `Err` holds the tool's output
    /// when it fails (an authorization error, for one).
    pub fn describe_group_offsets_as(
        &self,
        user: &str,
        password: &str,
        group: &str,
    ) -> Result<Vec<GroupOffsetRow>, String> {
        let props = self.java_client_properties(user, password);
        let config = props.display().to_string();
        let out = describe_group_tool(
            &self.bootstrap_sasl_ssl(),
            &["--command-config", &config],
            group,
            &[],
        );
        // The tool prints errors and may still exit 0; an error line means no answer (but a
        // group that does not exist is an empty answer, as in parse_group_offsets).
        let missing = out.stdout.contains("does not exist.");
        if !out.success || (out.text().contains("Error: ") && !missing) {
            return Err(out.text());
        }
        parse_group_offsets(&out.stdout, group)
    }

    /// `ConsumerGroupCommand --describe --group G --state` over PLAINTEXT.
    pub fn describe_group_state(&self, group: &str) -> GroupState {
        let out = describe_group_tool(&self.live_bootstrap(), &[], group, &["--state"]);
        assert!(
            out.success,
            "ConsumerGroupCommand --describe {group} --state failed ({}):\n{}",
            out.status,
            out.text()
        );
        parse_group_state(&out.text(), group).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `ConsumerGroupCommand --bootstrap-server B [config] --describe --timeout 30000 --group G
/// [after]`: the tool's own default timeout (5 s) is too short for a loaded 2-core machine.
fn describe_group_tool(
    bootstrap: &str,
    config: &[&str],
    group: &str,
    after: &[&str],
) -> ToolOutput {
    let mut args = vec!["--bootstrap-server", bootstrap];
    args.extend_from_slice(config);
    args.extend_from_slice(&["--describe", "--timeout", "30000", "--group", group]);
    args.extend_from_slice(after);
    kafka_tool(CONSUMER_GROUP_COMMAND, &args)
}

/// Drives one future to completion on this thread. rdkafka's admin futures are completed by
/// its own polling thread, so no async runtime is needed (and a test already inside one would
/// refuse a nested runtime).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}
