//! HTTPS: the API and the UI over TLS with a lab CA (`director cert`), cookies that stay on HTTPS, no plain
//! text beyond loopback, and a certificate swapped without a restart (by its files changing, and on SIGHUP).

use director_tests::daemon::Tls;
use director_tests::pki::{NodeCert, Pki};
use director_tests::{director_bin, Daemon, DaemonOptions};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A client that trusts only `ca`.
fn client(ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).expect("read CA");
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA"))
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("client")
}

#[tokio::test]
async fn the_api_and_the_ui_are_served_over_https_only() {
    let pki = Pki::new();
    let d = Daemon::start_with(DaemonOptions {
        tls: Some(pki.tls("test-node", &["127.0.0.1", "localhost"])),
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    assert!(d.base.starts_with("https://"));
    // `director plan --ca` asks over HTTPS, as the README shows.
    let out = Command::new(director_bin())
        .args([
            "plan",
            "--http-listen",
            &format!("127.0.0.1:{}", d.port),
            "--ca",
        ])
        .arg(pki.ca())
        .arg("--data-dir")
        .arg(d.data_path())
        .output()
        .expect("director plan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("plan at revision"));
    // The harness logged in over HTTPS; the token works there.
    let status = d.get("/api/v1/status").await;
    assert_eq!(status["node"], "test-node");

    // The login form's cookie (and every other) is Secure; HSTS is sent.
    let r = d
        .http
        .get(d.url("/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(r.status(), 200);
    let cookies: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    assert!(!cookies.is_empty(), "the login form sets its cookie");
    for c in &cookies {
        assert!(c.ends_with("; Secure"), "not Secure: {c}");
    }
    assert!(r.headers().contains_key("strict-transport-security"));

    // Plain HTTP on the same port gets no answer.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .expect("client");
    let url = d.url("/healthz").replacen("https://", "http://", 1);
    let answer = plain.get(&url).send().await;
    assert!(
        answer.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP was served: {answer:?}"
    );

    // A client that does not trust the lab CA refuses the server.
    let stranger = Pki::new();
    assert!(client(&stranger.ca())
        .get(d.url("/healthz"))
        .send()
        .await
        .is_err());
}

#[test]
fn plain_text_beyond_loopback_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (flag, addr) in [
        ("--http-listen", "0.0.0.0:18080"),
        ("--grpc-listen", "0.0.0.0:18081"),
    ] {
        let out = Command::new(director_bin())
            .args([
                "serve",
                "--dataplane",
                "none",
                "--vrrp",
                "off",
                "--data-dir",
            ])
            .arg(dir.path())
            .args([flag, addr])
            .env("DIRECTOR_INITIAL_ADMIN_PASSWORD", "admin-password-1")
            .output()
            .expect("run director serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{flag} {addr} was served in plain text"
        );
        assert!(
            stderr.contains(flag)
                && stderr.contains("--allow-plaintext")
                && stderr.contains("--tls-cert"),
            "the error names the listen and the flags to add: {stderr}"
        );
    }
}

/// Polls until a client trusting `ca` gets an answer from `url`.
async fn wait_trusted(ca: &Path, url: &str, d: &Daemon) {
    let c = client(ca);
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.get(url).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served:\n{}",
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces the daemon's certificate files with a certificate of `pki`.
fn swap(files: &NodeCert, pki: &Pki) {
    let new = pki.node("test-node", &["127.0.0.1"]);
    // Key first: a half-written pair is refused and the old one kept until the certificate follows.
    std::fs::copy(&new.key, &files.key).expect("copy key");
    std::fs::copy(&new.cert, &files.cert).expect("copy cert");
}

#[tokio::test]
async fn a_new_certificate_is_served_without_a_restart() {
    let (old_ca, new_ca) = (Pki::new(), Pki::new());
    let dir = tempfile::tempdir().expect("temp dir");
    let files = NodeCert {
        cert: dir.path().join("tls.pem"),
        key: dir.path().join("tls-key.pem"),
    };
    let first = old_ca.node("test-node", &["127.0.0.1"]);
    std::fs::copy(&first.cert, &files.cert).expect("copy");
    std::fs::copy(&first.key, &files.key).expect("copy");
    let tls = Tls {
        cert: files.cert.clone(),
        key: files.key.clone(),
        ca: old_ca.ca(),
    };

    // Picked up because the files changed.
    let watched = Daemon::start_with(DaemonOptions {
        tls: Some(tls.clone()),
        extra_args: vec!["--tls-reload-interval".into(), "200ms".into()],
        ..Default::default()
    })
    .await;
    swap(&files, &new_ca);
    let url = watched.url("/healthz");
    wait_trusted(&new_ca.ca(), &url, &watched).await;
    assert!(
        client(&old_ca.ca()).get(&url).send().await.is_err(),
        "the old one is gone"
    );
    assert!(watched.log_text().contains("now serving"));
    drop(watched);

    // Picked up on SIGHUP, files looked at only once an hour.
    std::fs::copy(&first.cert, &files.cert).expect("copy");
    std::fs::copy(&first.key, &files.key).expect("copy");
    let d = Daemon::start_with(DaemonOptions {
        tls: Some(tls),
        extra_args: vec!["--tls-reload-interval".into(), "1h".into()],
        ..Default::default()
    })
    .await;
    swap(&files, &new_ca);
    let url = d.url("/healthz");
    // Still the old one: nothing has looked at the files.
    assert!(client(&old_ca.ca()).get(&url).send().await.is_ok());
    let hup = Command::new("kill")
        .args(["-HUP", &d.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hup.success());
    wait_trusted(&new_ca.ca(), &url, &d).await;
    assert!(d.log_text().contains("SIGHUP"));
}
