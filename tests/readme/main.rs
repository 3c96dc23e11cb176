//! The README is true: every shell block in it runs, as written, in the kernel VM (tests/vm), in the order
//! of the README, as one session on a node called `lvs-01`; the output a block shows after `# ->` is the
//! output the command gave (a JSON document shown in part: what it shows must be there, `...` stands for the
//! rest).
//!
//! Each ```` ```sh ```` block carries a mark on the line before its fence, so that a new block cannot be
//! forgotten:
//! - `<!-- test: run -->` runs it; `<!-- test: run, daemon stopped -->` runs it with the daemon stopped (the
//!   commands that write the data directory while no daemon has it open);
//! - `<!-- test: ci -->` is the test command itself, which `.ci/run` runs;
//! - `<!-- test: not run: REASON -->` names why a machine without it cannot run it (e.g. Docker).
//!
//! The blocks keep their line numbers in the script the VM runs, so a failure names the README's line.
//! What the script adds around them (the daemon in the background, failures that stop the run, the node's
//! interfaces, the files a block reads) is in `tests/readme/prelude.sh`; the only change made to a command
//! is that `cargo run --release -p director --` is the `director` binary this suite was built with.
//! Needs root and the packages tests/setup.sh installs (qemu, curl, jq, grpcurl); without them it fails.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Debug, PartialEq)]
enum Mark {
    Run { daemon_stopped: bool },
    Ci,
    NotRun(String),
}

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    fence: usize,
    /// 1-based line of the closing fence.
    end: usize,
    lang: String,
    mark: Option<Mark>,
}

fn parse_mark(line: &str) -> Option<Result<Mark, String>> {
    let inner = line
        .trim()
        .strip_prefix("<!-- test:")?
        .strip_suffix("-->")?
        .trim();
    Some(match inner {
        "run" => Ok(Mark::Run {
            daemon_stopped: false,
        }),
        "run, daemon stopped" => Ok(Mark::Run {
            daemon_stopped: true,
        }),
        "ci" => Ok(Mark::Ci),
        other => match other.strip_prefix("not run:") {
            Some(reason) if !reason.trim().is_empty() => Ok(Mark::NotRun(reason.trim().to_string())),
            _ => Err(format!("unknown mark {line:?}: use run, \"run, daemon stopped\", ci or \"not run: REASON\"")),
        },
    })
}

/// The fenced blocks of a Markdown text, with the mark on the line before each (errors name the line).
fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let fence = i + 1;
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .ok_or(format!("README.md:{fence}: the block is not closed"))?
            + 1;
        let mark = match i.checked_sub(1).and_then(|p| parse_mark(lines[p])) {
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => return Err(format!("README.md:{}: {e}", fence - 1)),
            None => None,
        };
        out.push(Block {
            fence,
            end,
            lang: lang.trim().to_string(),
            mark,
        });
        i = end;
    }
    Ok(out)
}

/// A `# ->` line: the output of the call before it, shown in the README.
#[derive(Debug, PartialEq)]
struct Expectation {
    line: usize,
    shown: String,
}

/// The script the VM runs: line N of it is line N of the README in every block that runs; the fences become
/// the calls that open and close a block, the `# ->` lines the calls that keep the output for the check.
fn script(text: &str, blocks: &[Block]) -> (String, Vec<Expectation>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![String::new(); lines.len()];
    let mut expectations = Vec::new();
    out[0] = "source /readme/prelude.sh".to_string();
    for b in blocks {
        let Some(Mark::Run { daemon_stopped }) = b.mark else {
            continue;
        };
        out[b.fence - 1] = format!(
            "readme_block_start {}{}",
            b.fence,
            if daemon_stopped { " stopped" } else { "" }
        );
        let mut j = b.fence;
        while j < b.end - 1 {
            let line = lines[j];
            if let Some(shown) = line.trim_start().strip_prefix("# ->") {
                // The shown output goes on while the next lines are indented comments.
                let mut shown = shown.trim().to_string();
                let first = j;
                while j + 1 < b.end - 1 && lines[j + 1].trim_start().starts_with("#    ") {
                    j += 1;
                    shown.push(' ');
                    shown.push_str(lines[j].trim_start().trim_start_matches('#').trim());
                }
                out[first] = format!("readme_expect {}", first + 1);
                expectations.push(Expectation {
                    line: first + 1,
                    shown,
                });
            } else {
                out[j] = line.replace("cargo run --release -p director --", "director");
            }
            j += 1;
        }
        out[b.end - 1] = format!("readme_block_end {}", b.end);
    }
    out.push("readme_done".to_string());
    (out.join("\n") + "\n", expectations)
}

