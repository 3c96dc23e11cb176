//! A lab PKI for the suites, made with the commands the README shows: `director cert ca` and
//! `director cert node`.

use crate::director_bin;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA in a temporary directory, and the node certificates it signed there.
pub struct Pki {
    dir: tempfile::TempDir,
}

/// A node's certificate and key files.
#[derive(Debug, Clone)]
pub struct NodeCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn run(args: &[&str]) {
    let out = Command::new(director_bin())
        .args(args)
        .output()
        .expect("run director cert");
    assert!(
        out.status.success(),
        "director {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("director-pki-")
            .tempdir()
            .expect("temp dir");
        run(&["cert", "ca", "--out", &dir.path().to_string_lossy()]);
        Pki { dir }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// `director cert node NAME --san ...` (made once; later calls return the same files).
    pub fn node(&self, name: &str, sans: &[&str]) -> NodeCert {
        let files = NodeCert {
            cert: self.dir.path().join(format!("{name}.pem")),
            key: self.dir.path().join(format!("{name}-key.pem")),
        };
        if !files.cert.exists() {
            let dir = self.dir.path().to_string_lossy().to_string();
            let mut args = vec!["cert", "node", name, "--ca-dir", &dir];
            let sans = sans.join(",");
            if !sans.is_empty() {
                args.extend(["--san", &sans]);
            }
            run(&args);
        }
        files
    }

    /// A daemon's HTTP and gRPC certificate for `name` (with `sans`), and this CA for its clients.
    pub fn tls(&self, name: &str, sans: &[&str]) -> crate::daemon::Tls {
        let n = self.node(name, sans);
        crate::daemon::Tls {
            cert: n.cert,
            key: n.key,
            ca: self.ca(),
        }
    }

    /// The flags of a node that syncs with peers through this CA.
    pub fn peer_args(&self, name: &str) -> Vec<String> {
        let n = self.node(name, &[]);
        vec![
            "--peer-ca".into(),
            self.ca().to_string_lossy().into(),
            "--peer-cert".into(),
            n.cert.to_string_lossy().into(),
            "--peer-key".into(),
            n.key.to_string_lossy().into(),
        ]
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}
