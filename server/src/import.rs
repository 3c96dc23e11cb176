//! The IO shell of `director import keepalived`: read the files, map, merge, then write through the service
//! layer (one transaction, one audit entry per object, `via: import`) or, with `--dry-run`, only print.
//!
//! The import writes the data directory. A running daemon keeps the desired state in memory and would not
//! see rows written behind its back (and would then write revisions over them), so the import refuses while
//! another process has the database open: stop the daemon (the kernel table stays as it is), import, start
//! it again. `--dry-run` only reads and works while the daemon runs.

use crate::options::GlobalOpts;
use anyhow::{bail, Context};
use director_convert::import::mapping::{self, Options};
use director_convert::import::merge::{self, Planned};
use director_core::model::Role;
use director_core::DesiredState;
use director_keepalived::FsSource;
use director_service::store::Store;
use director_service::{Actor, Outcome, Via};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `director import keepalived FILE... [--dry-run] [--node NAME]`.
pub async fn keepalived(
    global: &GlobalOpts,
    files: &[PathBuf],
    dry_run: bool,
    node: Option<String>,
) -> anyhow::Result<()> {
    if node.is_some() && files.len() > 1 {
        bail!("--node names the node of one file: import several files without it (each file's node is its router_id)\nnothing imported");
    }
    // keepalived's -i: the conditional lines of the file are those of the node it is imported for.
    let config_id = node.clone().unwrap_or_else(|| global.node());
    let options = Options {
        node,
        default_node: global.node(),
    };
    let mut imported = Vec::with_capacity(files.len());
    for file in files {
        let parsed = director_keepalived::parse_file_for(&FsSource, file, &config_id)
            .map_err(|e| anyhow::anyhow!("{e}\nnothing imported"))?;
        imported.push(
            mapping::map(parsed, &options).map_err(|e| anyhow::anyhow!("{e}\nnothing imported"))?,
        );
    }
    let mut warnings = imported
        .iter()
        .flat_map(|i| &i.warnings)
        .map(ToString::to_string)
        .collect::<Vec<_>>();
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let names = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let database = global.database();
    if !dry_run {
        let holders = database_holders(&database);
        if !holders.is_empty() {
            bail!(
                "{} is open in another process (pid {}): is `director serve` running on this data directory? \
                 The import writes the database directly; stop the daemon (the kernel table stays in place), \
                 import, and start it again. `--dry-run` works while it runs.\nnothing imported",
                database.display(),
                holders
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if dry_run {
        let state = if database.exists() {
            let store = Store::open(&database).await?;
            let state = store.load_state().await?;
            store.close().await;
            state
        } else {
            DesiredState::default()
        };
        let prepared = merge::prepare_all(&state, &imported)
            .map_err(|e| anyhow::anyhow!("{e}\nnothing imported"))?;
        print_merge_warnings(&prepared.warnings, &mut warnings);
        print_plan(&imported, &prepared.planned, "would be");
        println!("dry run: nothing written ({} warning(s))", warnings.len());
        return Ok(());
    }
    let service = global.open_service(Duration::from_secs(3600)).await?;
    let result = async {
        let prepared = merge::prepare_all(&service.snapshot(), &imported)
            .map_err(|e| anyhow::anyhow!("{e}\nnothing imported"))?;
        print_merge_warnings(&prepared.warnings, &mut warnings);
        let report = service
            .apply_batch(&actor(), prepared.batch)
            .await
            .context("nothing imported")?;
        print_plan(&imported, &prepared.planned, "");
        match report.revision {
            Some(r) => println!(
                "imported {names} at revision {r} ({} warning(s))",
                warnings.len()
            ),
            None => println!(
                "nothing to change: the data directory already holds {names} ({} warning(s))",
                warnings.len()
            ),
        }
        Ok(())
    }
    .await;
    service.store().close().await;
    // The command ends the process: the objects the import built (tens of thousands) are left to the
    // kernel to reclaim at exit instead of being freed one by one first.
    std::mem::forget(service);
    std::mem::forget(imported);
    result
}

/// Prints the warnings of the merge and counts them with the file's: the count printed at the end is the
/// number of warning lines printed.
fn print_merge_warnings(merge: &[director_convert::import::Warning], all: &mut Vec<String>) {
    for w in merge {
        eprintln!("warning: {w}");
        all.push(w.to_string());
    }
}

/// The person at the terminal, through the import.
fn actor() -> Actor {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "root".into());
    Actor::new(format!("cli:{user}"), Role::Admin, Via::Import)
}

fn print_plan(imported: &[mapping::Imported], planned: &[Planned], mood: &str) {
    let nodes = imported
        .iter()
        .map(|i| i.node.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    println!("node {nodes}:");
    for p in planned {
        let verb = match (p.outcome, mood.is_empty()) {
            (Outcome::Created, true) => "created".to_string(),
            (Outcome::Updated, true) => "updated".to_string(),
            (Outcome::Unchanged, true) => "unchanged".to_string(),
            (o, false) => format!("{mood} {}", o.as_str()),
        };
        let kind = p.kind.replace('_', " ");
        if p.detail.is_empty() {
            println!("  {kind} {}: {verb}", p.name);
        } else {
            println!("  {kind} {}: {verb} ({})", p.name, p.detail);
        }
    }
}

/// Processes other than this one that have `database` open (Linux /proc; processes whose file descriptors
/// cannot be read are not seen).
pub fn database_holders(database: &Path) -> Vec<u32> {
    let Ok(target) = database.canonicalize() else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|p: PathBuf| p == target);
        if holds {
            out.push(pid);
        }
    }
    out
}
