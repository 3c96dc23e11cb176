//! Peer sync benchmark (not a test): two release daemons on loopback, peers of each other.
//!
//! 1. Replication latency: 1,000 sequential SetWeight calls (gRPC) on node a; for each, the time from a's
//!    answer until node b's Watch stream delivers the change (p50/p99), and from the call's start.
//! 2. Partition: the link is cut, 1,000 weight changes are made on each side (half of them to the same real
//!    servers: conflicts), the link heals; the time until both nodes report the same digest.
//!
//! cargo build --release -p director -p director-tests && target/release/bench-sync

use director_proto as pb;
use director_proto::director_client::DirectorClient;
use director_tests::cluster::Cluster;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

const CHANGES: usize = 1000;
const REAL_SERVERS: u8 = 20;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn request<T>(message: T, token: &MetadataValue<Ascii>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert("authorization", token.clone());
    r
}

async fn client(url: String) -> DirectorClient<Channel> {
    let channel = Channel::from_shared(url)
        .expect("url")
        .connect()
        .await
        .expect("connect");
    DirectorClient::new(channel)
}

fn set_weight(rs: u8, weight: u32) -> pb::SetWeightRequest {
    pb::SetWeightRequest {
        virtual_server: "web".into(),
        real_server: format!("10.9.0.{rs}:80"),
        weight,
        expected_revision: None,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let c = Cluster::start(&["a", "b"]).await;
    let (a, b) = (c.node(0), c.node(1));
    let vs = json!({
        "name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
        "real_servers": (1..=REAL_SERVERS).map(|i| json!({"address": format!("10.9.0.{i}"), "port": 80, "weight": 1}))
            .collect::<Vec<_>>()
    });
    let (status, body) = a
        .call(Method::POST, "/api/v1/virtual-servers", Some(vs))
        .await;
    assert_eq!(status, 201, "{body}");
    c.converged(Duration::from_secs(20)).await;

    // 1. Replication latency.
    let token_a: MetadataValue<Ascii> = format!("Bearer {}", a.admin_token).parse().expect("token");
    let token_b: MetadataValue<Ascii> = format!("Bearer {}", b.admin_token).parse().expect("token");
    let mut ca = client(a.grpc_url()).await;
    let mut cb = client(b.grpc_url()).await;
    let from = b.get("/api/v1/status").await["revision"]
        .as_u64()
        .unwrap_or(0);
    let mut watch = cb
        .watch(request(
            pb::WatchRequest {
                after_revision: Some(from),
            },
            &token_b,
        ))
        .await
        .expect("watch on b")
        .into_inner();
    let mut after_ack = Vec::with_capacity(CHANGES);
    let mut end_to_end = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let weight = 2 + i as u32;
        let rs = 1 + (i % usize::from(REAL_SERVERS)) as u8;
        let started = Instant::now();
        ca.set_weight(request(set_weight(rs, weight), &token_a))
            .await
            .expect("set weight on a");
        let acked = Instant::now();
        let wanted = format!("-> {weight}");
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), watch.message())
                .await
                .expect("b received nothing within 10 s")
                .expect("watch")
                .expect("watch ended");
            if event.changes.iter().any(|e| e.summary.ends_with(&wanted)) {
                break;
            }
        }
        after_ack.push(acked.elapsed());
        end_to_end.push(started.elapsed());
    }
    after_ack.sort();
    end_to_end.sort();
    println!("replication latency, {CHANGES} sequential SetWeight calls on a, seen by b's Watch:");
    println!(
        "  after a's answer: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms   (target p99 <= 50 ms)",
        percentile(&after_ack, 0.5),
        percentile(&after_ack, 0.99),
        percentile(&after_ack, 1.0)
    );
    println!(
        "  from the call:    p50 {:.2} ms  p99 {:.2} ms",
        percentile(&end_to_end, 0.5),
        percentile(&end_to_end, 0.99)
    );

    // 2. Partition and healing.
    c.partition(0, 1);
    let write_side = |mut cl: DirectorClient<Channel>, token: MetadataValue<Ascii>, base: u32| async move {
        for i in 0..CHANGES {
            let rs = 1 + (i % usize::from(REAL_SERVERS)) as u8;
            cl.set_weight(request(set_weight(rs, base + i as u32), &token))
                .await
                .expect("set weight");
        }
    };
    let written = Instant::now();
    tokio::join!(
        write_side(ca.clone(), token_a.clone(), 10_000),
        write_side(cb.clone(), token_b.clone(), 20_000)
    );
    let writing = written.elapsed();
    let healed = Instant::now();
    c.heal(0, 1);
    let digest = c.converged(Duration::from_secs(60)).await;
    let converge = healed.elapsed();
    println!(
        "partition: {CHANGES} SetWeight calls on each side ({:.0} ms), then healed:",
        writing.as_secs_f64() * 1000.0
    );
    println!(
        "  converged (same digest {digest} on both) {:.0} ms after healing   (target <= 2000 ms)",
        converge.as_secs_f64() * 1000.0
    );
    println!(
        "  conflicts audited: a {}, b {}",
        conflicts(a).await,
        conflicts(b).await
    );
}

async fn conflicts(d: &director_tests::Daemon) -> usize {
    d.get("/api/v1/audit?action=conflict&limit=1000").await["items"]
        .as_array()
        .map_or(0, Vec::len)
}
