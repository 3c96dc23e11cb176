//! Who a peer is: mutual TLS with certificates signed by one cluster CA.
//!
//! - The peer listener completes a handshake only with a client certificate that chains to `--peer-ca` and is
//!   valid now (rustls' WebPKI verifier, `director_tls::mutual_server_config`): a stranger, a wrongly signed or
//!   an expired certificate never gets to send a byte of a request.
//! - The caller's node name is the first DNS name of its certificate ([`PeerAuth::identify`]); a node that is
//!   not in `--peers` is refused before anything is read or sent.
//! - The caller checks the serving side the same way: its certificate must chain to the cluster CA and be
//!   valid for the peer's node name (`peer.rs`).
//!
//! Nothing here can be replayed: every connection runs its own handshake, with fresh keys.

use rustls::pki_types::CertificateDer;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the call carries no client certificate (peers connect to --peer-listen with mutual TLS)"
    )]
    NoCertificate,
    #[error("the client certificate names no node: {0}")]
    NoName(String),
    #[error("{0:?} is not a peer of this node (--peers)")]
    UnknownPeer(String),
}

/// The cluster CA and this node's certificate, as files (re-read at every connection, so a renewed
/// certificate is used without a restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerTls {
    pub ca: PathBuf,
    pub files: director_tls::CertFiles,
}

/// The peers this node serves.
#[derive(Debug, Clone)]
pub struct PeerAuth {
    peers: BTreeSet<String>,
}

impl PeerAuth {
    pub fn new(peers: impl IntoIterator<Item = String>) -> Self {
        PeerAuth {
            peers: peers.into_iter().collect(),
        }
    }

    /// The node a verified client certificate chain (leaf first) belongs to, if it is one of the peers.
    pub fn identify(&self, chain: Option<&[CertificateDer<'_>]>) -> Result<String, Refusal> {
        let leaf = chain
            .and_then(<[CertificateDer<'_>]>::first)
            .ok_or(Refusal::NoCertificate)?;
        let names = director_tls::dns_names(leaf).map_err(Refusal::NoName)?;
        let node = names
            .into_iter()
            .next()
            .ok_or_else(|| Refusal::NoName("it has no DNS name".into()))?;
        if !self.peers.contains(&node) {
            return Err(Refusal::UnknownPeer(node));
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    fn leaf(name: &str) -> CertificateDer<'static> {
        let ca = director_tls::cert::Authority::new("t", 1).unwrap();
        let pair = ca.node(name, &["10.0.0.9".into()], 1).unwrap();
        CertificateDer::from_pem_slice(pair.cert_pem.as_bytes()).unwrap()
    }

    #[test]
    fn the_caller_is_the_first_name_of_its_certificate_and_must_be_a_peer() {
        let auth = PeerAuth::new(["lvs-02".to_string()]);
        assert_eq!(auth.identify(Some(&[leaf("lvs-02")])), Ok("lvs-02".into()));
        assert_eq!(
            auth.identify(Some(&[leaf("lvs-03")])),
            Err(Refusal::UnknownPeer("lvs-03".into()))
        );
        assert_eq!(auth.identify(None), Err(Refusal::NoCertificate));
        assert_eq!(auth.identify(Some(&[])), Err(Refusal::NoCertificate));
        assert!(matches!(
            auth.identify(Some(&[CertificateDer::from(vec![1u8, 2, 3])])),
            Err(Refusal::NoName(_))
        ));
    }
}
