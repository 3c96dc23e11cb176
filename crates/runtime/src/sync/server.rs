//! The serving side of peer sync: the `director.v1.Sync` gRPC service.

use super::auth::PeerAuth;
use director_proto::sync_server::Sync;
use director_proto::{
    LogEntry, PullReply, PullRequest, SnapshotReply, SnapshotRequest, SyncCursor,
};
use director_service::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// Log entries per message.
const BATCH: u32 = 256;
/// A heartbeat (head and digest) this often when nothing changes.
const HEARTBEAT: Duration = Duration::from_secs(1);

pub struct SyncApi {
    pub service: Arc<Service>,
    pub auth: PeerAuth,
    pub shutdown: CancellationToken,
}

impl SyncApi {
    /// The calling peer, from its verified client certificate.
    fn check<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let certs = request.peer_certs();
        self.auth
            .identify(certs.as_ref().map(|c| c.as_slice()))
            .map_err(|r| {
                tracing::warn!(client = ?request.remote_addr(), "peer sync call refused: {r}");
                Status::permission_denied(r.to_string())
            })
    }
}

#[tonic::async_trait]
impl Sync for SyncApi {
    type PullStream = ReceiverStream<Result<PullReply, Status>>;

    async fn pull(
        &self,
        request: Request<PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let peer = self.check(&request)?;
        let req = request.into_inner();
        let service = self.service.clone();
        let log_id = service.sync_log_id();
        let mut after = if req.log_id == log_id { req.after } else { 0 };
        let (tx, rx) = mpsc::channel(4);
        let stop = self.shutdown.clone();
        tracing::info!(peer, after, "peer follows this node's changes");
        tokio::spawn(async move {
            let mut head = service.sync_log_head();
            loop {
                let entries = match service.store().sync_log_after(after, BATCH).await {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(Status::internal(e.to_string()))).await;
                        break;
                    }
                };
                let full = entries.len() == BATCH as usize;
                if let Some((seq, _)) = entries.last() {
                    after = *seq;
                }
                let reply = PullReply {
                    log_id: log_id.clone(),
                    head: (*head.borrow_and_update()).max(after),
                    digest: service.digest(),
                    revision: service.snapshot().revision,
                    changes: entries
                        .into_iter()
                        .map(|(seq, change_json)| LogEntry { seq, change_json })
                        .collect(),
                };
                if tx.send(Ok(reply)).await.is_err() {
                    break;
                }
                if full {
                    continue;
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tx.closed() => break,
                    changed = head.changed() => if changed.is_err() { break },
                    _ = tokio::time::sleep(HEARTBEAT) => {}
                }
            }
            tracing::debug!(peer, "peer stopped following");
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn snapshot(
        &self,
        request: Request<SnapshotRequest>,
    ) -> Result<Response<SnapshotReply>, Status> {
        let peer = self.check(&request)?;
        let snap = self.service.sync_snapshot();
        tracing::info!(
            peer,
            registers = snap.registers.len(),
            "full copy sent to a peer"
        );
        let registers_json =
            serde_json::to_string(&snap.registers).map_err(|e| Status::internal(e.to_string()))?;
        let reply = SnapshotReply {
            registers_json,
            cursors: snap
                .cursors
                .into_iter()
                .map(|c| SyncCursor {
                    origin: c.origin,
                    log_id: c.log_id,
                    seq: c.seq,
                })
                .collect(),
        };
        Ok(Response::new(reply))
    }
}
