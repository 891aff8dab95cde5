//! One server process of the bed: spawned in its own process group with its output in a log
//! file, its PID recorded under the bed's run directory, and ended by PID when its handle drops
//! or when the next run starts (a test that panicked must not leave a broker holding a port).

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A loopback port free right now, below the kernel's ephemeral range (32768 and up by
/// default). A port the OS hands out for `:0` comes from that range, and any outgoing connection
/// (a client of ZooKeeper, a test's HTTP call) may take it between this call and the server's own
/// bind: on CI a broker once never came up that way. Ports are probed from a per-process offset so
/// that processes side by side rarely probe the same ones.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = std::process::id().wrapping_mul(7919) % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (offset + n) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + COUNT)
}

/// Where every bed keeps its PID files: shared by all runs on this machine, so a run can end
/// what an earlier, crashed one left behind.
pub fn pid_dir() -> PathBuf {
    let dir = crate::bed::cache_dir().join("pids");
    fs::create_dir_all(&dir).expect("the bed's PID directory");
    dir
}

/// Ends every process group recorded by an earlier run whose owner (the test process that
/// started it) is gone. Groups of a live owner belong to a bed still running beside us.
pub fn reap_orphans() {
    let Ok(entries) = fs::read_dir(pid_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some((pid, owner)) = fs::read_to_string(&path)
            .ok()
            .and_then(|s| parse_pid_file(&s))
        else {
            let _ = fs::remove_file(&path);
            continue;
        };
        if owner != std::process::id() && !alive(owner) {
            signal_group(pid, libc::SIGCONT);
            signal_group(pid, libc::SIGKILL);
            let _ = fs::remove_file(&path);
        }
    }
}

