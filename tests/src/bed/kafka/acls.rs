//! Who may do what on the SASL_SSL listener: the `kafka-acls` commands that give the reader
//! Read and Describe on every topic and group, Describe and DescribeConfigs on the cluster, and
//! deny it Describe on the restricted group.

use super::*;

impl KafkaCluster {
    pub(super) fn acl_commands(&self) -> Vec<Vec<String>> {
        let reader = format!("User:{READER_USER}");
        let base = [
            "--authorizer-properties".to_string(),
            format!("zookeeper.connect={}", self.zk_connect),
            "--add".to_string(),
        ];
        let with = |rest: &[&str]| -> Vec<String> {
            base.iter()
                .cloned()
                .chain(rest.iter().map(|s| s.to_string()))
                .collect()
        };
        vec![
            with(&[
                "--allow-principal",
                &reader,
                "--operation",
                "Read",
                "--operation",
                "Describe",
                "--topic",
                "*",
                "--group",
                "*",
            ]),
            with(&[
                "--allow-principal",
                &reader,
                "--operation",
                "Describe",
                "--operation",
                "DescribeConfigs",
                "--cluster",
            ]),
            // A DENY beats every ALLOW: Describe (OffsetFetch, DescribeGroups, ListGroups'
            // filter) on this one group fails for the reader.
            with(&[
                "--deny-principal",
                &reader,
                "--operation",
                "Describe",
                "--group",
                RESTRICTED_GROUP,
            ]),
        ]
    }
}
