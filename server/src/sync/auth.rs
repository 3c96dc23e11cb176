//! How peers prove the cluster secret to each other: the caller signs its node name, the time and a nonce
//! (HMAC-SHA256 with the secret); the serving node checks the caller is one of its peers, the time is recent
//! and the proof right, then proves the secret back over the caller's nonce. The secret itself never travels.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeSet;

/// How far the caller's clock may be from this node's.
pub const MAX_SKEW_MS: u64 = 60_000;

pub const NODE: &str = "x-director-node";
pub const TIME: &str = "x-director-time";
pub const NONCE: &str = "x-director-nonce";
pub const PROOF: &str = "x-director-proof";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("missing {0} metadata")]
    Missing(&'static str),
    #[error("{0:?} is not a peer of this node (--peers)")]
    UnknownPeer(String),
    #[error("the request time is {0} ms away from this node's clock (at most {MAX_SKEW_MS})")]
    Skew(u64),
    #[error("wrong proof of the cluster secret from {0:?}")]
    BadProof(String),
    #[error("the answer comes from {got:?}, not {expected:?}")]
    WrongNode { expected: String, got: String },
    #[error("peer sync is not configured on this node (--peers)")]
    NotConfigured,
}

/// The request's signed metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub node: String,
    pub time_ms: u64,
    pub nonce: String,
    pub proof: String,
}

#[derive(Clone)]
pub struct ClusterAuth {
    node: String,
    secret: Vec<u8>,
    peers: BTreeSet<String>,
}

impl std::fmt::Debug for ClusterAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAuth")
            .field("node", &self.node)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

fn mac(secret: &[u8], parts: &[&str]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    for p in parts {
        m.update(p.as_bytes());
        m.update(b"\n");
    }
    m
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl ClusterAuth {
    pub fn new(node: &str, secret: &[u8], peers: impl IntoIterator<Item = String>) -> Self {
        ClusterAuth {
            node: node.to_string(),
            secret: secret.to_vec(),
            peers: peers.into_iter().collect(),
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Signs a request made at `time_ms` with a fresh `nonce`.
    pub fn sign(&self, time_ms: u64, nonce: &str) -> Signed {
        let time = time_ms.to_string();
        let proof = hex(&mac(&self.secret, &["request", &self.node, &time, nonce])
            .finalize()
            .into_bytes());
        Signed {
            node: self.node.clone(),
            time_ms,
            nonce: nonce.to_string(),
            proof,
        }
    }

    /// Checks a request: a known peer, a recent time, the right proof. Returns the peer's name.
    pub fn verify(&self, req: &Signed, now_ms: u64) -> Result<String, Refusal> {
        if !self.peers.contains(&req.node) {
            return Err(Refusal::UnknownPeer(req.node.clone()));
        }
        let skew = now_ms.abs_diff(req.time_ms);
        if skew > MAX_SKEW_MS {
            return Err(Refusal::Skew(skew));
        }
        let time = req.time_ms.to_string();
        let proof = unhex(&req.proof).ok_or_else(|| Refusal::BadProof(req.node.clone()))?;
        mac(&self.secret, &["request", &req.node, &time, &req.nonce])
            .verify_slice(&proof)
            .map_err(|_| Refusal::BadProof(req.node.clone()))?;
        Ok(req.node.clone())
    }

    /// The serving node's proof over the caller's nonce.
    pub fn answer(&self, nonce: &str) -> String {
        hex(&mac(&self.secret, &["answer", &self.node, nonce])
            .finalize()
            .into_bytes())
    }

    /// Checks the answer of `expected` to our `nonce`.
    pub fn verify_answer(
        &self,
        expected: &str,
        node: &str,
        nonce: &str,
        proof: &str,
    ) -> Result<(), Refusal> {
        if node != expected {
            return Err(Refusal::WrongNode {
                expected: expected.to_string(),
                got: node.to_string(),
            });
        }
        let proof = unhex(proof).ok_or_else(|| Refusal::BadProof(node.to_string()))?;
        mac(&self.secret, &["answer", node, nonce])
            .verify_slice(&proof)
            .map_err(|_| Refusal::BadProof(node.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (ClusterAuth, ClusterAuth) {
        (
            ClusterAuth::new("a", b"cluster-secret-0123", ["b".to_string()]),
            ClusterAuth::new("b", b"cluster-secret-0123", ["a".to_string()]),
        )
    }

    #[test]
    fn peers_with_the_secret_accept_each_other() {
        let (a, b) = pair();
        let req = a.sign(1_000_000, "n1");
        assert_eq!(b.verify(&req, 1_000_500), Ok("a".to_string()));
        let proof = b.answer("n1");
        assert_eq!(a.verify_answer("b", "b", "n1", &proof), Ok(()));
        assert!(
            a.verify_answer("b", "b", "n2", &proof).is_err(),
            "another nonce"
        );
        assert!(matches!(
            a.verify_answer("c", "b", "n1", &proof),
            Err(Refusal::WrongNode { .. })
        ));
    }

    #[test]
    fn wrong_secret_unknown_peer_old_time_and_tampering_are_refused() {
        let (_, b) = pair();
        let intruder = ClusterAuth::new("a", b"another-secret-000", ["b".to_string()]);
        let req = intruder.sign(1_000_000, "n");
        assert_eq!(
            b.verify(&req, 1_000_000),
            Err(Refusal::BadProof("a".into()))
        );
        let stranger = ClusterAuth::new("c", b"cluster-secret-0123", ["b".to_string()]);
        assert_eq!(
            b.verify(&stranger.sign(1_000_000, "n"), 1_000_000),
            Err(Refusal::UnknownPeer("c".into()))
        );
        let (a, _) = pair();
        let req = a.sign(1_000_000, "n");
        assert!(matches!(
            b.verify(&req, 1_000_000 + MAX_SKEW_MS + 1),
            Err(Refusal::Skew(_))
        ));
        let mut tampered = req.clone();
        tampered.nonce = "other".into();
        assert!(b.verify(&tampered, 1_000_000).is_err());
        let mut garbage = req;
        garbage.proof = "zz".into();
        assert!(b.verify(&garbage, 1_000_000).is_err());
    }
}
