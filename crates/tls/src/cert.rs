//! `director cert`: a certificate authority for a lab cluster and the certificates of its nodes (rcgen,
//! ECDSA P-256). A node certificate names the node first among its DNS names (that is how a peer learns who
//! is calling) and serves both as a TLS server and as a TLS client certificate, so one pair does for peer sync
//! (`--peer-cert`) and, with the addresses and host names clients use added, for HTTPS and gRPC (`--tls-cert`).
//!
//! In production, use your own PKI; this is what a lab or a test needs.

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A certificate and its private key, in PEM.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA that signs node certificates.
pub struct Authority {
    params: CertificateParams,
    key: KeyPair,
    pub cert_pem: String,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

const DAY: Duration = Duration::from_secs(86_400);

impl Authority {
    /// A new CA, `director cluster CA <name>`, valid for `days` from an hour ago (some clock skew).
    pub fn new(name: &str, days: u32) -> anyhow::Result<Authority> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "director");
        dn.push(DnType::CommonName, format!("director cluster CA {name}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        params.not_before = (now - Duration::from_secs(3600)).into();
        params.not_after = (now + DAY * days).into();
        let key = KeyPair::generate().context("generating the CA key")?;
        let cert = params.clone().self_signed(&key).context("signing the CA")?;
        Ok(Authority {
            params,
            key,
            cert_pem: cert.pem(),
        })
    }

    /// The CA of `ca.pem` and `ca-key.pem` in `dir`.
    pub fn read(dir: &Path) -> anyhow::Result<Authority> {
        let (cert, key) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        let cert_pem = std::fs::read_to_string(&cert).with_context(|| {
            format!(
                "reading {} (make it with `director cert ca`)",
                cert.display()
            )
        })?;
        let key_pem =
            std::fs::read_to_string(&key).with_context(|| format!("reading {}", key.display()))?;
        let params = CertificateParams::from_ca_cert_pem(&cert_pem)
            .with_context(|| format!("{} is not a CA certificate", cert.display()))?;
        let key = KeyPair::from_pem(&key_pem)
            .with_context(|| format!("{} is not a private key", key.display()))?;
        Ok(Authority {
            params,
            key,
            cert_pem,
        })
    }

    /// A certificate for node `name` (its first DNS name), with `sans` (IP addresses or DNS names) after it,
    /// valid for `days` from an hour ago.
    pub fn node(&self, name: &str, sans: &[String], days: u32) -> anyhow::Result<Pair> {
        let now = SystemTime::now();
        self.node_valid(
            name,
            sans,
            now - Duration::from_secs(3600),
            now + DAY * days,
        )
    }

    /// A node certificate valid from `not_before` to `not_after` (a test makes an expired one).
    pub fn node_valid(
        &self,
        name: &str,
        sans: &[String],
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> anyhow::Result<Pair> {
        director_core::model::validate_name("node", name).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut names = vec![name.to_string()];
        names.extend(sans.iter().filter(|s| s.as_str() != name).cloned());
        let mut params = CertificateParams::new(names)
            .with_context(|| format!("{sans:?}: each name must be an IP address or a DNS name"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "director");
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before.into();
        params.not_after = not_after.into();
        let key = KeyPair::generate().context("generating the node key")?;
        let issuer = self
            .params
            .clone()
            .self_signed(&self.key)
            .context("loading the CA")?;
        let cert = params
            .signed_by(&key, &issuer, &self.key)
            .context("signing the node certificate")?;
        Ok(Pair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }
}

/// Writes `text` to `path`; private files get mode 0600. Refuses to overwrite unless `force`.
fn write(path: &Path, text: &str, private: bool, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options
        .write(true)
        .mode(if private { 0o600 } else { 0o644 });
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut f = options.open(path).with_context(|| {
        if path.exists() && !force {
            format!("{} exists already (--force replaces it)", path.display())
        } else {
            format!("writing {}", path.display())
        }
    })?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// `director cert ca`: writes `ca.pem` and `ca-key.pem` (0600) into `dir`.
pub fn make_ca(dir: &Path, name: &str, days: u32, force: bool) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca = Authority::new(name, days)?;
    let cert = dir.join("ca.pem");
    write(&dir.join("ca-key.pem"), &ca.key_pem(), true, force)?;
    write(&cert, &ca.cert_pem, false, force)?;
    Ok(cert)
}

/// `director cert node`: writes `<name>.pem` and `<name>-key.pem` (0600) into `out`, signed by the CA in
/// `ca_dir`.
pub fn make_node(
    ca_dir: &Path,
    out: &Path,
    name: &str,
    sans: &[String],
    days: u32,
    force: bool,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let ca = Authority::read(ca_dir)?;
    let pair = ca.node(name, sans, days)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (cert, key) = (
        out.join(format!("{name}.pem")),
        out.join(format!("{name}-key.pem")),
    );
    write(&key, &pair.key_pem, true, force)?;
    write(&cert, &pair.cert_pem, false, force)?;
    Ok((cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, UnixTime};

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    /// The node certificate verifies against its CA as a client and as a server for its name, and not
    /// against another CA or for another name.
    #[test]
    fn node_certificates_chain_to_their_ca_and_name_the_node() {
        let dir = tempfile::tempdir().unwrap();
        make_ca(dir.path(), "lab", 30, false).unwrap();
        let (cert, key) = make_node(
            dir.path(),
            dir.path(),
            "lvs-01",
            &["127.0.0.1".into()],
            30,
            false,
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(dir.path().join("ca-key.pem"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        let leaf = der(&std::fs::read_to_string(&cert).unwrap());
        let ee = webpki::EndEntityCert::try_from(&leaf).unwrap();
        let roots = crate::read_roots(&dir.path().join("ca.pem")).unwrap();
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let now = UnixTime::now();
        for usage in [
            webpki::KeyUsage::client_auth(),
            webpki::KeyUsage::server_auth(),
        ] {
            ee.verify_for_usage(algs.all, &roots.roots, &[], now, usage, None, None)
                .expect("chains to the CA");
        }
        let name = rustls::pki_types::ServerName::try_from("lvs-01").unwrap();
        ee.verify_is_valid_for_subject_name(&name).unwrap();
        let other = rustls::pki_types::ServerName::try_from("lvs-02").unwrap();
        assert!(ee.verify_is_valid_for_subject_name(&other).is_err());

        let stranger = Authority::new("other", 30).unwrap();
        let mut other_roots = rustls::RootCertStore::empty();
        other_roots.add(der(&stranger.cert_pem)).unwrap();
        assert!(ee
            .verify_for_usage(
                algs.all,
                &other_roots.roots,
                &[],
                now,
                webpki::KeyUsage::client_auth(),
                None,
                None
            )
            .is_err());

        // Files are not overwritten by mistake.
        let again = make_node(dir.path(), dir.path(), "lvs-01", &[], 30, false).unwrap_err();
        assert!(format!("{again:#}").contains("--force"), "{again:#}");
    }

    #[test]
    fn a_node_name_must_be_a_slug() {
        let ca = Authority::new("lab", 1).unwrap();
        let err = ca.node("Bad Name", &[], 1).unwrap_err();
        assert!(err.to_string().contains("node"), "{err}");
    }
}
