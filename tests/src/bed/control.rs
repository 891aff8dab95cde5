//! The bed's fault knobs as text commands, one per line: what the `bed` binary reads on stdin,
//! so a person, a pytest suite or a soak script can make a fault with one line. Pure parsing
//! here; [`crate::bed::Bed::apply`] carries a command out.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    StopBroker(i32),
    StartBroker(i32),
    KillBroker(i32),
    PauseBroker(i32),
    ResumeBroker(i32),
    /// Per-record sleep in the job's throttled operator.
    SlowOperator(Duration),
    UnslowOperator,
    BlockSink,
    UnblockSink,
    /// PostgreSQL shut down (fast: connections cut), nothing listening until started again.
    StopDatabase,
    StartDatabase,
    CancelJob,
    ResubmitJob,
    KillTaskManager,
    StartTaskManager,
    /// SIGSTOP: the JobManager keeps its port and answers nothing.
    PauseJobManager,
    ResumeJobManager,
    StopGenerator,
    StartGenerator,
}

/// Every command word with its argument, for usage messages.
pub const USAGE: &str = "stop-broker N | start-broker N | kill-broker N | pause-broker N | \
resume-broker N | slow-operator MS | unslow-operator | block-sink | unblock-sink | \
stop-database | start-database | cancel-job | \
resubmit-job | kill-taskmanager | start-taskmanager | pause-jobmanager | resume-jobmanager | \
stop-generator | start-generator";

impl Fault {
    pub fn parse(line: &str) -> Result<Fault, String> {
        let mut words = line.split_whitespace();
        let word = words.next().ok_or("empty command")?;
        let arg = words.next();
        if words.next().is_some() {
            return Err(format!("`{line}`: too many words (commands: {USAGE})"));
        }
        let number = |what: &str| -> Result<i64, String> {
            arg.ok_or(format!("`{word}` needs {what}"))?
                .parse::<i64>()
                .map_err(|_| format!("`{word}`: {what} must be a whole number"))
        };
        let broker = || -> Result<i32, String> {
            let id = number("a broker id")?;
            i32::try_from(id).map_err(|_| format!("`{word}`: broker id {id} is out of range"))
        };
        let no_arg = |f: Fault| match arg {
            None => Ok(f),
            Some(a) => Err(format!("`{word}` takes no argument (got `{a}`)")),
        };
        match word {
            "stop-broker" => Ok(Fault::StopBroker(broker()?)),
            "start-broker" => Ok(Fault::StartBroker(broker()?)),
            "kill-broker" => Ok(Fault::KillBroker(broker()?)),
            "pause-broker" => Ok(Fault::PauseBroker(broker()?)),
            "resume-broker" => Ok(Fault::ResumeBroker(broker()?)),
            "slow-operator" => {
                let ms = number("milliseconds per record")?;
                let ms = u64::try_from(ms).map_err(|_| "`slow-operator`: MS must be >= 0")?;
                Ok(Fault::SlowOperator(Duration::from_millis(ms)))
            }
            "unslow-operator" => no_arg(Fault::UnslowOperator),
            "block-sink" => no_arg(Fault::BlockSink),
            "unblock-sink" => no_arg(Fault::UnblockSink),
            "stop-database" => no_arg(Fault::StopDatabase),
            "start-database" => no_arg(Fault::StartDatabase),
            "cancel-job" => no_arg(Fault::CancelJob),
            "resubmit-job" => no_arg(Fault::ResubmitJob),
            "kill-taskmanager" => no_arg(Fault::KillTaskManager),
            "start-taskmanager" => no_arg(Fault::StartTaskManager),
            "pause-jobmanager" => no_arg(Fault::PauseJobManager),
            "resume-jobmanager" => no_arg(Fault::ResumeJobManager),
            "stop-generator" => no_arg(Fault::StopGenerator),
            "start-generator" => no_arg(Fault::StartGenerator),
            other => Err(format!("unknown command `{other}` (commands: {USAGE})")),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::StopBroker(id) => write!(f, "stop-broker {id}"),
            Fault::StartBroker(id) => write!(f, "start-broker {id}"),
            Fault::KillBroker(id) => write!(f, "kill-broker {id}"),
            Fault::PauseBroker(id) => write!(f, "pause-broker {id}"),
            Fault::ResumeBroker(id) => write!(f, "resume-broker {id}"),
            Fault::SlowOperator(d) => write!(f, "slow-operator {}", d.as_millis()),
            Fault::UnslowOperator => f.write_str("unslow-operator"),
            Fault::BlockSink => f.write_str("block-sink"),
            Fault::UnblockSink => f.write_str("unblock-sink"),
            Fault::StopDatabase => f.write_str("stop-database"),
            Fault::StartDatabase => f.write_str("start-database"),
            Fault::CancelJob => f.write_str("cancel-job"),
            Fault::ResubmitJob => f.write_str("resubmit-job"),
            Fault::KillTaskManager => f.write_str("kill-taskmanager"),
            Fault::StartTaskManager => f.write_str("start-taskmanager"),
            Fault::PauseJobManager => f.write_str("pause-jobmanager"),
            Fault::ResumeJobManager => f.write_str("resume-jobmanager"),
            Fault::StopGenerator => f.write_str("stop-generator"),
            Fault::StartGenerator => f.write_str("start-generator"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_reads_back_what_it_prints() {
        let all = [
            Fault::StopBroker(2),
            Fault::StartBroker(2),
            Fault::KillBroker(3),
            Fault::PauseBroker(1),
            Fault::ResumeBroker(1),
            Fault::SlowOperator(Duration::from_millis(20)),
            Fault::UnslowOperator,
            Fault::BlockSink,
            Fault::UnblockSink,
            Fault::StopDatabase,
            Fault::StartDatabase,
            Fault::CancelJob,
            Fault::ResubmitJob,
            Fault::KillTaskManager,
            Fault::StartTaskManager,
            Fault::PauseJobManager,
            Fault::ResumeJobManager,
            Fault::StopGenerator,
            Fault::StartGenerator,
        ];
        for f in all {
            assert_eq!(Fault::parse(&f.to_string()), Ok(f.clone()), "{f}");
            let word = f.to_string();
            let word = word.split(' ').next().unwrap();
            assert!(USAGE.contains(word), "{word} missing from USAGE");
        }
    }

    #[test]
    fn bad_commands_say_what_is_wrong() {
        assert!(Fault::parse("stop-broker")
            .unwrap_err()
            .contains("broker id"));
        assert!(Fault::parse("stop-broker x")
            .unwrap_err()
            .contains("whole number"));
        assert!(Fault::parse("slow-operator -5")
            .unwrap_err()
            .contains(">= 0"));
        assert!(Fault::parse("block-sink now")
            .unwrap_err()
            .contains("no argument"));
        assert!(Fault::parse("reboot")
            .unwrap_err()
            .contains("unknown command"));
        assert!(Fault::parse("  ").unwrap_err().contains("empty"));
    }
}
