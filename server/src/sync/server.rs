//! The serving side of peer sync: the `director.v1.Sync` gRPC service.

use super::auth::{self, ClusterAuth, Refusal, Signed};
use crate::grpc::proto::sync_server::Sync;
use crate::grpc::proto::{
    LogEntry, PullReply, PullRequest, SnapshotReply, SnapshotRequest, SyncCursor,
};
use crate::service::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status};

/// Log entries per message.
const BATCH: u32 = 256;
/// A heartbeat (head and digest) this often when nothing changes.
const HEARTBEAT: Duration = Duration::from_secs(1);

pub struct SyncApi {
    pub service: Arc<Service>,
    /// `None`: sync is not configured here; every call is refused.
    pub auth: Option<Arc<ClusterAuth>>,
    pub shutdown: CancellationToken,
}

fn text<'a>(meta: &'a MetadataMap, key: &'static str) -> Result<&'a str, Refusal> {
    meta.get(key)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::Missing(key))
}

/// Reads the signed metadata of a request.
pub fn signed(meta: &MetadataMap) -> Result<Signed, Refusal> {
    Ok(Signed {
        node: text(meta, auth::NODE)?.to_string(),
        time_ms: text(meta, auth::TIME)?
            .parse()
            .map_err(|_| Refusal::Missing(auth::TIME))?,
        nonce: text(meta, auth::NONCE)?.to_string(),
        proof: text(meta, auth::PROOF)?.to_string(),
    })
}

impl SyncApi {
    /// Authenticates the caller; returns its node name and the answer's metadata.
    fn check(&self, meta: &MetadataMap) -> Result<(String, MetadataMap), Status> {
        let refuse = |r: Refusal| {
            tracing::warn!("peer sync call refused: {r}");
            Status::unauthenticated(r.to_string())
        };
        let auth = self
            .auth
            .as_ref()
            .ok_or_else(|| refuse(Refusal::NotConfigured))?;
        let req = signed(meta).map_err(refuse)?;
        let peer = auth
            .verify(&req, crate::service::now_ms())
            .map_err(refuse)?;
        let mut answer = MetadataMap::new();
        let node = MetadataValue::try_from(auth.node())
            .map_err(|_| Status::internal("node name is not valid metadata"))?;
        let proof = MetadataValue::try_from(auth.answer(&req.nonce))
            .map_err(|_| Status::internal("proof is not valid metadata"))?;
        answer.insert(auth::NODE, node);
        answer.insert(auth::PROOF, proof);
        Ok((peer, answer))
    }
}

fn with_metadata<T>(body: T, meta: MetadataMap) -> Response<T> {
    let mut r = Response::new(body);
    *r.metadata_mut() = meta;
    r
}

#[tonic::async_trait]
impl Sync for SyncApi {
    type PullStream = ReceiverStream<Result<PullReply, Status>>;

    async fn pull(
        &self,
        request: Request<PullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let (peer, answer) = self.check(request.metadata())?;
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
        Ok(with_metadata(ReceiverStream::new(rx), answer))
    }

    async fn snapshot(
        &self,
        request: Request<SnapshotRequest>,
    ) -> Result<Response<SnapshotReply>, Status> {
        let (peer, answer) = self.check(request.metadata())?;
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
        Ok(with_metadata(reply, answer))
    }
}
