//! The declarative pipeline description: which topics feed which Flink job (through which
//! consumer group) and where its sinks write. Set in the datasource (`pipeline`) or per query;
//! anything it leaves out is discovered (see `assemble`).
//!
//! ```json
//! {"jobs": [{"job": "clickstream-enrich", "topics": ["clicks"], "group": "enrich",
//!            "sinks": [{"vertex": "Sink: orders", "database": "postgres orders"}]}]}
//! ```

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineDescription {
    #[serde(default)]
    pub jobs: Vec<JobLink>,
}

/// How one Flink job connects to Kafka and to its databases.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobLink {
    /// Job name or job id.
    pub job: String,
    /// Topics the job's sources read.
    #[serde(default)]
    pub topics: Vec<String>,
    /// The consumer group the job's Kafka sources commit to.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub sinks: Vec<SinkLink>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SinkLink {
    /// Sink vertex name (or a part of it); absent: every sink of the job.
    #[serde(default)]
    pub vertex: Option<String>,
    /// What the sink writes to, as shown on the graph.
    pub database: String,
}

impl PipelineDescription {
    /// Parse a description from settings or a query, naming the bad field on error.
    pub fn parse(value: &serde_json::Value) -> Result<PipelineDescription, String> {
        if value.is_null() {
            return Ok(PipelineDescription::default());
        }
        // The ConfigEditor stores it as text; queries may send an object.
        let owned;
        let value = match value.as_str() {
            Some(text) if text.trim().is_empty() => return Ok(PipelineDescription::default()),
            Some(text) => {
                owned = serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| format!("pipeline description is not valid JSON: {e}"))?;
                &owned
            }
            None => value,
        };
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            format!("pipeline description, field `{path}`: {}", e.into_inner())
        })
    }

    /// The link for a job, matched by id or exact name.
    pub fn for_job(&self, id: &str, name: &str) -> Option<&JobLink> {
        self.jobs.iter().find(|l| l.job == id || l.job == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_objects_and_text() {
        let v = json!({"jobs": [{"job": "j", "topics": ["t"], "group": "g", "sinks": [{"database": "db"}]}]});
        let d = PipelineDescription::parse(&v).unwrap();
        assert_eq!(d.jobs[0].topics, vec!["t"]);
        let d2 = PipelineDescription::parse(&serde_json::Value::String(v.to_string())).unwrap();
        assert_eq!(d, d2);
        assert!(PipelineDescription::parse(&json!(""))
            .unwrap()
            .jobs
            .is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let err =
            PipelineDescription::parse(&json!({"jobs": [{"job": "j", "topic": "t"}]})).unwrap_err();
        assert!(err.contains("topic"), "{err}");
        let err = PipelineDescription::parse(&json!({"jobs": [{"job": "j", "sinks": [{}]}]}))
            .unwrap_err();
        assert!(
            err.contains("jobs[0].sinks[0]") && err.contains("database"),
            "{err}"
        );
        let err = PipelineDescription::parse(&json!("{not json")).unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
    }
}
