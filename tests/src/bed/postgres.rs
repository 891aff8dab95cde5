//! The pipeline's sink: a real PostgreSQL server (Debian's `postgresql` package, 15 here) with a
//! cluster of its own made by `initdb` under the bed's run directory, on a free loopback port,
//! TCP only. It holds database `pipeline`, owned by user `demo`/`demo`, with the tables of
//! `provisioning/demo/postgres-init.sql` (the file the demo's postgres container loads).
//!
//! The server runs as the `postgres` OS user (PostgreSQL refuses root), through `setpriv`, which
//! execs in place: the PID we record is the postmaster's, and its process group holds the
//! backends.
//!
//! Fault knob: [`Postgres::block_sink`] holds `LOCK TABLE roas_by_campaign IN ACCESS EXCLUSIVE
//! MODE` in an open transaction of a separate `psql` session, so the job's JDBC writes block
//! inside PostgreSQL for real until [`Postgres::unblock_sink`]. [`Postgres::take_down`] stops
//! the server (the database down) until [`Postgres::start_again`].

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::bed::process::{self, free_port, Process};
use crate::bed::repo_root;

pub const DATABASE: &str = "pipeline";
pub const USER: &str = "demo";
pub const PASSWORD: &str = "demo";
/// The ROAS job's sink table.
pub const SINK_TABLE: &str = "roas_by_campaign";
const SUPERUSER_PASSWORD: &str = "postgres";
const START_BOUND: Duration = Duration::from_secs(60);

/// The schema file shared with the demo.
pub fn init_sql() -> PathBuf {
    repo_root().join("provisioning/demo/postgres-init.sql")
}

