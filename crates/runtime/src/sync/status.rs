//! What this node knows of each peer: connected or not, how far behind, and whether it holds the same
//! configuration (digest), for `/api/v1/status`, the UI and `/metrics`.

use serde::Serialize;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// One peer, as `/api/v1/status` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeerView {
    pub node: String,
    pub address: String,
    /// connecting, connected, refused (authentication failed either way), unreachable, or skewed (the peer's
    /// changes carry stamps more than `--max-clock-skew` ahead of this node's clock: none is applied until
    /// they are within it).
    pub state: String,
    /// The last error, if the last attempt failed.
    pub error: Option<String>,
    /// Milliseconds since the last message from the peer (none: never heard from).
    pub last_contact_ms: Option<u64>,
    /// The last sequence number of the peer's change log, and how far it is applied here.
    pub head: u64,
    pub applied: u64,
    /// Changes of the peer not applied here yet.
    pub lag_changes: u64,
    /// How old the oldest change of the peer not applied here may be, in milliseconds: 0 when caught up; the
    /// time since the last contact when disconnected.
    pub lag_ms: u64,
    /// The digest of the peer's desired state, and whether it equals this node's.
    pub digest: Option<String>,
    pub in_sync: bool,
    /// Whether this node started from a full copy of the peer's configuration.
    pub full_copy: bool,
}

#[derive(Debug)]
pub struct PeerState {
    pub node: String,
    pub address: String,
    pub state: &'static str,
    pub error: Option<String>,
    pub last_contact: Option<Instant>,
    pub head: u64,
    pub applied: u64,
    pub behind_since: Option<Instant>,
    pub digest: Option<String>,
    pub full_copy: bool,
    pub started: Instant,
    /// Its changes are being refused for clock skew, and that was audited (cleared once caught up).
    pub skewed: bool,
}

impl PeerState {
    pub fn new(node: &str, address: &str) -> Self {
        PeerState {
            node: node.to_string(),
            address: address.to_string(),
            state: "connecting",
            error: None,
            last_contact: None,
            head: 0,
            applied: 0,
            behind_since: None,
            digest: None,
            full_copy: false,
            started: Instant::now(),
            skewed: false,
        }
    }

    /// A message from the peer: its head and digest, and how far its log is applied here. True when this
    /// ends a refusal for clock skew (everything of the peer's is applied now).
    pub fn heard(&mut self, head: u64, applied: u64, digest: String) -> bool {
        let now = Instant::now();
        self.state = "connected";
        self.error = None;
        self.last_contact = Some(now);
        self.head = head;
        self.applied = applied;
        self.digest = Some(digest);
        if applied >= head {
            self.behind_since = None;
        } else if self.behind_since.is_none() {
            self.behind_since = Some(now);
        }
        let recovered = self.skewed && applied >= head;
        if recovered {
            self.skewed = false;
        }
        recovered
    }

    pub fn failed(&mut self, state: &'static str, error: String) {
        self.state = state;
        self.error = Some(error);
    }

    pub fn view(&self, own_digest: &str) -> PeerView {
        let now = Instant::now();
        let ms = |d: Duration| d.as_millis() as u64;
        let lag_ms = if self.state != "connected" {
            ms(now - self.last_contact.unwrap_or(self.started))
        } else {
            self.behind_since.map_or(0, |t| ms(now - t))
        };
        PeerView {
            node: self.node.clone(),
            address: self.address.clone(),
            state: self.state.to_string(),
            error: self.error.clone(),
            last_contact_ms: self.last_contact.map(|t| ms(now - t)),
            head: self.head,
            applied: self.applied,
            lag_changes: self.head.saturating_sub(self.applied),
            lag_ms,
            in_sync: self.digest.as_deref() == Some(own_digest),
            digest: self.digest.clone(),
            full_copy: self.full_copy,
        }
    }
}
