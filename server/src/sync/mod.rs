//! Peer sync: every change made on any director reaches the others, with its audit entries.
//!
//! Each node keeps a log of the changes made on it (`service/replica.rs`) and serves it over gRPC
//! ([`server`]); each node follows every peer's log ([`peer`]), applying the changes through the service
//! layer, which merges the registers (director-sync: hybrid logical clock, version vectors) so that all nodes
//! converge, concurrent writes are resolved the same way everywhere and the loser is audited as a conflict.
//! Peers prove the cluster secret to each other ([`auth`]).

pub mod auth;
pub mod config;
pub mod peer;
pub mod server;
pub mod status;

pub use auth::ClusterAuth;
pub use config::Peer;
pub use status::PeerView;

use crate::service::Service;
use status::PeerState;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

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
        auth: Option<Arc<ClusterAuth>>,
        peers: Vec<Peer>,
        stop: CancellationToken,
    ) -> Sync {
        let Some(auth) = auth else {
            return Sync::default();
        };
        let mut states = Vec::new();
        for peer in peers {
            let state = Arc::new(Mutex::new(PeerState::new(&peer.node, &peer.address)));
            states.push(state.clone());
            let follower = peer::Follower {
                service: service.clone(),
                auth: auth.clone(),
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
