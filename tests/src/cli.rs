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
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let command = std::iter::once(OsStr::new("sluice"))
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let child = sluice_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    wait_with_limit(child, command)
}

fn timeout() -> Duration {
    std::env::var("SLUICE_TEST_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn wait_with_limit(mut child: Child, command: String) -> RunOutput {
    // Drain both pipes on their own threads so a chatty child never blocks.
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sluice") {
            break status;
        }
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