/// The JSON a `# ->` line shows, with `...` (the rest of an object or array) taken out.
fn shown_json(shown: &str) -> Result<Value, String> {
    let mut s = shown.to_string();
    for (from, to) in [(",...", ""), (", ...", ""), ("...,", ""), ("...", "")] {
        s = s.replace(from, to);
    }
    serde_json::from_str(&s).map_err(|e| format!("not JSON once `...` is taken out ({e}): {s}"))
}

/// Whether `actual` has everything `shown` shows: the keys of an object (with matching values), the first
/// elements of an array, equal scalars.
fn shows(shown: &Value, actual: &Value) -> bool {
    match (shown, actual) {
        (Value::Object(s), Value::Object(a)) => s
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| shows(v, av))),
        (Value::Array(s), Value::Array(a)) => {
            s.len() <= a.len() && s.iter().zip(a).all(|(sv, av)| shows(sv, av))
        }
        _ => shown == actual,
    }
}

#[test]
fn every_shell_block_of_the_readme_is_marked() {
    let text = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let blocks = blocks(&text).unwrap_or_else(|e| panic!("{e}"));
    let unmarked: Vec<String> = blocks
        .iter()
        .filter(|b| b.lang == "sh" && b.mark.is_none())
        .map(|b| format!("README.md:{}", b.fence))
        .collect();
    assert!(
        unmarked.is_empty(),
        "shell blocks without a `<!-- test: ... -->` mark on the line before: {unmarked:?}"
    );
    assert!(
        blocks
            .iter()
            .filter(|b| b.lang != "sh")
            .all(|b| b.mark.is_none()),
        "only ```sh blocks are run: a mark on another block does nothing"
    );
    // The test command is what CI runs.
    let ci = std::fs::read_to_string(workspace().join(".ci/run")).expect(".ci/run");
    for b in blocks.iter().filter(|b| b.mark == Some(Mark::Ci)) {
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[b.fence..b.end - 1] {
            assert!(
                ci.lines().any(|l| l.trim() == line.trim()),
                "README.md: {line:?} is marked `ci` but .ci/run does not run it"
            );
        }
    }
    let (_, expectations) = script(&text, &blocks);
    for e in &expectations {
        shown_json(&e.shown).unwrap_or_else(|err| panic!("README.md:{}: {err}", e.line));
    }
}

#[test]
fn the_shown_output_is_compared_in_part() {
    let shown = shown_json(r#"{"items":[{"actor":"admin",...,"summary":"weight 1 -> 5",...}]}"#)
        .expect("parses");
    let actual: Value = serde_json::from_str(
        r#"{"items":[{"actor":"admin","via":"rest","summary":"weight 1 -> 5"},{"actor":"x"}],"next":null}"#,
    )
    .expect("json");
    assert!(shows(&shown, &actual));
    let other: Value =
        serde_json::from_str(r#"{"items":[{"actor":"admin","summary":"weight 1 -> 6"}]}"#)
            .expect("json");
    assert!(!shows(&shown, &other), "a different value is a mismatch");
    assert!(!shows(&shown, &serde_json::json!({"items": []})));

    let text =
        "# t\n<!-- test: run -->\n```sh\ncurl -s x\n# -> {\"a\":1,\n#     \"b\":2}\necho\n```\n";
    let bl = blocks(text).expect("blocks");
    let (s, e) = script(text, &bl);
    assert_eq!(
        s.lines().collect::<Vec<_>>(),
        [
            "source /readme/prelude.sh",
            "",
            "readme_block_start 3",
            "curl -s x",
            "readme_expect 5",
            "",
            "echo",
            "readme_block_end 8",
            "readme_done"
        ]
    );
    assert_eq!(
        e,
        [Expectation {
            line: 5,
            shown: "{\"a\":1, \"b\":2}".to_string()
        }]
    );
    assert!(blocks("<!-- test: maybe -->\n```sh\nx\n```\n").is_err());
}

fn tool(name: &str, candidates: &[PathBuf]) -> PathBuf {
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("{name} is missing (looked at {candidates:?}): run tests/setup.sh as root")
        })
}

