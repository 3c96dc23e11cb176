//! The following side of peer sync: one task per peer pulls the changes made there (after a full copy, when
//! this node starts empty), applies them through the service layer, and keeps the peer's status.

use super::auth::{self, ClusterAuth};
use super::config::Peer;
use super::status::PeerState;
use crate::grpc::proto::sync_client::SyncClient;
use crate::grpc::proto::{PullRequest, SnapshotRequest};
use crate::service::{Change, Service, SyncSnapshot};
use crate::store::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// A connection that hears nothing (not even a heartbeat) for this long is dropped and made again.
const SILENCE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("unreachable: {0}")]
    Connect(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Call(String),
    #[error("cannot apply its changes: {0}")]
    Apply(String),
    #[error("silent for {} s", SILENCE.as_secs())]
    Silent,
}

impl SessionError {
    fn state(&self) -> &'static str {
        match self {
            SessionError::Connect(_) | SessionError::Silent => "unreachable",
            SessionError::Refused(_) => "refused",
            SessionError::Call(_) | SessionError::Apply(_) => "connecting",
        }
    }
}

fn status_error(s: tonic::Status) -> SessionError {
    match s.code() {
        Code::Unauthenticated | Code::PermissionDenied => SessionError::Refused(s.message().into()),
        Code::Unavailable => SessionError::Connect(s.message().into()),
        _ => SessionError::Call(format!("{}: {}", s.code(), s.message())),
    }
}

pub struct Follower {
    pub service: Arc<Service>,
    pub auth: Arc<ClusterAuth>,
    pub peer: Peer,
    pub state: Arc<Mutex<PeerState>>,
}

impl Follower {
    fn state(&self) -> std::sync::MutexGuard<'_, PeerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows the peer until `stop`, reconnecting with a short backoff.
    pub async fn run(self, stop: CancellationToken) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let result = tokio::select! {
                _ = stop.cancelled() => return,
                r = self.session() => r,
            };
            match result {
                Ok(()) => backoff = BACKOFF_MIN,
                Err(e) => {
                    tracing::debug!(peer = %self.peer, "peer sync: {e}");
                    let mut s = self.state();
                    if s.error.as_deref() != Some(&e.to_string()) {
                        tracing::warn!(peer = %self.peer, "peer sync: {e}");
                    }
                    s.failed(e.state(), e.to_string());
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// A signed request; returns it with its nonce.
    fn request<T>(&self, body: T) -> Result<(Request<T>, String), SessionError> {
        let nonce: String = (0..16)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let signed = self.auth.sign(crate::service::now_ms(), &nonce);
        let mut req = Request::new(body);
        let meta = req.metadata_mut();
        let value = |s: String| {
            MetadataValue::try_from(s).map_err(|e| SessionError::Call(format!("metadata: {e}")))
        };
        meta.insert(auth::NODE, value(signed.node)?);
        meta.insert(auth::TIME, value(signed.time_ms.to_string())?);
        meta.insert(auth::NONCE, value(signed.nonce)?);
        meta.insert(auth::PROOF, value(signed.proof)?);
        req.set_timeout(Duration::from_secs(30));
        Ok((req, nonce))
    }

    /// Checks that the answer comes from the peer and that it knows the secret.
    fn check_answer(
        &self,
        meta: &tonic::metadata::MetadataMap,
        nonce: &str,
    ) -> Result<(), SessionError> {
        let get = |k: &str| {
            meta.get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        self.auth
            .verify_answer(&self.peer.node, get(auth::NODE), nonce, get(auth::PROOF))
            .map_err(|e| SessionError::Refused(e.to_string()))
    }

    async fn connect(&self) -> Result<SyncClient<Channel>, SessionError> {
        let channel = Endpoint::from_shared(format!("http://{}", self.peer.address))
            .map_err(|e| SessionError::Connect(e.to_string()))?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .connect()
            .await
            .map_err(|e| SessionError::Connect(format!("{}: {e}", self.peer.address)))?;
        Ok(SyncClient::new(channel).max_decoding_message_size(256 * 1024 * 1024))
    }

    async fn session(&self) -> Result<(), SessionError> {
        let mut client = self.connect().await?;
        if self.service.sync_is_empty() {
            self.full_copy(&mut client).await?;
        }
        let cursor = self.service.sync_cursor(&self.peer.node);
        let (req, nonce) = self.request(PullRequest {
            after: cursor.as_ref().map_or(0, |c| c.seq),
            log_id: cursor.map(|c| c.log_id).unwrap_or_default(),
        })?;
        let mut req = req;
        // The stream lives as long as the connection: no deadline.
        req.metadata_mut().remove("grpc-timeout");
        let response = client.pull(req).await.map_err(status_error)?;
        self.check_answer(response.metadata(), &nonce)?;
        let mut stream = response.into_inner();
        tracing::info!(peer = %self.peer, "following the peer's changes");
        loop {
            let reply = match tokio::time::timeout(SILENCE, stream.message()).await {
                Err(_) => return Err(SessionError::Silent),
                Ok(Err(s)) => return Err(status_error(s)),
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(r))) => r,
            };
            if !reply.changes.is_empty() {
                let mut entries = Vec::with_capacity(reply.changes.len());
                for e in reply.changes {
                    let change: Change = serde_json::from_str(&e.change_json).map_err(|err| {
                        SessionError::Apply(format!("change {} is malformed: {err}", e.seq))
                    })?;
                    entries.push((e.seq, change));
                }
                let applied = self
                    .service
                    .apply_remote(&self.peer.node, &reply.log_id, entries)
                    .await
                    .map_err(|e| SessionError::Apply(e.to_string()))?;
                if applied.conflicts > 0 {
                    tracing::warn!(peer = %self.peer, conflicts = applied.conflicts, "concurrent changes resolved (see the audit log)");
                }
            }
            let applied = self
                .service
                .sync_cursor(&self.peer.node)
                .filter(|c| c.log_id == reply.log_id)
                .map_or(0, |c| c.seq);
            self.state().heard(reply.head, applied, reply.digest);
        }
    }

    /// This node is empty: start from the peer's copy of everything.
    async fn full_copy(&self, client: &mut SyncClient<Channel>) -> Result<(), SessionError> {
        let (req, nonce) = self.request(SnapshotRequest {})?;
        let response = client.snapshot(req).await.map_err(status_error)?;
        self.check_answer(response.metadata(), &nonce)?;
        let reply = response.into_inner();
        let registers = serde_json::from_str(&reply.registers_json)
            .map_err(|e| SessionError::Apply(format!("full copy is malformed: {e}")))?;
        let snapshot = SyncSnapshot {
            registers,
            cursors: reply
                .cursors
                .into_iter()
                .map(|c| Cursor {
                    origin: c.origin,
                    log_id: c.log_id,
                    seq: c.seq,
                })
                .collect(),
        };
        let n = snapshot.registers.len();
        if let Some(applied) = self
            .service
            .apply_snapshot(&self.peer.node, snapshot)
            .await
            .map_err(|e| SessionError::Apply(e.to_string()))?
        {
            tracing::info!(peer = %self.peer, registers = n, objects = applied.objects, "started from the peer's full copy");
            self.state().full_copy = true;
        }
        Ok(())
    }
}
