//! End-to-end suite of directorctl: the real binary against a real daemon, as a pipeline runs it; each command,
//! its output, and the exit codes scripts rely on.

#[path = "../support.rs"]
mod support;

mod apply;
mod commands;
mod exit_codes;

use director_tests::Daemon;
use std::path::PathBuf;
use std::process::Stdio;

/// The `directorctl` binary under test: `$DIRECTORCTL_BIN`, or the one cargo built next to the test.
pub fn directorctl_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("DIRECTORCTL_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory");
    let bin = dir.join("directorctl");
    assert!(
        bin.exists(),
        "{} does not exist: build it first (`cargo build -p directorctl`) or set DIRECTORCTL_BIN",
        bin.display()
    );
    bin
}

/// What a run of directorctl gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The standard output as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "directorctl failed: {self:?}");
        self
    }
}

/// Runs directorctl against `d` with `token` (empty: none) and `args`.
pub async fn ctl(d: &Daemon, token: &str, args: &[&str]) -> Run {
    ctl_at(&d.grpc_url(), token, args, None).await
}

/// Runs directorctl against `server`, feeding `stdin`.
pub async fn ctl_at(server: &str, token: &str, args: &[&str], stdin: Option<&str>) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(directorctl_bin());
    cmd.args(args)
        .env("DIRECTOR_SERVER", server)
        .env_remove("DIRECTOR_TOKEN")
        .env_remove("DIRECTOR_OUTPUT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !token.is_empty() {
        cmd.env("DIRECTOR_TOKEN", token);
    }
    let mut child = cmd.spawn().expect("spawn directorctl");
    if let Some(mut input) = child.stdin.take() {
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).await.expect("write stdin");
        }
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("directorctl ends within 60 s")
        .expect("directorctl output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
