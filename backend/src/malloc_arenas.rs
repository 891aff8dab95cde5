//! Fewer glibc malloc arenas. glibc gives each thread that allocates under contention an arena
//! of its own (up to 8 per core) and keeps freed memory in it, so a snapshot built on tokio's
//! blocking threads leaves memory spread over many arenas. Measured with
//! `kafka_bench 100 100 50,500,2000` on the bed (release binary): peak RSS 33 / 55 / 130 MiB at
//! 50 / 500 / 2,000 groups with glibc's default, 27 / 41 / 96 MiB with 2 arenas; per extra group
//! 50 -> 30 KiB (50 to 500 groups) and 51 -> 38 KiB (500 to 2,000). glibc only; other C
//! libraries have no such setting.

/// Called first thing in `main`, before any thread starts.
#[allow(unsafe_code)]
pub fn limit() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of glibc's allocator; it is called before any other
    // thread exists, and M_ARENA_MAX with a positive value is a documented, valid request.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
