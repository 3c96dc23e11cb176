//! `http` and `https`: a GET whose status must be among the expected codes (default 200-299) and whose body,
//! when asked, must have the MD5 digest keepalived's `genhash` prints and/or match a regular expression.
//!
//! The request goes to the connect address (`connect_address`/`connect_port` or the real server) with
//! `Host: virtual_host`, or `Host: address:port` as keepalived sends. The body is only read when a digest or a
//! regex needs it, and never past [`MAX_BODY_BYTES`]. Chunked bodies are decoded before hashing (the digest is
//! the MD5 of the body bytes, what `curl -s URL | md5sum` prints).

use super::http1::{self, Version};
use super::tcp::{connect, Handshake};
use super::{tls, CheckError, CheckFuture, Checker, Success};
use crate::target::Target;
use director_core::model::health_check::parse_status_range;
use md5::{Digest, Md5};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_rustls::TlsConnector;

/// The largest body read for a digest or a regex.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug)]
pub struct HttpChecker {
    to: SocketAddr,
    bind: Option<IpAddr>,
    tls: Option<TlsClient>,
    request: Vec<u8>,
    accepted: Vec<(u16, u16)>,
    /// Lowercase hex.
    digest: Option<String>,
    regex: Option<regex::bytes::Regex>,
}

#[derive(Debug)]
struct TlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl HttpChecker {
    /// The checker of an `http` (`https: false`) or `https` target.
    pub fn new(target: &Target, https: bool) -> Result<Self, CheckError> {
        let hc = &target.check;
        let to = super::tcp::connect_address(target)?;
        let path = hc.path.as_deref().unwrap_or("/");
        if !path.starts_with('/')
            || path
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(CheckError::Spec(format!(
                "path {path:?} must start with '/' and have no spaces"
            )));
        }
        let version = match hc.http_version.as_deref() {
            None | Some("1.1") => Version::Http11,
            Some("1.0") => Version::Http10,
            Some(v) => {
                return Err(CheckError::Spec(format!(
                    "http_version {v:?} is not 1.0 or 1.1"
                )))
            }
        };
        let host = match &hc.virtual_host {
            Some(h) => {
                if h.is_empty()
                    || h.bytes()
                        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
                {
                    return Err(CheckError::Spec(format!(
                        "virtual_host {h:?} is not a host name"
                    )));
                }
                h.clone()
            }
            None => to.to_string(),
        };
        let accepted = match &hc.status_codes {
            None => vec![(200, 299)],
            Some(codes) if codes.is_empty() => {
                return Err(CheckError::Spec("status_codes is empty".into()))
            }
            Some(codes) => codes
                .iter()
                .map(|c| parse_status_range(c).map_err(CheckError::Spec))
                .collect::<Result<_, _>>()?,
        };
        let digest = match &hc.digest {
            Some(d) if d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(d.to_ascii_lowercase())
            }
            Some(d) => {
                return Err(CheckError::Spec(format!(
                    "digest {d:?} is not 32 hexadecimal digits"
                )))
            }
            None => None,
        };
        let regex = match &hc.body_regex {
            Some(re) => Some(
                regex::bytes::Regex::new(re)
                    .map_err(|e| CheckError::Spec(format!("body_regex: {e}")))?,
            ),
            None => None,
        };
        let tls = if https {
            Some(TlsClient {
                config: tls::client_config(hc.verify_tls.unwrap_or(false))?,
                name: tls::server_name(hc.sni.as_deref(), hc.virtual_host.as_deref(), to.ip())?,
            })
        } else {
            None
        };
        Ok(HttpChecker {
            to,
            bind: hc.bind_address,
            tls,
            request: http1::request(path, &host, version),
            accepted,
            digest,
            regex,
        })
    }

    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
    ) -> Result<Success, CheckError> {
        stream
            .write_all(&self.request)
            .await
            .map_err(|e| CheckError::io("write", &e))?;
        stream
            .flush()
            .await
            .map_err(|e| CheckError::io("write", &e))?;
        // Health answers are small; a smaller buffer keeps thousands of checks in flight cheap.
        let mut reader = BufReader::with_capacity(4096, stream);
        let head = http1::read_head(&mut reader).await?;
        if !self
            .accepted
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&head.status))
        {
            return Err(CheckError::Status(head.status));
        }
        if self.digest.is_none() && self.regex.is_none() {
            return Ok(Success::default());
        }
        let body = http1::read_body(&mut reader, head.framing, MAX_BODY_BYTES).await?;
        if let Some(want) = &self.digest {
            let got = md5_hex(&body);
            if &got != want {
                return Err(CheckError::Digest(got));
            }
        }
        if let Some(re) = &self.regex {
            if !re.is_match(&body) {
                return Err(CheckError::Regex);
            }
        }
        Ok(Success::default())
    }
}

