//! `Watch`: the changes of the desired state after a revision, replayed from the audit log, then followed live.
//!
//! The audit log is the one source of events: `subscribe()` only says how far the revision has moved, and the
//! entries of every revision up to there are read back from the log. Because the store commits a change's rows
//! and audit entries before the service publishes its revision, each revision announced is complete in the
//! log; reading the range `(last sent, announced]` each time gives every revision once, in order.

use super::errors;
use super::proto as pb;
use super::to_proto;
use director_service::store::AuditEntry;
use director_service::{Actor, Service};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

/// Revisions read from the log at a time.
const BATCH: u64 = 256;
/// Events buffered for a slow client before the follower waits for it.
const BUFFER: usize = 64;

pub type WatchStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchEvent, Status>> + Send + 'static>>;

/// Starts following after `after` (absent: the current revision) and returns the stream of events.
pub fn start(
    service: Arc<Service>,
    actor: Actor,
    after: Option<u64>,
    shutdown: CancellationToken,
) -> Result<WatchStream, Status> {
    // Subscribe before reading the revision, so that nothing published in between is missed.
    let mut revisions = service.subscribe();
    let current = *revisions.borrow_and_update();
    let start = after.unwrap_or(current);
    if start > current {
        return Err(errors::invalid(
            "after_revision",
            format!("{start} is ahead of this daemon's revision {current}"),
        ));
    }
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        follow(&service, &actor, start, revisions, &tx, &shutdown).await;
        tracing::debug!(actor = %actor.name, "watch ended");
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

type Sender = mpsc::Sender<Result<pb::WatchEvent, Status>>;

async fn follow(
    service: &Service,
    actor: &Actor,
    mut last: u64,
    mut revisions: watch::Receiver<u64>,
    tx: &Sender,
    shutdown: &CancellationToken,
) {
    loop {
        let target = *revisions.borrow_and_update();
        while last < target {
            if shutdown.is_cancelled() {
                let _ = tx.send(Err(errors::shutting_down())).await;
                return;
            }
            let upto = target.min(last.saturating_add(BATCH));
            let entries = match service.changes(actor, last, upto).await {
                Ok(entries) => entries,
                Err(e) => {
                    let _ = tx.send(Err(errors::status(e))).await;
                    return;
                }
            };
            for event in events(entries) {
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            last = upto;
        }
        tokio::select! {
            changed = revisions.changed() => if changed.is_err() {
                let _ = tx.send(Err(errors::shutting_down())).await;
                return;
            },
            _ = shutdown.cancelled() => {
                let _ = tx.send(Err(errors::shutting_down())).await;
                return;
            }
            _ = tx.closed() => return,
        }
    }
}

/// Groups entries (in log order) into one event per revision.
fn events(entries: Vec<AuditEntry>) -> Vec<pb::WatchEvent> {
    let mut out: Vec<pb::WatchEvent> = Vec::new();
    for entry in entries {
        let Some(revision) = entry.revision.and_then(|r| u64::try_from(r).ok()) else {
            continue;
        };
        let change = to_proto::audit_entry(&entry);
        match out.last_mut() {
            Some(event) if event.revision == revision => event.changes.push(change),
            _ => out.push(pb::WatchEvent {
                revision,
                changes: vec![change],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, revision: Option<i64>) -> AuditEntry {
        AuditEntry {
            id,
            at: String::new(),
            actor: "a".into(),
            via: "grpc".into(),
            source: director_service::store::Source::Change,
            node: "n".into(),
            action: "update".into(),
            kind: "real_server".into(),
            object: format!("web/10.0.0.{id}:80"),
            before: None,
            after: None,
            summary: String::new(),
            revision,
        }
    }

    #[test]
    fn one_event_per_revision_in_log_order() {
        let got = events(vec![
            entry(1, Some(4)),
            entry(2, Some(4)),
            entry(3, None),
            entry(4, Some(5)),
        ]);
        let shape: Vec<(u64, Vec<i64>)> = got
            .iter()
            .map(|e| (e.revision, e.changes.iter().map(|c| c.id).collect()))
            .collect();
        assert_eq!(shape, vec![(4, vec![1, 2]), (5, vec![4])]);
    }
}
