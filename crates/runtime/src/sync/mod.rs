//! Peer sync: every change made on any director reaches the others, with its audit entries.
//!
//! Each node keeps a log of the changes made on it (`service/replica.rs`) and serves it over gRPC
//! ([`server`]); each node follows every peer's log ([`peer`]), applying the changes through the service
//! layer, which merges the registers (director-sync: hybrid logical clock, version vectors) so that all nodes
//! converge, concurrent writes are resolved the same way everywhere and the loser is audited as a conflict.
//! Peers authenticate each other with mutual TLS: certificates signed by one cluster CA, the node name in the
//! certificate ([`auth`]); peer sync has a listener of its own (`--peer-listen`), which speaks nothing else.

pub mod auth;
pub mod config;
pub mod peer;
pub mod server;
pub mod status;

pub use auth::{PeerAuth, PeerTls};
pub use config::Peer;
pub use status::PeerView;

use director_service::Service;
use status::PeerState;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What `--peers`, `--peer-listen` and the peer certificates say.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub listen: std::net::SocketAddr,
    pub peers: Vec<Peer>,
    pub tls: PeerTls,
}

/// The running sync of a node: its peers' status.
#[derive(Clone, Default)]
pub struct Sync {
    peers: Vec<Arc<Mutex<PeerState>>>,
    service: Option<Arc<Service>>,
}

impl Sync {
    /// Starts following each peer. With no peers, sync is off.
    pub fn start(
        service: Arc<Service>,
        tls: &PeerTls,
        peers: Vec<Peer>,
        stop: CancellationToken,
    ) -> Sync {
        let mut states = Vec::new();
        for peer in peers {
            let state = Arc::new(Mutex::new(PeerState::new(&peer.node, &peer.address)));
            states.push(state.clone());
            let follower = peer::Follower {
                service: service.clone(),
                tls: tls.clone(),
                peer,
                state,
            };
            tokio::spawn(follower.run(stop.clone()));
        }
        Sync {
            peers: states,
            service: Some(service),
        }
    }

    pub fn enabled(&self) -> bool {
        self.service.is_some()
    }

    /// Every peer's status, compared with this node's digest.
    pub fn peers(&self) -> Vec<PeerView> {
        let Some(service) = &self.service else {
            return Vec::new();
        };
        let digest = service.digest();
        self.peers
            .iter()
            .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()).view(&digest))
            .collect()
    }
}

/// Serves peer sync (`director.v1.Sync`, and nothing else) on `listener`, to callers whose client certificate
/// `tls` accepts and `auth` knows, until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: Arc<Service>,
    auth: PeerAuth,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use director_proto::sync_server::SyncServer;
    let addr = listener.local_addr().context("peer listener address")?;
    let incoming =
        director_tls::TlsIncoming::new(listener, tls, "peer", true).context("peer listener")?;
    let sync = SyncServer::new(server::SyncApi {
        service,
        auth,
        shutdown: shutdown.clone(),
    })
    .max_decoding_message_size(16 * 1024 * 1024)
    .max_encoding_message_size(usize::MAX);
    tracing::info!(peer = %addr, "peer sync on {addr} (mutual TLS)");
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(10)))
        .add_service(sync)
        .serve_with_incoming_shutdown(incoming.into_stream(), shutdown.cancelled_owned())
        .await
        .context("peer sync server")
}
