//! What the bench writes: topic and group names, records produced per partition, offsets
//! committed per group, so that every expected lag is known without asking Kafka.

/// What the bench writes, so that every expected lag is known without asking Kafka.
pub struct Plan {
    pub topics: usize,
    pub partitions: usize,
    pub width: usize,
}

impl Plan {
    pub fn new(topics: usize, partitions: usize) -> Plan {
        let width = (topics.saturating_sub(1).to_string().len()).max(3);
        Plan {
            topics,
            partitions,
            width,
        }
    }

    pub fn topic(&self, t: usize) -> String {
        format!("t{t:0w$}", w = self.width)
    }

    /// The first [`FILTER_TOPICS`](super::FILTER_TOPICS) topics as a regex (`t00[0-9]` for 3-digit names).
    pub fn filter(&self) -> String {
        format!("t{}[0-9]", "0".repeat(self.width - 1))
    }

    pub fn group(&self, g: usize) -> String {
        format!("bench-g{g:04}")
    }

    pub fn topic_of(&self, g: usize) -> usize {
        g % self.topics
    }

    /// 3 to 7 records: neighbouring partitions differ, so a row swapped with another shows.
    pub fn produced(&self, t: usize, p: usize) -> i64 {
        3 + ((t + 2 * p) % 5) as i64
    }

    /// Somewhere from 0 to the log end: a commit of 0 (nothing consumed) included.
    pub fn committed(&self, g: usize, p: usize) -> i64 {
        let end = self.produced(self.topic_of(g), p);
        (g + p) as i64 % (end + 1)
    }

    pub fn lag(&self, g: usize) -> i64 {
        let t = self.topic_of(g);
        (0..self.partitions)
            .map(|p| self.produced(t, p) - self.committed(g, p))
            .sum()
    }
}
