//! Who may sync: mutual TLS with the cluster CA (a stranger's, an expired or a replayed session is refused),
//! the peer list; and a new empty node starting from a full copy.

use crate::{ok, vs};
use director_tests::cluster::Cluster;
use director_tests::pki::Pki;
use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Waits (up to 10 s) until `d` reports its first peer refused it, and checks the reason names `why`.
async fn wait_refused(d: &Daemon, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = &d.get("/api/v1/status").await["sync"]["peers"][0];
        if p["state"] == "refused" {
            let error = p["error"].as_str().unwrap_or_default();
            assert!(error.contains(why), "refused, but not for {why:?}: {p}");
            return;
        }
        assert!(Instant::now() < deadline, "never refused: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Nothing of `a`'s reached `b`, and `a` logged why it refused.
async fn nothing_crossed(c: &Cluster, a_says: &str) {
    let (status, _) = c
        .node(1)
        .call(Method::GET, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(status, 404, "nothing crossed");
    assert!(
        c.node(0).log_text().contains(a_says),
        "a logs the refusal ({a_says:?}):\n{}",
        c.node(0).log_text()
    );
    assert!(
        !c.node(0)
            .log_text()
            .contains("peer follows this node's changes"),
        "a served nothing"
    );
}

/// A cluster of a and b where b's peer certificate is `b_cert` (a valid one of its own CA otherwise).
async fn with_b_certificate(b_args: impl FnOnce(&Cluster) -> Vec<String>) -> Cluster {
    let mut c = Cluster::new(&["a", "b"]).await;
    c.peer_args[1] = b_args(&c);
    c.start_node(0).await;
    c.start_node(1).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 1)),
    )
    .await;
    c
}

fn cert_args(ca: &Path, cert: &Path, key: &Path) -> Vec<String> {
    [
        "--peer-ca",
        &ca.to_string_lossy(),
        "--peer-cert",
        &cert.to_string_lossy(),
        "--peer-key",
        &key.to_string_lossy(),
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_certificate_another_ca_signed_is_refused() {
    let stranger = Pki::new();
    let c = with_b_certificate(|c| {
        let b = stranger.node("b", &[]);
        // b trusts the cluster CA (so that only a's refusal is at play), but holds a certificate of another.
        cert_args(&c.pki.ca(), &b.cert, &b.key)
    })
    .await;
    wait_refused(c.node(1), "").await;
    nothing_crossed(&c, "TLS handshake refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_an_expired_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let c = with_b_certificate(|c| {
        let ca = director_tls::cert::Authority::read(c.pki.dir()).expect("the cluster CA");
        let day = Duration::from_secs(86_400);
        let pair = ca
            .node_valid(
                "b",
                &[],
                SystemTime::now() - 30 * day,
                SystemTime::now() - day,
            )
            .expect("an expired certificate");
        let (cert, key) = (dir.path().join("b.pem"), dir.path().join("b-key.pem"));
        std::fs::write(&cert, pair.cert_pem).expect("write");
        std::fs::write(&key, pair.key_pem).expect("write");
        cert_args(&c.pki.ca(), &cert, &key)
    })
    .await;
    wait_refused(c.node(1), "").await;
    nothing_crossed(&c, "TLS handshake refused").await;
    let log = c.node(0).log_text();
    assert!(
        log.to_lowercase().contains("expired"),
        "a says the certificate expired:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_valid_certificate_that_is_not_a_peer_is_refused() {
    let c = Cluster::start(&["a", "b"]).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 1)),
    )
    .await;
    // "x" holds a certificate of the cluster CA, but "a" does not list it as a peer.
    let x = Daemon::start_with(DaemonOptions {
        node_name: Some("x".into()),
        extra_args: [
            vec![
                "--peers".into(),
                format!(
                    "a=127.0.0.1:{}",
                    c.node(0).peer_port.expect("a serves peers")
                ),
            ],
            c.pki.peer_args("x"),
        ]
        .concat(),
        peer_port: Some(director_tests::free_port()),
        ..Default::default()
    })
    .await;
    wait_refused(&x, "not a peer").await;
    let (status, _) = x
        .call(Method::GET, "/api/v1/virtual-servers/web", None)
        .await;
    assert_eq!(status, 404);
    assert!(c.node(0).log_text().contains("\"x\" is not a peer"));
}

