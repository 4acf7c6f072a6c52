//! Running the built `sluice` binary: where it is, and a `run` that returns
//! exit code, stdout and stderr, with a time limit so a hung process fails its
//! test instead of the whole CI run.

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one `sluice` run may take before the test fails; override with
/// `SLUICE_TEST_TIMEOUT_SECS`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Path to the `sluice` binary that belongs to this test build.
///
/// `CARGO_BIN_EXE_sluice` exists only for tests of the `sluice` package
/// itself, so this finds it next to the test executable instead:
/// `target/<profile>/deps/integration-…` → `target/<profile>/sluice`, which
/// picks the release binary for `cargo test --release` and the debug one
/// otherwise. `SLUICE_BIN` overrides it.
pub fn sluice() -> PathBuf {
    if let Some(path) = std::env::var_os("SLUICE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("the test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("sluice{}", std::env::consts::EXE_SUFFIX));
    let profile = profile_dir.file_name().and_then(OsStr::to_str).unwrap_or("?");
    assert!(
        bin.is_file(),
        "the sluice binary is missing at {}: build it with `cargo build{}` (`just test` does), \
         or point SLUICE_BIN at one",
        bin.display(),
        if profile == "release" { " --release" } else { "" },
    );
    bin
}

/// A `Command` for `sluice` with the given arguments, stdin closed.
pub fn sluice_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(sluice());
    cmd.args(args).stdin(Stdio::null()).env("NO_COLOR", "1");
    cmd
}

/// What a finished `sluice` run left behind.
pub struct RunOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when the process was ended by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    /// Panics, showing the output, unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        self
    }

    /// Panics, showing the output, unless the run succeeded.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    /// Panics unless stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr does not contain {needle:?}\n{self}");
        self
    }

    /// Panics unless stdout contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout does not contain {needle:?}\n{self}");
        self
    }
}

impl fmt::Display for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        writeln!(f, "exit code: {:?}", self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

impl fmt::Debug for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Runs `sluice ARGS…` to completion (bounded by the time limit).
pub fn run<I, S>(args: I) -> RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let (child, command) = spawn(args, &[]);
    wait_with_limit(child, command, |_| {})
}

/// Like [`run`], with extra environment variables set for the process.
pub fn run_with_env<I, S>(args: I, env: &[(&str, &OsStr)]) -> RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let (child, command) = spawn(args, env);
    wait_with_limit(child, command, |_| {})
}

/// Like [`run`], and also returns the process's peak resident set size in
/// bytes (`VmHWM` of `/proc/<pid>/status`, Linux only), read every time the
/// process is polled (every 10 ms). Polling is enough: `VmHWM` is a
/// high-water mark, so any read reports the peak so far, and reading late
/// can only miss growth in the last few milliseconds before exit.
pub fn run_measuring_peak_rss<I, S>(args: I) -> (RunOutput, u64)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_env_measuring_peak_rss(args, &[])
}

/// [`run_measuring_peak_rss`] with extra environment variables.
pub fn run_with_env_measuring_peak_rss<I, S>(args: I, env: &[(&str, &OsStr)]) -> (RunOutput, u64)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let (child, command) = spawn(args, env);
    let mut peak = 0;
    let output = wait_with_limit(child, command, |pid| {
        if let Some(hwm) = peak_rss(pid) {
            peak = peak.max(hwm);
        }
    });
    (output, peak)
}

/// `VmHWM` of a live process, in bytes; `None` once it has exited (a zombie
/// has no memory lines) or where `/proc` does not exist.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Starts `sluice ARGS…` with piped output; returns it and its command line.
fn spawn<I, S>(args: I, env: &[(&str, &OsStr)]) -> (Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let command = std::iter::once(OsStr::new("sluice"))
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let child = sluice_command(&args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    (child, command)
}

fn timeout() -> Duration {
    std::env::var("SLUICE_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Waits for `child`, calling `on_poll(pid)` every time it is found still
/// running, and kills it (failing the test) past the time limit.
fn wait_with_limit(mut child: Child, command: String, mut on_poll: impl FnMut(u32)) -> RunOutput {
    // Drain both pipes on their own threads so a chatty child never blocks.
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sluice") {
            break status;
        }
        on_poll(child.id());
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command} did not finish within {:?}; killed it", timeout());
        }
        thread::sleep(Duration::from_millis(10));
    };
    RunOutput {
        command,
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