impl Checker for HttpChecker {
    fn check(&self) -> CheckFuture<'_> {
        Box::pin(async move {
            let stream = connect(self.to, self.bind, Handshake::WithData).await?;
            match &self.tls {
                // The request is one write on a fresh connection: Nagle cannot delay it.
                None => self.exchange(stream).await,
                Some(tls) => {
                    // TLS writes several records in a row (Finished, then the request): without this,
                    // Nagle and the server's delayed ACK could hold the request back.
                    let _ = stream.set_nodelay(true);
                    let stream = TlsConnector::from(tls.config.clone())
                        .connect(tls.name.clone(), stream)
                        .await
                        .map_err(|e| CheckError::Tls(format!("handshake failed: {e}")))?;
                    self.exchange(stream).await
                }
            }
        })
    }
}

/// The MD5 of `bytes` in lowercase hex, as `genhash` and `md5sum` print it.
pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    let mut s = String::with_capacity(32);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::{CheckKind, HealthCheck};

    fn target(f: impl FnOnce(&mut HealthCheck)) -> Target {
        let mut hc = HealthCheck::new(CheckKind::Http);
        f(&mut hc);
        Target::new("web", "10.0.0.1".parse().unwrap(), 80, hc)
    }

    fn request_of(t: &Target) -> String {
        String::from_utf8(HttpChecker::new(t, false).unwrap().request).unwrap()
    }

    #[test]
    fn md5_matches_md5sum() {
        // printf 'hello\n' | md5sum
        assert_eq!(md5_hex(b"hello\n"), "b1946ac92492d2347c6235b4d2611184");
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn host_header_is_the_virtual_host_or_the_connect_address() {
        assert!(request_of(&target(|_| {})).contains("\r\nHost: 10.0.0.1:80\r\n"));
        let t = target(|hc| {
            hc.connect_address = Some("2001:db8::2".parse().unwrap());
            hc.connect_port = Some(8080);
        });
        assert!(request_of(&t).contains("\r\nHost: [2001:db8::2]:8080\r\n"));
        let t = target(|hc| {
            hc.virtual_host = Some("www.example.com".into());
            hc.path = Some("/health".into());
            hc.http_version = Some("1.0".into());
        });
        assert!(request_of(&t).starts_with("GET /health HTTP/1.0\r\nHost: www.example.com\r\n"));
    }

    #[test]
    fn specs_that_cannot_run_are_refused_with_the_field() {
        let err =
            |f: fn(&mut HealthCheck)| HttpChecker::new(&target(f), false).unwrap_err().to_string();
        assert!(err(|hc| hc.http_version = Some("2".into())).contains("http_version"));
        assert!(err(|hc| hc.status_codes = Some(vec!["2xx".into()])).contains("\"2xx\""));
        assert!(err(|hc| hc.digest = Some("abc".into())).contains("digest"));
        assert!(err(|hc| hc.body_regex = Some("(".into())).contains("body_regex"));
        assert!(err(|hc| hc.path = Some("no-slash".into())).contains("path"));
    }

    #[test]
    fn port_0_needs_connect_port() {
        let mut t = target(|_| {});
        t.port = 0;
        let e = HttpChecker::new(&t, false).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid check: the real server has port 0: set connect_port"
        );
        t.check.connect_port = Some(8080);
        assert!(HttpChecker::new(&t, false).is_ok());
    }

    #[test]
    fn digest_is_compared_in_lowercase() {
        let t = target(|hc| hc.digest = Some("B1946AC92492D2347C6235B4D2611184".into()));
        let c = HttpChecker::new(&t, false).unwrap();
        assert_eq!(
            c.digest.as_deref(),
            Some("b1946ac92492d2347c6235b4d2611184")
        );
    }
}
