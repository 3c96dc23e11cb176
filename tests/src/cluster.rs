//! Several daemons that sync with each other over links the test controls (see `proxy`).

use crate::pki::Pki;
use crate::proxy::Link;
use crate::{Daemon, DaemonOptions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Nodes named `names`, each a peer of every other, every directed path through its own [`Link`].
pub struct Cluster {
    pub names: Vec<String>,
    pub nodes: Vec<Option<Daemon>>,
    /// `links[(from, to)]`: the path `from` uses to reach `to`.
    links: BTreeMap<(usize, usize), Link>,
    data_dirs: Vec<(tempfile::TempDir, PathBuf)>,
    /// The cluster CA and the nodes' certificates.
    pub pki: Pki,
    /// The flags of each node's peer certificates (`pki.peer_args`, unless a test swaps them).
    pub peer_args: Vec<Vec<String>>,
    /// More flags of each node (`Cluster::new`, then set before `start_node`).
    pub extra_args: Vec<Vec<String>>,
    /// More environment of each node (e.g. [`crate::faketime`]), set like `extra_args`.
    pub extra_env: Vec<Vec<(String, String)>>,
    peer_ports: Vec<u16>,
}

impl Cluster {
    pub async fn start(names: &[&str]) -> Cluster {
        let mut c = Self::new(names).await;
        for i in 0..names.len() {
            c.start_node(i).await;
        }
        c
    }

    /// The links, data directories and certificates, no node running yet (see `start_node`).
    pub async fn new(names: &[&str]) -> Cluster {
        let mut links = BTreeMap::new();
        for i in 0..names.len() {
            for j in 0..names.len() {
                if i != j {
                    links.insert((i, j), Link::start().await);
                }
            }
        }
        let pki = Pki::new();
        let data_dirs = names
            .iter()
            .map(|_| {
                let t = tempfile::Builder::new()
                    .prefix("director-sync-")
                    .tempdir()
                    .expect("temp dir");
                let p = t.path().join("data");
                (t, p)
            })
            .collect();
        Cluster {
            names: names.iter().map(|n| n.to_string()).collect(),
            nodes: names.iter().map(|_| None).collect(),
            links,
            data_dirs,
            peer_args: names.iter().map(|n| pki.peer_args(n)).collect(),
            extra_args: names.iter().map(|_| Vec::new()).collect(),
            extra_env: names.iter().map(|_| Vec::new()).collect(),
            pki,
            peer_ports: names.iter().map(|_| crate::free_port()).collect(),
        }
    }

    /// The `--peers` of node `i`: every other node, through the links.
    fn peers_of(&self, i: usize) -> String {
        (0..self.names.len())
            .filter(|j| *j != i)
            .map(|j| format!("{}=127.0.0.1:{}", self.names[j], self.links[&(i, j)].port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Starts (or restarts, on its data) node `i`.
    pub async fn start_node(&mut self, i: usize) {
        let d = Daemon::start_with(DaemonOptions {
            data_dir: Some(self.data_dirs[i].1.clone()),
            node_name: Some(self.names[i].clone()),
            extra_args: [
                vec!["--peers".into(), self.peers_of(i)],
                self.peer_args[i].clone(),
                self.extra_args[i].clone(),
            ]
            .concat(),
            peer_port: Some(self.peer_ports[i]),
            env: self.extra_env[i].clone(),
            ..Default::default()
        })
        .await;
        for from in 0..self.names.len() {
            if from != i {
                self.links[&(from, i)].connect_to(self.peer_ports[i]);
            }
        }
        self.nodes[i] = Some(d);
    }

    pub fn stop_node(&mut self, i: usize) {
        if let Some(mut d) = self.nodes[i].take() {
            d.stop();
        }
    }

    /// The data directory of node `i` (running or not).
    pub fn data_dir(&self, i: usize) -> &std::path::Path {
        &self.data_dirs[i].1
    }

    pub fn node(&self, i: usize) -> &Daemon {
        self.nodes[i].as_ref().expect("node is running")
    }

    /// Cuts both directions between `a` and `b`.
    pub fn partition(&self, a: usize, b: usize) {
        self.links[&(a, b)].cut();
        self.links[&(b, a)].cut();
    }

    pub fn heal(&self, a: usize, b: usize) {
        self.links[&(a, b)].heal();
        self.links[&(b, a)].heal();
    }

    /// Waits until every running node reports the same digest, and every peer of every node is caught up;
    /// returns the digest.
    pub async fn converged(&self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let mut digests = Vec::new();
            let mut caught_up = true;
            for d in self.nodes.iter().flatten() {
                let s = d.get("/api/v1/status").await;
                digests.push(s["sync"]["digest"].as_str().unwrap_or_default().to_string());
                for p in s["sync"]["peers"].as_array().into_iter().flatten() {
                    let running = self
                        .names
                        .iter()
                        .position(|n| p["node"] == n.as_str())
                        .is_some_and(|j| self.nodes[j].is_some());
                    if running && (p["in_sync"] != true || p["lag_changes"] != 0) {
                        caught_up = false;
                    }
                }
            }
            if caught_up && digests.windows(2).all(|w| w[0] == w[1]) {
                return digests.pop().unwrap_or_default();
            }
            if Instant::now() > deadline {
                let mut report = String::new();
                for (n, d) in self.names.iter().zip(&self.nodes) {
                    if let Some(d) = d {
                        let s = d.get("/api/v1/status").await;
                        report.push_str(&format!("{n}: {:#}\n", s["sync"]));
                    }
                }
                panic!("no convergence within {within:?}:\n{report}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every virtual server of node `i` without revisions (what must be equal everywhere).
    pub async fn objects(&self, i: usize) -> Value {
        let mut list = self.node(i).get("/api/v1/virtual-servers?limit=1000").await;
        strip_revisions(&mut list);
        let mut groups = self.node(i).get("/api/v1/vrrp-groups?limit=1000").await;
        strip_revisions(&mut groups);
        serde_json::json!({"virtual_servers": list, "vrrp_groups": groups})
    }
}

fn strip_revisions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("revision");
            m.remove("health");
            m.remove("next_cursor");
            for x in m.values_mut() {
                strip_revisions(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_revisions),
        _ => {}
    }
}
