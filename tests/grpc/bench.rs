//! gRPC benchmark (not a test): loads 1,000 virtual servers x 10 real servers into a release daemon over
//! gRPC, then 32 concurrent clients, each on its own connection, send SetWeight calls; prints throughput and
//! latency percentiles.
//!
//! cargo build --release -p director -p director-tests && target/release/bench-grpc
//! (or: cargo run --release -p director-tests --bin bench-grpc, after building the daemon in release)

use director_proto as pb;
use director_proto::director_client::DirectorClient;
use director_tests::{Daemon, DaemonOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

const VIRTUAL_SERVERS: usize = 1000;
const REAL_SERVERS: usize = 10;
const CLIENTS: usize = 32;
const CALLS: usize = 10_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn real_server(vs: usize, j: usize) -> (String, String) {
    let address = format!("10.{}.{}.{}", 128 + vs / 250, vs % 250, j + 1);
    let endpoint = format!("{address}:80");
    (address, endpoint)
}

fn request<T>(message: T, token: &MetadataValue<Ascii>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert("authorization", token.clone());
    r
}

/// Runs `total` calls over `CLIENTS` workers, each with its own connection; returns sorted latencies and the
/// wall time.
async fn run<F, Fut>(d: &Daemon, total: usize, call: F) -> (Vec<Duration>, Duration)
where
    F: Fn(DirectorClient<Channel>, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), tonic::Status>> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let channel = Channel::from_shared(d.grpc_url())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        clients.push(DirectorClient::new(channel));
    }
    let started = Instant::now();
    for client in clients {
        let (call, next) = (call.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                if let Err(s) = call(client.clone(), i).await {
                    panic!("call {i}: {s:?}");
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let wall = started.elapsed();
    all.sort();
    (all, wall)
}

#[tokio::main]
async fn main() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("none".into()),
        ..Default::default()
    })
    .await;
    let token: MetadataValue<Ascii> = format!("Bearer {}", d.admin_token).parse().expect("token");

    println!(
        "loading {VIRTUAL_SERVERS} virtual servers x {REAL_SERVERS} real servers over gRPC..."
    );
    let t = token.clone();
    let (_, load) = run(&d, VIRTUAL_SERVERS, move |mut c, i| {
        let t = t.clone();
        async move {
            let vs = pb::VirtualServer {
                name: format!("svc-{i:04}"),
                protocol: pb::Protocol::Tcp as i32,
                address: Some(format!("10.100.{}.{}", i / 250, i % 250 + 1)),
                port: Some(80),
                scheduler: pb::Scheduler::Wrr as i32,
                real_servers: (0..REAL_SERVERS)
                    .map(|j| pb::RealServer {
                        address: real_server(i, j).0,
                        port: 80,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            c.create_virtual_server(request(
                pb::CreateVirtualServerRequest {
                    virtual_server: Some(vs),
                },
                &t,
            ))
            .await
            .map(drop)
        }
    })
    .await;
    println!(
        "loaded in {:.1} s ({:.0} creates/s)",
        load.as_secs_f64(),
        VIRTUAL_SERVERS as f64 / load.as_secs_f64()
    );

    let t = token.clone();
    let (lat, wall) = run(&d, CALLS, move |mut c, i| {
        let t = t.clone();
        async move {
            let vs = (i * 7919) % VIRTUAL_SERVERS;
            c.set_weight(request(
                pb::SetWeightRequest {
                    virtual_server: format!("svc-{vs:04}"),
                    real_server: real_server(vs, i % REAL_SERVERS).1,
                    weight: 1 + (i % 100) as u32,
                    expected_revision: None,
                },
                &t,
            ))
            .await
            .map(drop)
        }
    })
    .await;
    println!(
        "BENCH gRPC SetWeight: {CALLS} calls, {CLIENTS} clients: p50 {:.2} ms, p99 {:.2} ms, {:.0} calls/s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        CALLS as f64 / wall.as_secs_f64()
    );

    let t = token.clone();
    let reads = 5000;
    let (lat, wall) = run(&d, reads, move |mut c, i| {
        let t = t.clone();
        async move {
            c.get_virtual_server(request(
                pb::GetVirtualServerRequest {
                    name: format!("svc-{:04}", i % VIRTUAL_SERVERS),
                },
                &t,
            ))
            .await
            .map(drop)
        }
    })
    .await;
    println!(
        "BENCH gRPC GetVirtualServer: {reads} calls, {CLIENTS} clients: p50 {:.2} ms, p99 {:.2} ms, {:.0} calls/s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        reads as f64 / wall.as_secs_f64()
    );
}
