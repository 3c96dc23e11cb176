//! `keepalived -t -f` accepts what the writer produces.
//!
//! Needs a keepalived binary: `KEEPALIVED_BIN`, or `keepalived` on the PATH (the test command installs
//! Debian's package). Without one the test fails: it does not skip.
//!
//! keepalived's config test also reports things about the host (missing interfaces,
//! script users, script security); only messages about the syntax and values of the
//! configuration fail this test.

use std::path::PathBuf;
use std::process::Command;

use director_keepalived::{parse_file, write, FsSource};

const CORPUS: &[&str] = &[
    "lvs-dr-master.conf",
    "lvs-dr-backup.conf",
    "nat-http-digest.conf",
    "ssl-get.conf",
    "misc-check.conf",
    "sync-groups.conf",
    "fwmark.conf",
    "ipv6.conf",
    "includes/keepalived.conf",
];

/// Messages of keepalived's parser about the configuration text itself.
const SYNTAX_MESSAGES: &[&str] = &[
    "Unknown keyword",
    "invalid",
    "Invalid",
    "outside range",
    "missing",
    "Missing",
    "nexpected",
    "nmatched",
    "Unterminated",
    "deprecated",
];

/// Keywords of current keepalived that keepalived 2.2.7 (Debian 12) does not know yet.
const NEWER_KEYWORDS: &[&str] = &["'sni_name'", "'tls_compliant'"];

fn keepalived_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("KEEPALIVED_BIN") {
        return PathBuf::from(bin);
    }
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"] {
        let candidate = PathBuf::from(dir).join("keepalived");
        if candidate.exists() {
            return candidate;
        }
    }
    panic!("keepalived is not installed: run tests/setup.sh (apt-get install keepalived) or set KEEPALIVED_BIN");
}

#[test]
fn keepalived_accepts_the_written_corpus() {
    let bin = keepalived_bin();
    let dir = std::env::temp_dir().join(format!(
        "director-keepalived-accepts-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for name in CORPUS {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/corpus")
            .join(name);
        let parsed = parse_file(&FsSource, &path).unwrap();
        let text = write(&parsed.config).unwrap();
        let out = dir.join(name.replace('/', "-"));
        std::fs::write(&out, &text).unwrap();
        let output = Command::new(&bin)
            .arg("-t")
            .arg("-f")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in stderr.lines() {
            if SYNTAX_MESSAGES.iter().any(|m| line.contains(m))
                && !NEWER_KEYWORDS.iter().any(|k| line.contains(k))
            {
                failures.push(format!("{name}: {line}"));
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failures.is_empty(), "{failures:#?}");
}
