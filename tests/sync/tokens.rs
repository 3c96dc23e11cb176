//! Token revocations reach peers: two nodes sharing one token secret accept each other's service tokens; a
//! token revoked on one (DELETE /api/v1/tokens/{id}, logout, `director token revoke`) is refused by the
//! other over REST and gRPC within a bounded wait, and still after the other restarts.

use director_proto as pb;
use director_proto::director_client::DirectorClient;
use director_tests::cluster::Cluster;
use director_tests::Daemon;
use reqwest::Method;
use std::path::Path;
use std::time::{Duration, Instant};

/// The token secret both nodes are given (`--jwt-secret`), as an operator shares one file between them.
const SECRET: &str = "one-token-secret-for-the-whole-cluster-0123";

async fn shared_secret_cluster() -> Cluster {
    let mut c = Cluster::new(&["a", "b"]).await;
    for args in &mut c.extra_args {
        *args = vec!["--jwt-secret".into(), SECRET.into()];
    }
    c.start_node(0).await;
    c.start_node(1).await;
    c
}

/// Runs `director ARGS` on the data directory `data` (with the shared secret); returns standard output and
/// standard error.
fn cli(data: &Path, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(director_tests::director_bin())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("DIRECTOR_JWT_SECRET", SECRET)
        .output()
        .expect("director");
    assert!(
        out.status.success(),
        "director {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A service token issued on `d` by the CLI, and its id.
fn service_token(d: &Daemon, name: &str) -> (String, String) {
    let (token, stderr) = cli(
        d.data_path(),
        &[
            "token", "create", "--role", "viewer", "--ttl", "1h", "--name", name,
        ],
    );
    let id = stderr
        .split_whitespace()
        .skip_while(|w| *w != "id")
        .nth(1)
        .unwrap_or_else(|| panic!("no token id in {stderr:?}"))
        .to_string();
    (token, id)
}

async fn rest_status(d: &Daemon, token: &str) -> u16 {
    d.call_as(token, Method::GET, "/api/v1/status", None)
        .await
        .0
}

async fn grpc_status(d: &Daemon, token: &str) -> Result<(), tonic::Code> {
    let channel = tonic::transport::Channel::from_shared(d.grpc_url())
        .expect("gRPC URL")
        .connect()
        .await
        .expect("gRPC connection");
    let mut req = tonic::Request::new(pb::StatusRequest {});
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    DirectorClient::new(channel)
        .status(req)
        .await
        .map(drop)
        .map_err(|s| s.code())
}

/// Both APIs of `d` accept `token`.
async fn accepted(d: &Daemon, token: &str) {
    assert_eq!(rest_status(d, token).await, 200, "REST on {}", d.base);
    assert_eq!(grpc_status(d, token).await, Ok(()), "gRPC on {}", d.base);
}

/// Both APIs of `d` refuse `token`.
async fn refused(d: &Daemon, token: &str) {
    assert_eq!(rest_status(d, token).await, 401, "REST on {}", d.base);
    assert_eq!(
        grpc_status(d, token).await,
        Err(tonic::Code::Unauthenticated),
        "gRPC on {}",
        d.base
    );
}

/// Waits until `d` refuses `token` over REST and gRPC (up to 15 s; accepted until then).
async fn refused_within(d: &Daemon, token: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if rest_status(d, token).await == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {} still accepts the token after 15 s:\n{}",
            d.base,
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    refused(d, token).await;
}

/// The entry of token `id` in `GET /api/v1/tokens` of `d`.
async fn listed(d: &Daemon, id: &str) -> serde_json::Value {
    let list = d.get("/api/v1/tokens").await;
    list["items"]
        .as_array()
        .or_else(|| list.as_array())
        .into_iter()
        .flatten()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("token {id} not listed on {}: {list}", d.base))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_node_is_refused_on_its_peer_also_after_a_restart() {
    let mut c = shared_secret_cluster().await;
    let (token, id) = service_token(c.node(0), "ci");
    let (logged_out, _) = service_token(c.node(0), "deploy");
    let (by_cli, by_cli_id) = service_token(c.node(0), "nightly");
    for t in [&token, &logged_out, &by_cli] {
        accepted(c.node(0), t).await;
        accepted(c.node(1), t).await;
    }

    // Revoked by an admin on a (REST DELETE).
    let (status, body) = c
        .node(0)
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
        .await;
    assert_eq!(status, 204, "{body}");
    refused(c.node(0), &token).await;
    refused_within(c.node(1), &token, "DELETE /api/v1/tokens/{id} on a").await;
    let entry = listed(c.node(1), &id).await;
    assert_eq!(entry["subject"], "token:ci", "{entry}");
    assert_eq!(entry["kind"], "service", "{entry}");
    assert!(
        entry["revoked_at"].is_string(),
        "listed as revoked on b: {entry}"
    );
    accepted(c.node(1), &logged_out).await;

    // Logged out on a.
    let (status, body) = c
        .node(0)
        .call_as(&logged_out, Method::POST, "/api/v1/auth/logout", None)
        .await;
    assert_eq!(status, 204, "{body}");
    refused_within(c.node(1), &logged_out, "logout on a").await;

    // Revoked by `director token revoke` on a's host while a runs: a picks it up and sends it on.
    let (out, _) = cli(c.data_dir(0), &["token", "revoke", &by_cli_id]);
    assert!(out.contains(&by_cli_id), "{out}");
    refused_within(c.node(1), &by_cli, "director token revoke on a").await;

    // b restarted: still refused, at once.
    c.stop_node(1);
    c.start_node(1).await;
    for t in [&token, &logged_out, &by_cli] {
        refused(c.node(1), t).await;
    }
    assert!(listed(c.node(1), &id).await["revoked_at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_while_both_nodes_are_down_is_refused_on_the_peer_once_they_are_back() {
    let mut c = shared_secret_cluster().await;
    let (token, id) = service_token(c.node(0), "ci");
    accepted(c.node(1), &token).await;
    c.stop_node(1);
    c.stop_node(0);
    // Revoked by the CLI while no daemon runs: a sends it on when it starts.
    let (out, _) = cli(c.data_dir(0), &["token", "revoke", &id]);
    assert!(out.contains(&id), "{out}");
    c.start_node(0).await;
    refused(c.node(0), &token).await;
    c.start_node(1).await;
    refused_within(c.node(1), &token, "revoked on a while both were down").await;
}