/// The bytes a peer sent to open its session, recorded on the wire and sent again, get nothing: the
/// handshake cannot be completed without the peer's key, so no call is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_session_replayed_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let mut c = Cluster::new(&["a", "b"]).await;
    c.start_node(0).await;
    ok(
        c.node(0),
        Method::POST,
        "/api/v1/virtual-servers",
        Some(vs("web", "10.0.0.1", 1)),
    )
    .await;
    let a_peer = c.node(0).peer_port.expect("a serves peers");
    // A recorder between b and a: what b sends on its first connection is kept.
    let recorder = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let recorder_port = recorder.local_addr().expect("address").port();
    let recorded = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<u8>::new()));
    let kept = recorded.clone();
    tokio::spawn(async move {
        let (mut from_b, _) = recorder.accept().await.expect("b connects");
        let mut to_a = TcpStream::connect(("127.0.0.1", a_peer)).await.expect("a");
        let (mut b_read, mut b_write) = from_b.split();
        let (mut a_read, mut a_write) = to_a.split();
        let upstream = async {
            let mut buf = vec![0u8; 65536];
            loop {
                let n = b_read.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                kept.lock().await.extend_from_slice(&buf[..n]);
                if a_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        let downstream = tokio::io::copy(&mut a_read, &mut b_write);
        let _ = tokio::join!(upstream, downstream);
    });
    let b = Daemon::start_with(DaemonOptions {
        node_name: Some("b".into()),
        extra_args: [
            vec!["--peers".into(), format!("a=127.0.0.1:{recorder_port}")],
            c.pki.peer_args("b"),
        ]
        .concat(),
        peer_port: Some(director_tests::free_port()),
        ..Default::default()
    })
    .await;
    // The session did its work: b has a's virtual server.
    let deadline = Instant::now() + Duration::from_secs(20);
    while b
        .call(Method::GET, "/api/v1/virtual-servers/web", None)
        .await
        .0
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "b never received a's virtual server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ... and went on to follow a's log (the full copy comes first, the pull after it).
    while !c
        .node(0)
        .log_text()
        .contains("peer follows this node's changes")
    {
        assert!(Instant::now() < deadline, "b never followed a's log");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(b);
    let served = c
        .node(0)
        .log_text()
        .matches("peer follows this node's changes")
        .count();
    let refused = c
        .node(0)
        .log_text()
        .matches("TLS handshake refused")
        .count();
    let bytes = recorded.lock().await.clone();
    assert!(!bytes.is_empty(), "b's session was recorded");

    let mut replay = TcpStream::connect(("127.0.0.1", a_peer))
        .await
        .expect("connect to a");
    let _ = replay.write_all(&bytes).await;
    let mut answer = Vec::new();
    // a ends the connection (its handshake fails); bounded in case it does not.
    let _ = tokio::time::timeout(Duration::from_secs(10), replay.read_to_end(&mut answer)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while c
        .node(0)
        .log_text()
        .matches("TLS handshake refused")
        .count()
        == refused
    {
        assert!(
            Instant::now() < deadline,
            "a never refused the replay:\n{}",
            c.node(0).log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        c.node(0)
            .log_text()
            .matches("peer follows this node's changes")
            .count(),
        served,
        "the replay was served nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_empty_node_receives_everything_then_follows() {
    // c is the new node: it starts empty once a and b have built up their configuration.
    let mut c = Cluster::new(&["a", "b", "c"]).await;
    c.start_node(0).await;
    c.start_node(1).await;
    for i in 0..20u8 {
        let node = c.node(usize::from(i % 2));
        ok(
            node,
            Method::POST,
            "/api/v1/virtual-servers",
            Some(vs(&format!("vs-{i}"), &format!("10.0.1.{i}"), 3)),
        )
        .await;
    }
    ok(
        c.node(1),
        Method::DELETE,
        "/api/v1/virtual-servers/vs-3",
        None,
    )
    .await;
    c.start_node(2).await;
    c.converged(Duration::from_secs(20)).await;
    assert_eq!(c.objects(2).await, c.objects(0).await);
    let s = c.node(2).get("/api/v1/status").await;
    let full: Vec<_> = s["sync"]["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .filter(|p| p["full_copy"] == true)
        .collect();
    assert_eq!(full.len(), 1, "one full copy, from one peer: {s:#}");
    // And then it follows: a change made on the new node reaches the others.
    ok(
        c.node(2),
        Method::DELETE,
        "/api/v1/virtual-servers/vs-4",
        None,
    )
    .await;
    c.converged(Duration::from_secs(20)).await;
    let (status, _) = c
        .node(0)
        .call(Method::GET, "/api/v1/virtual-servers/vs-4", None)
        .await;
    assert_eq!(status, 404);
}
