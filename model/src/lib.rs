//! The pure model of a streaming pipeline, shared by the backend (which computes it) and the
//! panel (which draws it). Nothing here does I/O, so every rule is tested without a network.
//!
//! - [`bottleneck`]: which vertex is the root cause of backpressure.
//! - [`consumer_status`]: Burrow-style OK/WARN/STALL/STOP/REWIND from sampled consumer offsets.
//! - [`frame_contract`]: the frame, field and node-id names the backend writes and the panel reads.
//! - [`health`]: the four health states, how they combine and how they are coloured.
//! - [`job_health`]: one Flink job judged whole (state, vertices, checkpoints, bottleneck).
//! - [`node_stats`]: a node's numbers (names, units) and its two headline numbers.
//! - [`query_type`]: every query type the datasource serves, with its label and upstream.
//! - [`reason_code`]: why a verdict is what it is, as a code the rules match on.
//! - [`root_cause`]: the one cause named over the whole graph, and its victims.
//! - [`rules`]: the operators' health rules, one function per thing judged.
//! - [`thresholds`]: the operator-tunable limits behind every verdict.
//! - [`timeouts`]: the query timeouts a user may set.
//! - [`vertex_name`]: a Flink vertex's name shortened for a card.
//! - [`topology`]: the pipeline as a graph of nodes (with verdicts and numbers) and edges.

pub mod bottleneck;
pub mod consumer_status;
pub mod frame_contract;
pub mod health;
pub mod job_health;
pub mod node_stats;
pub mod query_type;
pub mod reason_code;
pub mod root_cause;
pub mod rules;
pub mod thresholds;
pub mod timeouts;
pub mod topology;
pub mod vertex_name;

pub use health::Health;
pub use query_type::QueryType;
pub use reason_code::ReasonCode;
pub use thresholds::Thresholds;
pub use topology::{Edge, Node, NodeKind, Stat, Topology};

/// A number a user gave, as an error message echoes it back: `1e308`, not its 309 digits.
pub fn shown(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e6).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shown_numbers_stay_short() {
        assert_eq!(super::shown(1e308), "1e308");
        assert_eq!(super::shown(-2.5e7), "-2.5e7");
        assert_eq!(super::shown(1e-300), "1e-300");
        assert_eq!(super::shown(300.5), "300.5");
        assert_eq!(super::shown(0.0), "0");
        assert_eq!(super::shown(999_999.0), "999999");
    }
}
