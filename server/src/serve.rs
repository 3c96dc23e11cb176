//! `director serve`: open the store, bootstrap the first admin, pick the dataplane, run the HTTP server until
//! SIGTERM or SIGINT.

use crate::api::{self, AppState, Limits};
use crate::cli::{DataplaneMode, GlobalOpts, ServeOpts};
use crate::runtime::{DataplaneInfo, Runtime};
use crate::service::{Actor, Service, Via};
use anyhow::Context;
use director_core::model::Role;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub async fn run(global: GlobalOpts, opts: ServeOpts) -> anyhow::Result<()> {
    let dataplane = select_dataplane(opts.dataplane)?;
    let service = Arc::new(global.open_service(opts.session_ttl).await?);
    bootstrap_admin(&service, &global.data_dir).await?;
    let runtime = Arc::new(Runtime {
        node: service.node().to_string(),
        version: env!("CARGO_PKG_VERSION"),
        started_at: crate::service::now(),
        started: Instant::now(),
        dataplane,
    });
    let limits = Limits {
        body_bytes: opts.body_limit,
        request_timeout: opts.request_timeout,
    };
    let app = api::router(
        AppState {
            service: service.clone(),
            runtime: runtime.clone(),
        },
        limits,
    );
    let listener = tokio::net::TcpListener::bind(opts.http_listen)
        .await
        .with_context(|| format!("listening on {}", opts.http_listen))?;
    tracing::info!(
        node = %runtime.node,
        http = %listener.local_addr()?,
        revision = service.snapshot().revision,
        dataplane = %runtime.dataplane.active,
        "director is serving on http://{}", listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("HTTP server")?;
    service.store().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Until the IPVS dataplane lands, every mode runs without one; `ipvs` refuses to start rather than pretend.
fn select_dataplane(mode: DataplaneMode) -> anyhow::Result<DataplaneInfo> {
    let kernel_has_ipvs = Path::new("/proc/net/ip_vs").exists();
    match mode {
        DataplaneMode::None => Ok(DataplaneInfo {
            requested: "none".into(),
            active: "none".into(),
            detail: "dataplane disabled by --dataplane none: the kernel is not touched".into(),
        }),
        DataplaneMode::Ipvs if !kernel_has_ipvs => anyhow::bail!(
            "--dataplane ipvs: this kernel has no IPVS (/proc/net/ip_vs is missing); run `modprobe ip_vs` and retry"
        ),
        DataplaneMode::Ipvs => anyhow::bail!(
            "--dataplane ipvs: this build of director does not program IPVS yet; use --dataplane none or auto"
        ),
        DataplaneMode::Auto => {
            let detail = if kernel_has_ipvs {
                "this build of director does not program IPVS yet: running without a dataplane"
            } else {
                "this kernel has no IPVS (run `modprobe ip_vs`): running without a dataplane"
            };
            tracing::warn!("NO DATAPLANE: {detail}; the desired state is kept but the kernel is not touched");
            Ok(DataplaneInfo { requested: "auto".into(), active: "none".into(), detail: detail.into() })
        }
    }
}

/// A fresh installation gets an `admin` user. Its password comes from DIRECTOR_INITIAL_ADMIN_PASSWORD, or is
/// generated and written to `<data-dir>/initial-admin-password` (mode 0600).
async fn bootstrap_admin(service: &Service, data_dir: &Path) -> anyhow::Result<()> {
    if service.has_users().await? {
        return Ok(());
    }
    let actor = Actor::new("bootstrap", Role::Admin, Via::Cli);
    let (password, file) = match std::env::var("DIRECTOR_INITIAL_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, None),
        _ => {
            use rand::Rng;
            let p: String = rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(20)
                .map(char::from)
                .collect();
            (p, Some(data_dir.join("initial-admin-password")))
        }
    };
    service
        .create_user(&actor, "admin", &password, Role::Admin)
        .await?;
    match file {
        Some(file) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&file)
                .with_context(|| format!("writing {}", file.display()))?;
            writeln!(f, "{password}")?;
            tracing::warn!(file = %file.display(), "created user admin; its password is in the file: log in and change it");
        }
        None => tracing::warn!(
            "created user admin with the password from DIRECTOR_INITIAL_ADMIN_PASSWORD"
        ),
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
}
