//! The following side of peer sync: one task per peer pulls the changes made there (after a full copy, when
//! this node starts empty), applies them through the service layer, and keeps the peer's status.

use super::auth::PeerTls;
use super::config::Peer;
use super::status::PeerState;
use director_proto::sync_client::SyncClient;
use director_proto::{PullRequest, SnapshotRequest};
use director_service::store::Cursor;
use director_service::{Change, Service, ServiceError, SyncSnapshot};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
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
    /// Its changes carry stamps too far ahead of this node's clock: none is applied.
    #[error("clock skew: {0}; none of its changes is applied")]
    Skew(director_sync::Skew),
    #[error("silent for {} s", SILENCE.as_secs())]
    Silent,
    #[error("TLS: {0}")]
    Tls(String),
}

/// An error with its sources: a refused handshake says why ("invalid peer certificate: Expired").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        source = s.source();
    }
    text
}

impl SessionError {
    fn state(&self) -> &'static str {
        match self {
            SessionError::Connect(_) | SessionError::Silent => "unreachable",
            SessionError::Refused(_) | SessionError::Tls(_) => "refused",
            SessionError::Call(_) | SessionError::Apply(_) => "connecting",
            SessionError::Skew(_) => "skewed",
        }
    }
}

/// A refusal of the service, as the peer's status says it.
fn apply_error(e: ServiceError) -> SessionError {
    match e {
        ServiceError::ClockSkew { skew, .. } => SessionError::Skew(skew),
        e => SessionError::Apply(e.to_string()),
    }
}

fn status_error(s: tonic::Status) -> SessionError {
    let text = chain(&s);
    match s.code() {
        Code::Unauthenticated | Code::PermissionDenied => SessionError::Refused(s.message().into()),
        // The peer's TLS alert arrives with the first call (TLS 1.3 checks the client's certificate after
        // the client considers the handshake done).
        Code::Unavailable | Code::Unknown
            if text.contains("alert") || text.contains("certificate") =>
        {
            SessionError::Tls(text)
        }
        Code::Unavailable => SessionError::Connect(text),
        _ => SessionError::Call(format!("{}: {text}", s.code())),
    }
}

pub struct Follower {
    pub service: Arc<Service>,
    pub tls: PeerTls,
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
                    if let SessionError::Skew(skew) = &e {
                        self.refused_for_skew(skew).await;
                    }
                    let mut s = self.state();
                    // A skew's text changes at every retry (how far ahead): said once, above.
                    if s.error.as_deref() != Some(&e.to_string())
                        && !matches!(e, SessionError::Skew(_))
                    {
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

    /// The peer's changes are refused for its clock: logged and audited once, when the refusals start (again
    /// only after it caught up in between, see [`PeerState::heard`]).
    async fn refused_for_skew(&self, skew: &director_sync::Skew) {
        if self.state().skewed {
            return;
        }
        tracing::warn!(peer = %self.peer, "peer sync: the peer's clock runs ahead, its changes are refused until they are within the bound: {skew}");
        match self.service.record_clock_skew(&self.peer.node, skew).await {
            Ok(()) => self.state().skewed = true,
            Err(e) => tracing::error!(peer = %self.peer, "cannot audit the clock skew: {e}"),
        }
    }

    /// The TLS of a connection to the peer: the cluster CA, this node's certificate as the client's, and the
    /// peer's node name as the name its certificate must carry. Read at every connection (renewed files are
    /// used without a restart).
    fn tls(&self) -> Result<ClientTlsConfig, SessionError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| SessionError::Tls(format!("{}: {e}", p.display())))
        };
        let files = &self.tls.files;
        Ok(ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&self.tls.ca)?))
            .identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?))
            .domain_name(self.peer.node.clone()))
    }

    async fn connect(&self) -> Result<SyncClient<Channel>, SessionError> {
        let channel = Endpoint::from_shared(format!("https://{}", self.peer.address))
            .map_err(|e| SessionError::Connect(e.to_string()))?
            .tls_config(self.tls()?)
            .map_err(|e| SessionError::Tls(e.to_string()))?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .connect()
            .await
            .map_err(|e| SessionError::Connect(format!("{}: {}", self.peer.address, chain(&e))))?;
        Ok(SyncClient::new(channel).max_decoding_message_size(256 * 1024 * 1024))
    }

    async fn session(&self) -> Result<(), SessionError> {
        let mut client = self.connect().await?;
        if self.service.sync_is_empty() {
            self.full_copy(&mut client).await?;
        }
        let cursor = self.service.sync_cursor(&self.peer.node);
        // The stream lives as long as the connection: no deadline.
        let req = Request::new(PullRequest {
            after: cursor.as_ref().map_or(0, |c| c.seq),
            log_id: cursor.map(|c| c.log_id).unwrap_or_default(),
        });
        let response = client.pull(req).await.map_err(status_error)?;
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
                    .map_err(apply_error)?;
                if applied.conflicts > 0 {
                    tracing::warn!(peer = %self.peer, conflicts = applied.conflicts, "concurrent changes resolved (see the audit log)");
                }
            }
            let applied = self
                .service
                .sync_cursor(&self.peer.node)
                .filter(|c| c.log_id == reply.log_id)
                .map_or(0, |c| c.seq);
            if self.state().heard(reply.head, applied, reply.digest) {
                tracing::info!(peer = %self.peer, "peer sync: the peer's changes are within the clock bound again and applied");
            }
        }
    }

    /// This node is empty: start from the peer's copy of everything.
    async fn full_copy(&self, client: &mut SyncClient<Channel>) -> Result<(), SessionError> {
        let mut req = Request::new(SnapshotRequest {});
        req.set_timeout(Duration::from_secs(30));
        let response = client.snapshot(req).await.map_err(status_error)?;
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
            .map_err(apply_error)?
        {
            tracing::info!(peer = %self.peer, registers = n, objects = applied.objects, "started from the peer's full copy");
            self.state().full_copy = true;
        }
        Ok(())
    }
}
