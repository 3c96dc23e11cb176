//! `--log-format json` (`DIRECTOR_LOG_FORMAT`): one JSON object per line, with level, target and message,
//! for log shippers; text stays the default.

use director_tests::{Daemon, DaemonOptions};
use serde_json::Value;

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let d = Daemon::start_with(DaemonOptions {
        extra_args: vec!["--log-format".into(), "json".into()],
        ..Default::default()
    })
    .await;
    let log = d.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines");
    let entries: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    for e in &entries {
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                .contains(&e["level"].as_str().unwrap_or("")),
            "level: {e}"
        );
        assert!(
            e["target"].as_str().is_some_and(|t| !t.is_empty()),
            "target: {e}"
        );
        assert!(e["timestamp"].as_str().is_some(), "timestamp: {e}");
    }
    let serving = entries
        .iter()
        .find(|e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("director is serving on http://"))
        })
        .unwrap_or_else(|| panic!("no 'director is serving' line in:\n{log}"));
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["target"], "director::serve");
    assert_eq!(
        serving["fields"]["node"], "test-node",
        "structured fields stay fields"
    );
}

#[tokio::test]
async fn text_logs_are_the_default() {
    let d = Daemon::start_with(DaemonOptions::default()).await;
    let log = d.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("director is serving on http://"))
        .unwrap_or_else(|| panic!("no 'director is serving' line in:\n{log}"));
    assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
    assert!(
        line.contains(" INFO director::serve: director is serving")
            && line.contains("node=test-node"),
        "{line}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes outside a terminal: {line}"
    );
}