#[test]
fn every_command_of_the_readme_runs_as_shown() {
    let root = workspace();
    let text = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = blocks(&text).unwrap_or_else(|e| panic!("{e}"));
    let (script, expectations) = script(&text, &blocks);
    let director = director_tests::director_bin();
    let directorctl = director.with_file_name("directorctl");
    assert!(
        directorctl.is_file(),
        "{} is missing: cargo build -p directorctl",
        directorctl.display()
    );
    let grpcurl = tool(
        "grpcurl",
        &[
            std::env::var_os("DIRECTOR_GRPCURL")
                .map(PathBuf::from)
                .unwrap_or_default(),
            root.join("tests/.tools/bin/grpcurl"),
        ],
    );
    let curl = tool("curl", &[PathBuf::from("/usr/bin/curl")]);
    let jq = tool("jq", &[PathBuf::from("/usr/bin/jq")]);
    let restore = tool(
        "ipvsadm-restore",
        &[PathBuf::from("/usr/sbin/ipvsadm-restore")],
    );

    let dir = root.join("target/readme");
    std::fs::create_dir_all(&dir).expect("target/readme");
    let script_path = dir.join("readme.sh");
    std::fs::write(&script_path, &script).expect("script");
    let file = |src: &Path, dst: &str| format!("{}:{dst}", src.display());
    let fixtures = root.join("tests/readme");
    let log = dir.join("vm.log");
    let out = Command::new(root.join("tests/vm/run.sh"))
        .args(["--bin".as_ref(), director.as_os_str()])
        .args(["--bin".as_ref(), directorctl.as_os_str()])
        .args(["--bin".as_ref(), grpcurl.as_os_str()])
        .args(["--bin".as_ref(), curl.as_os_str()])
        .args(["--bin".as_ref(), jq.as_os_str()])
        .arg("--file")
        .arg(file(&restore, "/usr/sbin/ipvsadm-restore"))
        .arg("--file")
        .arg(file(&fixtures.join("prelude.sh"), "/readme/prelude.sh"))
        .arg("--file")
        .arg(file(
            &fixtures.join("keepalived-lvs-01.conf"),
            "/etc/keepalived/keepalived.conf",
        ))
        .arg("--file")
        .arg(file(
            &fixtures.join("keepalived-lvs-02.conf"),
            "/root/readme/lvs-02-keepalived.conf",
        ))
        .arg("--file")
        .arg(file(
            &fixtures.join("cluster.yaml"),
            "/root/readme/cluster.yaml",
        ))
        .arg("--script")
        .arg(&script_path)
        .args(["--timeout", "600", "--mem", "2048", "--smp", "2"])
        .arg("--log")
        .arg(&log)
        .output()
        .expect("tests/vm/run.sh (run tests/setup.sh as root first)");
    let console = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let failed: Vec<&str> = console
        .lines()
        .filter(|l| l.starts_with("README-FAILED"))
        .collect();
    assert!(
        failed.is_empty() && out.status.code() == Some(0) && console.contains("\nREADME-DONE"),
        "the README does not run as shown: {failed:?} (script {}, log {}):\n{console}\n{}",
        script_path.display(),
        log.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every block that runs ran.
    for b in blocks
        .iter()
        .filter(|b| matches!(b.mark, Some(Mark::Run { .. })))
    {
        assert!(
            console.contains(&format!("README-BLOCK {}\n", b.fence)),
            "README.md:{}: the block did not run",
            b.fence
        );
    }
    // Every output shown is the output given.
    let mut wrong = Vec::new();
    for e in &expectations {
        let prefix = format!("README-OUTPUT {} ", e.line);
        let Some(given) = console.lines().find_map(|l| l.strip_prefix(&prefix)) else {
            wrong.push(format!("README.md:{}: no output was kept", e.line));
            continue;
        };
        let shown =
            shown_json(&e.shown).unwrap_or_else(|err| panic!("README.md:{}: {err}", e.line));
        match serde_json::from_str::<Value>(given) {
            Ok(actual) if shows(&shown, &actual) => {}
            _ => wrong.push(format!(
                "README.md:{}: shows {}\n  the command gave {given}",
                e.line, e.shown
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
