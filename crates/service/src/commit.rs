//! Group commit: writers validate and stage their change under the writer lock (no disk IO there), hand it to
//! the committer and release the lock; the committer writes every change waiting at that moment in one SQLite
//! transaction, so concurrent writers share one fsync. Each writer is answered once its change is durable, and
//! only then is the state published (readers never see a change that a crash could lose).

use super::replica::Replica;
use super::{Result, Service, ServiceError};
use crate::store::{StateChange, Store};
use director_core::DesiredState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedMutexGuard};

/// Changes written in one transaction at most.
const MAX_BATCH: usize = 512;

pub(super) struct Job {
    change: StateChange,
    done: oneshot::Sender<std::result::Result<Option<u64>, String>>,
}

/// The committer's end: a queue, and whether a failed write left the staged state behind the store.
pub(super) struct Committer {
    queue: mpsc::UnboundedSender<Job>,
    poisoned: Arc<AtomicBool>,
}

impl Committer {
    pub fn start(store: Store) -> Committer {
        let (queue, mut rx) = mpsc::unbounded_channel::<Job>();
        let poisoned = Arc::new(AtomicBool::new(false));
        let flag = poisoned.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                if flag.load(Ordering::SeqCst) {
                    // Staged on top of a change that failed: refused until the writer state is reloaded.
                    for j in jobs {
                        let _ = j
                            .done
                            .send(Err("an earlier write failed; try again".into()));
                    }
                    continue;
                }
                let changes: Vec<&StateChange> = jobs.iter().map(|j| &j.change).collect();
                let result = store.apply_all(changes).await;
                match result {
                    Ok(seqs) => {
                        for (j, seq) in jobs.into_iter().zip(seqs) {
                            let _ = j.done.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        tracing::error!(changes = jobs.len(), "writing to the store failed: {e}");
                        flag.store(true, Ordering::SeqCst);
                        for j in jobs {
                            let _ = j.done.send(Err(e.to_string()));
                        }
                    }
                }
            }
        });
        Committer { queue, poisoned }
    }
}

/// The writer lock, released either when the token is dropped or, earlier, once the change is staged.
pub(super) struct WriterLock {
    pub lock: Arc<tokio::sync::Mutex<()>>,
    held: std::sync::Mutex<Option<(u64, OwnedMutexGuard<()>)>>,
    next: AtomicU64,
}

impl WriterLock {
    pub fn new() -> Self {
        WriterLock {
            lock: Arc::new(tokio::sync::Mutex::new(())),
            held: std::sync::Mutex::new(None),
            next: AtomicU64::new(1),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(u64, OwnedMutexGuard<()>)>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Releases the lock if `id` still holds it.
    fn release(&self, id: u64) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|(held, _)| *held == id) {
            *slot = None;
        }
    }
}

/// Proof of holding the writer lock; dropping it releases the lock (unless a commit released it already).
pub(super) struct WriterToken<'a> {
    writer: &'a WriterLock,
    id: u64,
}

impl Drop for WriterToken<'_> {
    fn drop(&mut self) {
        self.writer.release(self.id);
    }
}

impl Service {
    pub(super) async fn lock_writer(&self) -> WriterToken<'_> {
        let guard = self.writer.lock.clone().lock_owned().await;
        let id = self.writer.next.fetch_add(1, Ordering::Relaxed);
        *self.writer.slot() = Some((id, guard));
        WriterToken {
            writer: &self.writer,
            id,
        }
    }

    /// The state writers build on: the published state and every change staged since (under the writer lock).
    pub(super) fn current(&self) -> Arc<DesiredState> {
        self.staged
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Stages `change` (leading to `next`), releases the writer lock, and waits until the change is durable;
    /// then publishes `next` (unless a later state was published meanwhile). The caller holds the writer
    /// lock. `replica_update` runs on the replica once the change is staged (registers, cursors).
    pub(super) async fn commit(
        &self,
        change: StateChange,
        next: Option<DesiredState>,
        replica_update: impl FnOnce(&mut Replica),
    ) -> Result<Option<u64>> {
        if self.committer.poisoned.load(Ordering::SeqCst) {
            self.recover().await?;
        }
        let next = next.map(Arc::new);
        if let Some(n) = &next {
            *self.staged.lock().unwrap_or_else(|p| p.into_inner()) = n.clone();
        }
        replica_update(&mut self.replica());
        let (done, wait) = oneshot::channel();
        self.committer
            .queue
            .send(Job { change, done })
            .map_err(|_| ServiceError::Internal("the store writer has stopped".into()))?;
        // Staged: the next writer may go on while this change is written.
        self.writer.release_current();
        let written = wait
            .await
            .map_err(|_| ServiceError::Internal("the store writer has stopped".into()))?;
        match written {
            Ok(seq) => {
                if let Some(n) = next {
                    self.publish_arc(n);
                }
                if let Some(seq) = seq {
                    self.log_head.send_if_modified(|h| {
                        let newer = seq > *h;
                        if newer {
                            *h = seq;
                        }
                        newer
                    });
                }
                Ok(seq)
            }
            Err(e) => {
                let _w = self.lock_writer().await;
                self.recover().await?;
                Err(ServiceError::Internal(format!(
                    "writing to the store failed: {e}"
                )))
            }
        }
    }

    /// After a failed write: the staged state and the replica are read back from the store. Under the writer
    /// lock.
    async fn recover(&self) -> Result<()> {
        if !self.committer.poisoned.load(Ordering::SeqCst) {
            return Ok(());
        }
        let state = self.store.load_state().await?;
        let replica = Replica::load(&self.store, &self.node).await?;
        *self.staged.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(state.clone());
        *self.replica() = replica;
        self.publish_arc(Arc::new(state));
        self.committer.poisoned.store(false, Ordering::SeqCst);
        tracing::warn!("writer state reloaded from the store after a failed write");
        Ok(())
    }
}

impl WriterLock {
    /// Releases the lock whoever holds it (the caller of `commit` does).
    fn release_current(&self) {
        *self.slot() = None;
    }
}