fn parse_pid_file(s: &str) -> Option<(i32, u32)> {
    let mut it = s.split_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn signal_group(pgid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory of ours.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// A running server. Dropping it kills its whole process group.
pub struct Process {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Process {
    /// Spawns `cmd` as `name`, stdout and stderr appended to `log`, stdin closed, tied to the
    /// life of this process (see [`spawn_tied`]): a bed kept in a `static` is never dropped, and
    /// its servers must still end with the test binary.
    pub fn spawn(name: &str, cmd: Command, log: &Path) -> Process {
        spawn_tied(name, cmd, log)
    }

    /// Spawns `cmd` from the calling thread. The command's environment and arguments are the
    /// caller's; the process gets a process group of its own so that stopping it also stops
    /// what it forked (a JVM's helpers, a shell's children).
    fn spawn_here(name: &str, mut cmd: Command, log: &Path) -> Process {
        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir).expect("the log directory");
        }
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .expect("the server's log file");
        let err = out.try_clone().expect("a second handle on the log");
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {:?}: {e}", cmd.get_program()));
        let pid_file = pid_dir().join(format!("{}-{}.pid", name, child.id()));
        fs::write(
            &pid_file,
            format!("{} {}\n", child.id(), std::process::id()),
        )
        .expect("the PID file");
        Process {
            name: name.to_string(),
            child: Some(child),
            log: log.to_path_buf(),
            pid_file,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// True while the process has not exited.
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last `max` bytes of the log, for failure messages.
    pub fn log_tail(&self, max: u64) -> String {
        log_tail(&self.log, max)
    }

    /// SIGTERM, then SIGKILL after `grace`: a clean shutdown (a broker hands off leadership).
    pub fn stop(&mut self, grace: Duration) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let pgid = child.id() as i32;
        signal_group(pgid, libc::SIGCONT);
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    /// SIGKILL to the whole group: a crash, nothing flushed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = child.id() as i32;
            signal_group(pgid, libc::SIGCONT);
            signal_group(pgid, libc::SIGKILL);
            let _ = child.wait();
        }
        let _ = fs::remove_file(&self.pid_file);
    }

    /// SIGSTOP: the process hangs (holds its sockets, answers nothing) until [`Process::resume`].
    /// Returns once every thread of the process is stopped: a thread busy in the kernel (a page
    /// fault on a loaded CI machine) stops only when it leaves it, and until then it may still
    /// answer a request (a JobManager once did, right after the signal).
    pub fn pause(&self) {
        let Some(c) = &self.child else {
            return;
        };
        signal_group(c.id() as i32, libc::SIGSTOP);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let running = running_threads(c.id());
            if running.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{}: threads {running:?} not stopped 10 s after SIGSTOP",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn resume(&self) {
        if let Some(c) = &self.child {
            signal_group(c.id() as i32, libc::SIGCONT);
        }
    }

    /// Polls `ready` every 200 ms until it answers `Ok`, the process exits, or `bound` passes;
    /// panics with the last reason and the log's tail.
    pub fn wait_ready<T>(
        &mut self,
        bound: Duration,
        mut ready: impl FnMut() -> Result<T, String>,
    ) -> T {
        let deadline = Instant::now() + bound;
        loop {
            let last = match ready() {
                Ok(v) => return v,
                Err(e) => e,
            };
            if !self.running() {
                panic!(
                    "{} exited before it was ready ({last}); log {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail(4000)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} not ready within {} s ({last}); log {}:\n{}",
                    self.name,
                    bound.as_secs(),
                    self.log.display(),
                    self.log_tail(4000)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

type SpawnJob = Box<dyn FnOnce() + Send>;

/// Spawns a server like [`Process::spawn_here`], tied to the life of the test process: the kernel
/// SIGKILLs it when the test process dies (even by SIGKILL), and an exit handler ends it when
/// the test binary exits normally (a bed kept in a `static` is never dropped).
///
/// PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, and test threads end
/// all the time, so every server is forked by one thread that lives as long as the process.
fn spawn_tied(name: &str, mut cmd: Command, log: &Path) -> Process {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("bed-spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("the bed's spawner thread");
        // SAFETY: registers a plain extern "C" function; it runs once, at exit.
        unsafe {
            libc::atexit(end_tied_at_exit);
        }
        Mutex::new(tx)
    });

    let parent = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing is allocated.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (name, log) = (name.to_string(), log.to_path_buf());
    let (tx, rx) = mpsc::channel();
    let job: SpawnJob = Box::new(move || {
        let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            Process::spawn_here(&name, cmd, &log)
        }));
        let _ = tx.send(spawned);
    });
    keeper
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(job)
        .expect("the bed's spawner thread is alive");
    let process = match rx.recv().expect("the spawner answers") {
        Ok(p) => p,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    if let Some(pid) = process.pid() {
        TIED.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(TiedProcess {
                pid,
                pid_file: pid_dir().join(format!("{}-{pid}.pid", process.name())),
            });
    }
    process
}

struct TiedProcess {
    pid: u32,
    pid_file: PathBuf,
}

static TIED: Mutex<Vec<TiedProcess>> = Mutex::new(Vec::new());

extern "C" fn end_tied_at_exit() {
    // try_lock: a thread that died holding the lock must not hang the exit.
    let Ok(tied) = TIED.try_lock() else {
        return;
    };
    for t in tied.iter() {
        // Process::kill removes the PID file: without one, the PID may be another's by now.
        if t.pid_file.exists() {
            // SAFETY: signals the process group the bed started; no memory is touched.
            unsafe {
                libc::kill(-(t.pid as i32), libc::SIGCONT);
                libc::kill(-(t.pid as i32), libc::SIGKILL);
            }
        }
        let _ = fs::remove_file(&t.pid_file);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `max` bytes of a file ("" when it cannot be read).
pub fn log_tail(path: &Path, max: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs a short command to completion (a tool: keytool, kafka-configs, psql) and returns its
/// stdout; panics with its stderr when it fails.
pub fn run_tool(what: &str, cmd: &mut Command) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One HTTP/1.0 request to a server of the bed on loopback (Flink's REST API, an exporter);
/// the body of a 2xx answer.
pub fn http(port: u16, method: &str, path: &str, timeout: Duration) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("{method} {path}: read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or(format!("{method} {path}: answer without headers"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or(format!("{method} {path}: no status line"))?;
    if (200..300).contains(&status) {
        Ok(body.to_string())
    } else {
        Err(format!("{method} {path}: HTTP {status}: {body}"))
    }
}

/// Threads of `pid` not in the stopped state ('T'), from `/proc/<pid>/task/*/stat`; empty
/// when all are stopped or the process is gone.
fn running_threads(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let stat = fs::read_to_string(t.path().join("stat")).ok()?;
            // The state follows the command name, which is in parentheses and may hold spaces.
            let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
            // Stopped, or a thread that is exiting.
            (!matches!(state, "T" | "t" | "Z" | "X"))
                .then(|| t.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_fields(pid, &["VmRSS:"]).map(|v| v[0])
}

/// Numeric fields of `/proc/<pid>/status` ("VmRSS:" in KiB, "Threads:"), read at one moment;
/// `None` when the process is gone or a field is missing.
pub fn status_fields(pid: u32, names: &[&str]) -> Option<Vec<u64>> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    names
        .iter()
        .map(|name| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// `GET path` on a loopback port, 10 s bound: the body of a 2xx answer (an exporter's
/// `/metrics`).
pub fn http_get(port: u16, path: &str) -> Result<String, String> {
    http(port, "GET", path, Duration::from_secs(10))
}

/// Calls `f` every `every` until it answers `Ok`; panics with its last reason after `bound`.
pub fn poll_until<T>(
    what: &str,
    bound: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + bound;
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {} s; last: {last}", bound.as_secs())
            }
            Err(_) => std::thread::sleep(every),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_process_has_every_thread_stopped_until_resumed() {
        let log = std::env::temp_dir().join(format!("pause-test-{}.log", std::process::id()));
        let mut busy = Command::new("sh");
        busy.args(["-c", "while :; do :; done"]);
        let mut p = Process::spawn("busy-loop", busy, &log);
        let pid = p.pid().expect("spawned");
        p.pause();
        assert!(
            running_threads(pid).is_empty(),
            "stopped once pause returns"
        );
        p.resume();
        poll_until(
            "the loop running again",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || match running_threads(pid).is_empty() {
                true => Err("still stopped".to_string()),
                false => Ok(()),
            },
        );
        p.kill();
        let _ = fs::remove_file(log);
    }
}
