//! At most a few password hashes at once. An argon2 hash takes about 19 MiB and tens of milliseconds of a
//! core: unbounded, a few hundred parallel logins take the daemon's memory into the gigabytes. Calls beyond
//! `parallel` wait in a short queue, at most `wait`; past the queue or the wait they are refused at once
//! (the caller answers 503 with Retry-After).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GateError {
    #[error("too many password checks are running: try again in {} s", retry_after.as_secs().max(1))]
    Busy { retry_after: Duration },
    #[error("a password check failed: {0}")]
    Failed(String),
}

#[derive(Debug)]
pub struct HashGate {
    permits: Arc<Semaphore>,
    /// Calls running or waiting.
    inside: AtomicUsize,
    parallel: usize,
    queue: usize,
    wait: Duration,
}

/// Counts a call inside the gate until it is dropped.
struct Inside<'a>(&'a AtomicUsize);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashGate {
    pub fn new(parallel: usize, queue: usize, wait: Duration) -> Self {
        let parallel = parallel.max(1);
        HashGate {
            permits: Arc::new(Semaphore::new(parallel)),
            inside: AtomicUsize::new(0),
            parallel,
            queue,
            wait,
        }
    }

    /// Calls running or waiting now.
    pub fn inside(&self) -> usize {
        self.inside.load(Ordering::Acquire)
    }

    fn busy(&self) -> GateError {
        GateError::Busy {
            retry_after: self.wait.max(Duration::from_secs(1)),
        }
    }

    /// Runs `work` on a blocking thread once one of the `parallel` places is free. The place is held by the
    /// work itself: a caller that goes away (a client that hangs up) does not free it before the work ends.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, GateError> {
        let before = self.inside.fetch_add(1, Ordering::AcqRel);
        let _inside = Inside(&self.inside);
        if before >= self.parallel + self.queue {
            return Err(self.busy());
        }
        let permit =
            match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) | Err(_) => return Err(self.busy()),
            };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| GateError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One place and no queue: with the place taken (by the test itself, so nothing races), a call waits and
    /// is refused when its wait ends, and a call beyond it is refused at once.
    #[tokio::test]
    async fn beyond_the_places_and_the_queue_calls_are_refused() {
        let gate = Arc::new(HashGate::new(1, 0, Duration::from_millis(50)));
        let taken = gate.permits.clone().acquire_owned().await.unwrap();
        let g = gate.clone();
        let waiting = tokio::spawn(async move { g.run(|| 2).await });
        while gate.inside() < 1 {
            tokio::task::yield_now().await;
        }
        let busy = Err(GateError::Busy {
            retry_after: Duration::from_secs(1),
        });
        assert_eq!(gate.run(|| 3).await, busy, "no room to wait");
        assert_eq!(waiting.await.unwrap(), busy, "waited too long");
        assert_eq!(gate.inside(), 0);
        drop(taken);
        assert_eq!(gate.run(|| 4).await, Ok(4), "free again");
    }
}
