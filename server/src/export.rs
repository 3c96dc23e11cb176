//! The IO shell of `director export`: reads the data directory (also while the daemon runs: SQLite WAL
//! readers do not block the writer) and prints to standard output.

use crate::options::GlobalOpts;
use anyhow::bail;
use director_core::DesiredState;
use director_service::store::Store;

async fn load(global: &GlobalOpts) -> anyhow::Result<DesiredState> {
    let database = global.database();
    if !database.exists() {
        bail!(
            "{} does not exist: nothing to export (is --data-dir right?)",
            database.display()
        );
    }
    let store = Store::open(&database).await?;
    let state = store.load_state().await;
    store.close().await;
    Ok(state?)
}

/// `director export keepalived [--node NAME]`.
pub async fn keepalived(global: &GlobalOpts, node: Option<String>) -> anyhow::Result<()> {
    let state = load(global).await?;
    let node = node.unwrap_or_else(|| global.node());
    let (config, warnings) = director_convert::export::keepalived::config(&state, &node);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let text = director_keepalived::write(&config)
        .map_err(|e| anyhow::anyhow!("cannot write keepalived.conf: {e}"))?;
    print!("{text}");
    Ok(())
}

/// `director export ipvsadm [--node NAME]`.
pub async fn ipvsadm(global: &GlobalOpts, node: Option<String>) -> anyhow::Result<()> {
    let state = load(global).await?;
    let node = node.unwrap_or_else(|| global.node());
    print!(
        "{}",
        director_convert::export::ipvsadm::render(&director_convert::export::ipvsadm::table(
            &state, &node
        ))
    );
    Ok(())
}