/// `/usr/lib/postgresql/<newest>/bin`, where initdb and postgres live (not on PATH on Debian).
pub fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL server binaries under /usr/lib/postgresql/*/bin \
         (apt-get install postgresql)",
    )
}

pub struct Postgres {
    server: Mutex<Process>,
    port: u16,
    bin: PathBuf,
    dir: PathBuf,
    block: Mutex<Option<SinkBlock>>,
    started_in: Duration,
}

/// Starts the server on `dir/data` and `port` and returns once it accepts connections.
fn serve(bin: &Path, dir: &Path, port: u16) -> Process {
    let mut server = as_postgres(&bin.join("postgres"));
    server
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string()])
        // TCP on loopback only: no socket file to clash with the system's cluster.
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
        ])
        // A throwaway cluster: durability costs only time here.
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "shared_buffers=32MB"])
        .args(["-c", "max_connections=40"]);
    let mut server = Process::spawn("postgres", server, &dir.join("postgres.log"));
    let isready = bin.join("pg_isready");
    server.wait_ready(START_BOUND, || {
        let out = Command::new(&isready)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "2"])
            .output()
            .map_err(|e| format!("pg_isready: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
    });
    server
}

impl Postgres {
    /// initdb in `run_dir/postgres/data`, starts the server, creates user `demo` and database
    /// `pipeline`, applies the shared schema. Panics with the server's log when a step fails.
    pub fn start(run_dir: &Path) -> Postgres {
        let t0 = Instant::now();
        process::reap_orphans();
        let bin = bin_dir();
        let dir = run_dir.join("postgres");
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("the PostgreSQL data directory");
        let pwfile = dir.join("superuser.pw");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).expect("the superuser password file");
        let owner = format!("{}:{}", os_id("-u"), os_id("-g"));
        process::run_tool(
            "chown the PostgreSQL directory",
            Command::new("chown").args(["-R", &owner]).arg(&dir),
        );
        process::run_tool(
            "chmod the data directory",
            Command::new("chmod").arg("0700").arg(&data),
        );
        process::run_tool(
            "initdb",
            as_postgres(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "-E", "UTF8", "--no-locale"])
                .args(["--auth-host=scram-sha-256", "--auth-local=trust"])
                .arg(format!("--pwfile={}", pwfile.display())),
        );

        let port = free_port();
        let server = serve(&bin, &dir, port);
        let mut pg = Postgres {
            server: Mutex::new(server),
            port,
            bin,
            dir,
            block: Mutex::new(None),
            started_in: Duration::ZERO,
        };
        pg.run_psql(
            "create the demo user and database",
            "postgres",
            SUPERUSER_PASSWORD,
            "postgres",
            |c| {
                c.args(["-c", &format!("CREATE USER {USER} PASSWORD '{PASSWORD}'")])
                    .args(["-c", &format!("CREATE DATABASE {DATABASE} OWNER {USER}")]);
            },
        );
        // As the demo's image does: the init script runs as the database's own user.
        pg.run_psql("apply postgres-init.sql", USER, PASSWORD, DATABASE, |c| {
            c.arg("-f").arg(init_sql());
        });
        pg.started_in = t0.elapsed();
        pg
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `jdbc:postgresql://127.0.0.1:<port>/pipeline`.
    pub fn jdbc_url(&self) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// `127.0.0.1:<port>`: what replaces the demo's `postgres:5432` in the job's SQL.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// How long start() took (initdb, server up, schema applied).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    pub fn pid(&self) -> Option<u32> {
        lock(&self.server).pid()
    }

    /// Runs `sql` as user demo in database pipeline; the rows unaligned, `|`-separated, one a
    /// line, no header. Panics when psql fails.
    pub fn psql(&self, sql: &str) -> String {
        self.run_psql("psql", USER, PASSWORD, DATABASE, |c| {
            c.args(["-c", sql]);
        })
    }

    /// The first column of the first row of `sql`'s answer, parsed.
    pub fn query_i64(&self, sql: &str) -> i64 {
        let out = self.psql(sql);
        let first = out.lines().next().unwrap_or_default().trim();
        first
            .parse()
            .unwrap_or_else(|_| panic!("`{sql}` answered `{out}`, not a number"))
    }

    /// Rows in `table` (blocks while the table is locked: use [`SinkBlock::query`] then).
    pub fn count_rows(&self, table: &str) -> i64 {
        self.query_i64(&format!("SELECT count(*) FROM {table}"))
    }

    /// Sessions waiting for a lock on `table`: the job's blocked JDBC writers while the sink is
    /// blocked. Reads pg_locks, so it answers while the table is locked.
    pub fn lock_waiters(&self, table: &str) -> i64 {
        self.query_i64(&format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = '{table}' AND NOT l.granted"
        ))
    }

    /// Takes `LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE` in a transaction of its own psql
    /// session and returns once the lock is held; the lock lasts until the handle is released or
    /// dropped.
    pub fn lock_table(&self, table: &str) -> SinkBlock {
        SinkBlock::take(self, table)
    }

    /// The knob: locks the sink table until [`Postgres::unblock_sink`]. A second call while
    /// blocked does nothing.
    pub fn block_sink(&self) {
        let mut block = lock(&self.block);
        if block.is_none() {
            *block = Some(self.lock_table(SINK_TABLE));
        }
    }

    pub fn unblock_sink(&self) {
        if let Some(b) = lock(&self.block).take() {
            b.release();
        }
    }

    pub fn sink_blocked(&self) -> bool {
        lock(&self.block).is_some()
    }

    /// Runs `sql` inside the blocking session (the only one that can read the locked table).
    /// Panics when the sink is not blocked.
    pub fn query_while_blocked(&self, sql: &str) -> String {
        lock(&self.block)
            .as_mut()
            .expect("the sink is blocked")
            .query(sql)
    }

    /// SIGTERM (a smart shutdown: waits for the job's connections), SIGKILL after 10 s.
    pub fn stop(&self) {
        self.unblock_sink();
        lock(&self.server).stop(Duration::from_secs(10));
    }

    /// The knob "database down": a fast shutdown (SIGINT: the job's connections are cut at
    /// once, as when the database host goes away); nothing listens on the port until
    /// [`Postgres::start_again`].
    pub fn take_down(&self) {
        self.unblock_sink();
        let pid = lock(&self.server).pid();
        if let Some(pid) = pid {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
        lock(&self.server).stop(Duration::from_secs(10));
    }

    /// The server started again on the same data and port (the job's JDBC sink reconnects).
    pub fn start_again(&self) {
        let mut server = lock(&self.server);
        if !server.running() {
            *server = serve(&self.bin, &self.dir, self.port);
        }
    }

    fn psql_command(&self, user: &str, password: &str, db: &str) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", user, "-d", db])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]);
        c
    }

    fn run_psql(
        &self,
        what: &str,
        user: &str,
        password: &str,
        db: &str,
        args: impl FnOnce(&mut Command),
    ) -> String {
        let mut c = self.psql_command(user, password, db);
        args(&mut c);
        let out = c
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run psql: {e}"));
        assert!(
            out.status.success(),
            "{what} failed ({}): {}\nserver log {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log_path().display(),
            process::log_tail(&self.log_path(), 2000)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(b) = lock(&self.block).take() {
            b.release();
        }
    }
}

/// An open psql session holding an ACCESS EXCLUSIVE lock on a table. Released (ROLLBACK, the
/// session ends) by [`SinkBlock::release`] or on drop.
pub struct SinkBlock {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    table: String,
}

const MARK: &str = "__sinkblock_done__";

impl SinkBlock {
    fn take(pg: &Postgres, table: &str) -> SinkBlock {
        let mut cmd = pg.psql_command(USER, PASSWORD, DATABASE);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        let mut child = cmd.spawn().expect("psql for the lock session");
        let stdin = child.stdin.take();
        let lines = read_lines(child.stdout.take().expect("piped stdout"));
        let mut block = SinkBlock {
            child,
            stdin,
            lines,
            table: table.to_string(),
        };
        block.query(&format!(
            "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;"
        ));
        block
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Runs `sql` in the locking transaction and returns its output (psql -At). Panics when the
    /// session died or does not answer within 30 s.
    pub fn query(&mut self, sql: &str) -> String {
        let stdin = self.stdin.as_mut().expect("the lock session is open");
        writeln!(stdin, "{sql}\n\\echo {MARK}").expect("write to the lock session");
        stdin.flush().expect("flush the lock session");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut out = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line == MARK => return out,
                Ok(line) => {
                    out.push_str(&line);
                    out.push('\n');
                }
                Err(e) => panic!(
                    "the lock session on {} did not answer `{sql}`: {e}",
                    self.table
                ),
            }
        }
    }

    /// ROLLBACK and end the session: the sink's blocked writes go through.
    pub fn release(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "ROLLBACK;\n\\q");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The server ends the transaction when the connection drops.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SinkBlock {
    fn drop(&mut self) {
        self.end();
    }
}

fn read_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A command run as the `postgres` OS user: setpriv execs in place (no extra parent process).
/// A change of user clears the parent-death signal the bed's spawner set, so setpriv sets it
/// again: the server still dies with the test process.
fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--reset-env",
        "--pdeathsig=SIGKILL",
    ])
    .arg(program);
    c
}

fn os_id(flag: &str) -> String {
    process::run_tool("id postgres", Command::new("id").args([flag, "postgres"]))
        .trim()
        .to_string()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
