//! `director serve`: open the store, bootstrap the first admin, pick the dataplane, start the reconciler and
//! the HTTP server, and run until SIGTERM or SIGINT.

use crate::options::{DataplaneMode, GlobalOpts, ServeOpts};
use anyhow::Context;
use axum::serve::ListenerExt as _;
use director_core::model::Role;
use director_http::{AppState, Limits};
use director_runtime::daemon::{DataplaneInfo, Runtime};
use director_runtime::dataplane::{AddressesOnly, Dataplane, IpvsDataplane, MemoryDataplane};
use director_runtime::reconciler::{Reconciler, ReconcilerConfig};
use director_service::{Actor, Service, Via};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often the daemon reads revocations made by other processes (`director token revoke`).
const REVOCATION_POLL: std::time::Duration = std::time::Duration::from_millis(500);

pub async fn run(global: GlobalOpts, opts: ServeOpts) -> anyhow::Result<()> {
    // Settings that can be wrong are checked before anything starts.
    let tls_files = opts.tls_files()?;
    let sync_settings = opts.sync_settings(&global.node())?;
    let tls_cert = tls_files
        .map(|files| director_tls::ReloadingCert::load("--tls-cert", files))
        .transpose()?;
    let peer_tls = match &sync_settings {
        Some(s) => {
            let cert = director_tls::ReloadingCert::load("--peer-cert", s.tls.files.clone())?;
            let roots = director_tls::read_roots(&s.tls.ca)
                .map_err(|e| anyhow::anyhow!("--peer-ca: {e}"))?;
            Some((
                cert.clone(),
                director_tls::mutual_server_config(cert, roots)?,
            ))
        }
        None => None,
    };
    let (dataplane_info, dataplane) = select_dataplane(opts.dataplane)?;
    let service = Arc::new(
        global
            .open_service(opts.session_ttl)
            .await?
            .with_login_limits(opts.login_limits())
            .with_max_clock_skew(opts.clock_skew_bound()),
    );
    bootstrap_admin(&service, &global.data_dir).await?;
    let shutdown = CancellationToken::new();
    // Revocations made by `director token revoke` (another process) reach this one within the poll; every
    // revocation made here or there goes to the peers through the sync log; expired ones are dropped.
    let _revocations = service.watch_revocations(REVOCATION_POLL, shutdown.clone());
    // The kernel's one writer: every IPVS service and every VIP (VRRP's included) is written by the
    // reconciler through the dataplane. Without IPVS it still binds VRRP's addresses.
    let has_table = dataplane.has_table();
    let reconciler = Reconciler::new(
        service.clone(),
        dataplane,
        ReconcilerConfig {
            node: service.node().to_string(),
            resync: opts.resync_interval,
            vip_interface: opts.vip_interface.clone(),
            remove_unmanaged: opts.remove_unmanaged,
            clear_on_stop: opts.clear_on_stop,
            ownership_file: global.data_dir.join("ipvs-owned.json"),
        },
    );
    let health = director_runtime::health::start(
        service.clone(),
        Some(reconciler.clone()),
        shutdown.clone(),
    );
    // VRRP tracks "virtual server below quorum" with the reconciler's view (health included); without an
    // IPVS table, from the desired state (enabled real servers).
    let below_quorum = if has_table {
        reconciler.below_quorum()
    } else {
        director_runtime::vrrp::track::desired_below_quorum(service.clone())
    };
    let vrrp = director_runtime::vrrp::start(
        service.clone(),
        opts.vrrp_options(),
        below_quorum,
        reconciler.bound(),
    );
    // At the signal, at once: masters advertise priority 0 and give their role up (the reconciler, still
    // running, releases their VIPs).
    let vrrp_stopped = CancellationToken::new();
    let vrrp_stop = {
        let (vrrp, stop, stopped) = (vrrp.clone(), shutdown.clone(), vrrp_stopped.clone());
        tokio::spawn(async move {
            stop.cancelled().await;
            vrrp.shutdown().await;
            stopped.cancel();
        })
    };
    // The reconciler binds a group's addresses and programs its virtual servers only while this node is its
    // master; every transition asks it for a pass at once (`vrrp::instance`).
    if vrrp.enabled() {
        let roles = vrrp.clone();
        reconciler.set_roles(Arc::new(move |group: &str| {
            Some(
                roles
                    .group_status(group)
                    .is_some_and(|s| s.role == director_runtime::vrrp::VrrpRole::Master),
            )
        }));
    }
    let reconcile_task = {
        let (r, stop, released) = (reconciler.clone(), shutdown.clone(), vrrp_stopped.clone());
        tokio::spawn(async move {
            r.run(stop.cancelled_owned(), released.cancelled_owned())
                .await
        })
    };

    let sync = match &sync_settings {
        Some(settings) => {
            tracing::info!(peers = %settings.peers.iter().map(ToString::to_string).collect::<Vec<_>>().join(","), "peer sync on");
            director_runtime::sync::Sync::start(
                service.clone(),
                &settings.tls,
                settings.peers.clone(),
                shutdown.clone(),
            )
        }
        None => director_runtime::sync::Sync::default(),
    };
    let reloading: Vec<_> = tls_cert
        .iter()
        .cloned()
        .chain(peer_tls.iter().map(|(cert, _)| cert.clone()))
        .collect();
    if !reloading.is_empty() {
        director_tls::spawn_reloader(reloading, opts.tls_reload_interval, shutdown.clone())
            .context("watching for SIGHUP")?;
    }
    let runtime = Arc::new(Runtime {
        node: service.node().to_string(),
        version: env!("CARGO_PKG_VERSION"),
        started_at: director_service::now(),
        started: Instant::now(),
        dataplane: dataplane_info,
    });
    let limits = Limits {
        body_bytes: opts.body_limit,
        request_timeout: opts.request_timeout,
    };
    // The UI's charts: kernel counters sampled every few seconds (only with an IPVS table).
    let web = director_http::web::WebContext::new();
    let metrics = director_http::metrics::Metrics::new(opts.metrics.into());
    if sync.enabled() {
        let sync = sync.clone();
        metrics.set_peer_source(Arc::new(move || {
            sync.peers()
                .into_iter()
                .map(|p| director_http::metrics::PeerLag {
                    up: p.state == "connected",
                    lag: Some(std::time::Duration::from_millis(p.lag_ms)),
                    peer: p.node,
                })
                .collect()
        }));
    }
    let _sampler = director_http::web::spawn_sampler(
        &web,
        has_table.then(|| reconciler.clone()),
        service.applied(),
        shutdown.clone(),
    );
    let mut app = director_http::router(
        AppState {
            service: service.clone(),
            runtime: runtime.clone(),
            reconciler: Some(reconciler.clone()),
            health: health.clone(),
            vrrp: vrrp.clone(),
            web,
            metrics: metrics.clone(),
            sync: sync.clone(),
        },
        limits,
    );
    if tls_cert.is_some() {
        app = app.layer(axum::middleware::from_fn(
            director_http::web::session::under_tls,
        ));
    }
    let listener = tokio::net::TcpListener::bind(opts.http_listen)
        .await
        .with_context(|| format!("listening on {}", opts.http_listen))?;
    let grpc_listener = tokio::net::TcpListener::bind(opts.grpc_listen)
        .await
        .with_context(|| format!("listening on {} (gRPC)", opts.grpc_listen))?;
    let peer_listener = match &sync_settings {
        Some(s) => Some(
            tokio::net::TcpListener::bind(s.listen)
                .await
                .with_context(|| format!("listening on {} (--peer-listen)", s.listen))?,
        ),
        None => None,
    };
    let scheme = if tls_cert.is_some() { "https" } else { "http" };
    tracing::info!(
        node = %runtime.node,
        http = %listener.local_addr()?,
        revision = service.snapshot().revision,
        dataplane = %runtime.dataplane.active,
        "director is serving on {scheme}://{}", listener.local_addr()?
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    let http_tls = tls_cert
        .as_ref()
        .map(|c| director_tls::server_config(c.clone(), &[b"h2", b"http/1.1"]))
        .transpose()?;
    let grpc_tls = tls_cert
        .as_ref()
        .map(|c| director_tls::server_config(c.clone(), &[b"h2"]))
        .transpose()?;
    let http = async {
        // The client's address (ConnectInfo) limits failed logins and is written in the login audit entries.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let stop = shutdown.clone().cancelled_owned();
        match http_tls {
            Some(config) => {
                // (tapped with nothing: axum then gives handlers the client's address)
                let incoming = director_tls::TlsIncoming::new(listener, config, "HTTPS", false)?
                    .tap_io(|_| {});
                axum::serve(incoming, app)
                    .with_graceful_shutdown(stop)
                    .await
            }
            None => {
                // Without TCP_NODELAY, a response written in more than one piece (a list sent as chunks)
                // waits for the client's delayed ACK (40 ms) before its last segment leaves.
                let listener = listener.tap_io(|stream| {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY on an HTTP connection");
                    }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await
            }
        }
        .context("HTTP server")
    };
    let grpc = director_grpc::serve(
        grpc_listener,
        grpc_tls,
        service.clone(),
        runtime.clone(),
        health.clone(),
        reconciler.clone(),
        shutdown.clone(),
    );
    let peers = async {
        match (peer_listener, peer_tls, &sync_settings) {
            (Some(listener), Some((_, config)), Some(settings)) => {
                let auth = director_runtime::sync::PeerAuth::new(
                    settings.peers.iter().map(|p| p.node.clone()),
                );
                director_runtime::sync::serve(
                    listener,
                    config,
                    service.clone(),
                    auth,
                    shutdown.clone(),
                )
                .await
            }
            _ => Ok(()),
        }
    };
    tokio::try_join!(http, grpc, peers)?;
    shutdown.cancel();
    let _ = vrrp_stop.await;
    let _ = reconcile_task.await;
    service.store().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `ipvs` fails without IPVS; `auto` falls back to none, loudly; `memory` reconciles a table in memory.
/// Addresses need no IPVS: they are bound in every mode (`none` binds only VRRP's).
fn select_dataplane(mode: DataplaneMode) -> anyhow::Result<(DataplaneInfo, Arc<dyn Dataplane>)> {
    let info = |active: &str, detail: String| DataplaneInfo {
        requested: format!("{mode:?}").to_lowercase(),
        active: active.to_string(),
        detail,
    };
    match mode {
        DataplaneMode::None => Ok((
            info("none", "IPVS dataplane disabled by --dataplane none: the IPVS table is not touched (VRRP's addresses are still bound)".into()),
            Arc::new(AddressesOnly::new()),
        )),
        DataplaneMode::Memory => Ok((
            info("memory", "in-memory dataplane (--dataplane memory): reconciled, but the kernel's IPVS table is not touched (addresses are bound)".into()),
            Arc::new(MemoryDataplane::with_kernel_addresses()),
        )),
        DataplaneMode::Ipvs => {
            let dp = IpvsDataplane::connect().map_err(|e| anyhow::anyhow!("--dataplane ipvs: {e}"))?;
            let detail = dp.describe();
            Ok((info("ipvs", detail), Arc::new(dp)))
        }
        DataplaneMode::Auto => match IpvsDataplane::connect() {
            Ok(dp) => {
                let detail = dp.describe();
                Ok((info("ipvs", detail), Arc::new(dp)))
            }
            Err(e) => {
                let detail = format!("no IPVS dataplane: {e}; the desired state is kept but the IPVS table is not touched (VRRP's addresses are still bound)");
                tracing::warn!("NO DATAPLANE: {detail}");
                Ok((info("none", detail), Arc::new(AddressesOnly::new())))
            }
        },
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
