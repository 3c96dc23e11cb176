//! TLS client configuration for https checks: rustls with the ring provider.
//!
//! As keepalived, certificates are not verified by default (a real server behind a load balancer often
//! serves a certificate for the public name, or a self-signed one); `verify_tls: true` verifies the chain
//! against the Mozilla roots of `webpki-roots` and the name against the server name sent.

use super::CheckError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// The shared client configuration (built once per process for each value of `verify`).
pub fn client_config(verify: bool) -> Result<Arc<ClientConfig>, CheckError> {
    static VERIFYING: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    static TRUSTING: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    let cell = if verify { &VERIFYING } else { &TRUSTING };
    cell.get_or_init(|| build(verify).map(Arc::new))
        .clone()
        .map_err(CheckError::Tls)
}

fn build(verify: bool) -> Result<ClientConfig, String> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?;
    let config = if verify {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    };
    Ok(config)
}

/// The name to send as SNI and to verify: `sni`, else `virtual_host` (without a port), else the address
/// (an IP name: rustls sends no SNI for it).
pub fn server_name(
    sni: Option<&str>,
    virtual_host: Option<&str>,
    address: IpAddr,
) -> Result<ServerName<'static>, CheckError> {
    match sni.or(virtual_host) {
        Some(name) => {
            let host = host_without_port(name);
            ServerName::try_from(host.to_string())
                .map_err(|_| CheckError::Spec(format!("{name:?} is not a TLS server name")))
        }
        None => Ok(ServerName::IpAddress(address.into())),
    }
}

/// `example.com:8443` -> `example.com`; `[2001:db8::1]:443` -> `2001:db8::1`; IPv6 literals stay whole.
fn host_without_port(h: &str) -> &str {
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.split_once(':') {
        Some((host, port)) if !port.contains(':') => host,
        _ => h,
    }
}

/// Accepts any certificate but still checks the handshake signatures (the server holds the key of the
/// certificate it sent).
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let name = |sni, vh| server_name(sni, vh, ip).unwrap().to_str().into_owned();
        assert_eq!(name(None, None), "10.0.0.1");
        assert_eq!(name(None, Some("www.example.com:8443")), "www.example.com");
        assert_eq!(
            name(Some("sni.example.com"), Some("www.example.com")),
            "sni.example.com"
        );
        assert_eq!(name(Some("[2001:db8::1]:443"), None), "2001:db8::1");
        assert_eq!(name(Some("2001:db8::1"), None), "2001:db8::1");
        assert!(server_name(Some("bad name"), None, ip).is_err());
    }

    #[test]
    fn configs_build_with_ring() {
        assert!(client_config(false).is_ok());
        assert!(client_config(true).is_ok());
    }
}
