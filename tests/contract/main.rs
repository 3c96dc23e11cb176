//! The contract suite: schemathesis (a schema-driven fuzzer, installed by `tests/setup.sh` into
//! `tests/.venv`) runs against a real daemon with the OpenAPI document the daemon serves, with an admin
//! service token. It fails when a request the schema allows is refused on a single member's limit, when
//! a request the schema refuses is accepted, or when an answer (status, headers, body) is not the one the
//! document describes. The run is bounded (`-n` examples per operation, `DIRECTOR_CONTRACT_EXAMPLES`)
//! and deterministic (fixed generation, one worker).

use director_tests::{director_bin, Daemon};
use std::path::PathBuf;
use std::process::Command;

/// The schemathesis CLI: `$DIRECTOR_SCHEMATHESIS`, or the one `tests/setup.sh` installs.
fn schemathesis() -> PathBuf {
    if let Some(p) = std::env::var_os("DIRECTOR_SCHEMATHESIS") {
        return PathBuf::from(p);
    }
    let st = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/st");
    assert!(
        st.is_file(),
        "{} is missing: run tests/setup.sh (it installs schemathesis from PyPI) or set DIRECTOR_SCHEMATHESIS",
        st.display()
    );
    st
}

/// An admin service token made by `director token create` (a session would end when the fuzzer changes
/// the admin's password or deletes the user).
fn service_token(daemon: &Daemon) -> String {
    let out = Command::new(director_bin())
        .args([
            "token", "create", "--role", "admin", "--ttl", "1h", "--name", "contract",
        ])
        .arg("--data-dir")
        .arg(&daemon.data_dir)
        .output()
        .expect("running director token create");
    assert!(
        out.status.success(),
        "director token create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("a token is text")
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_keeps_its_documented_contract() {
    let daemon = Daemon::start().await;
    let token = service_token(&daemon);
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contract");
    let examples = std::env::var("DIRECTOR_CONTRACT_EXAMPLES").unwrap_or_else(|_| "25".into());
    let report = tempfile::tempdir().expect("temp dir");
    let out = Command::new(schemathesis())
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", &here)
        .arg("--config-file")
        .arg(here.join("schemathesis.toml"))
        .arg("run")
        .arg(daemon.url("/api/v1/openapi.json"))
        .args(["--url", &daemon.base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", &examples, "--generation-deterministic"])
        .args(["--workers", "1", "--no-color", "--request-timeout", "10"])
        .arg("--report-dir")
        .arg(report.path())
        .current_dir(report.path())
        .output()
        .expect("running schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "schemathesis found requests or answers outside the contract (see above); daemon log:\n{}",
        daemon.log_text()
    );
    // The run reached the API: the token worked throughout and operations were exercised.
    assert!(
        !stdout.contains("Authentication failed"),
        "the run's token stopped working"
    );
}
