//! Draining a backend host everywhere: every real server with one address, in every virtual server, as one
//! change; undrain gives each its own weight back. IPv4 and IPv6, unknown and malformed addresses, roles.

use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};

fn vs(name: &str, address: &str, port: u16, real_servers: Value) -> Value {
    json!({"name": name, "protocol": "tcp", "address": address, "port": port,
           "scheduler": "wrr", "forwarding": "nat", "real_servers": real_servers})
}

async fn create(d: &Daemon, body: Value) {
    let (s, b) = d
        .call(Method::POST, "/api/v1/virtual-servers", Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
}

/// The weight of each real server of `vs`, by endpoint.
async fn weights(d: &Daemon, vs: &str) -> Vec<(String, u64)> {
    let v = d.get(&format!("/api/v1/virtual-servers/{vs}")).await;
    v["real_servers"]
        .as_array()
        .expect("real servers")
        .iter()
        .map(|rs| {
            let address = rs["address"].as_str().expect("address");
            let endpoint = if address.contains(':') {
                format!("[{address}]:{}", rs["port"])
            } else {
                format!("{address}:{}", rs["port"])
            };
            (endpoint, rs["weight"].as_u64().expect("weight"))
        })
        .collect()
}

async fn revision(d: &Daemon) -> u64 {
    d.get("/api/v1/status").await["revision"]
        .as_u64()
        .expect("revision")
}

#[tokio::test]
async fn a_host_is_drained_everywhere_in_one_change_and_undrained_to_each_weight() {
    let d = Daemon::start().await;
    // 10.0.2.7 serves three virtual servers, on two ports, with three different weights.
    create(
        &d,
        vs(
            "web",
            "192.168.10.180",
            80,
            json!([{"address": "10.0.2.7", "port": 80, "weight": 5},
                   {"address": "10.0.2.8", "port": 80, "weight": 2}]),
        ),
    )
    .await;
    create(
        &d,
        vs(
            "api",
            "192.168.10.181",
            443,
            json!([{"address": "10.0.2.7", "port": 8443, "weight": 3},
                   {"address": "10.0.2.7", "port": 9443, "weight": 7}]),
        ),
    )
    .await;
    create(
        &d,
        vs(
            "other",
            "192.168.10.182",
            80,
            json!([{"address": "10.0.2.9", "port": 80, "weight": 4}]),
        ),
    )
    .await;

    let hosts = d.get("/api/v1/hosts").await;
    let addresses: Vec<&str> = hosts["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|h| h["address"].as_str().expect("address"))
        .collect();
    assert_eq!(addresses, ["10.0.2.7", "10.0.2.8", "10.0.2.9"]);
    assert_eq!(
        hosts["items"][0]["real_servers"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(hosts["items"][0]["drained"], false);

    let before = revision(&d).await;
    let operator = d.token_for("operator").await;
    let (s, drained) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/10.0.2.7/drain",
            None,
        )
        .await;
    assert_eq!(s, 200, "{drained}");
    assert_eq!(drained["changed"], true);
    assert_eq!(drained["revision"], before + 1, "one revision: {drained}");
    assert_eq!(revision(&d).await, before + 1);
    assert_eq!(
        drained["real_servers"].as_array().map(Vec::len),
        Some(3),
        "{drained}"
    );
    assert!(
        drained["message"]
            .as_str()
            .is_some_and(|m| m.contains("3 of 3 real servers in 2 virtual servers")),
        "{drained}"
    );
    assert_eq!(
        weights(&d, "web").await,
        [
            ("10.0.2.7:80".to_string(), 0),
            ("10.0.2.8:80".to_string(), 2)
        ]
    );
    assert_eq!(
        weights(&d, "api").await,
        [
            ("10.0.2.7:8443".to_string(), 0),
            ("10.0.2.7:9443".to_string(), 0)
        ]
    );
    assert_eq!(weights(&d, "other").await, [("10.0.2.9:80".to_string(), 4)]);
    assert_eq!(d.get("/api/v1/hosts").await["items"][0]["drained"], true);

    // One audit entry per real server, all of the one revision, by the operator, saying what it was.
    let audit = d
        .get("/api/v1/audit?kind=real_server&field=weight&actor=operator-user")
        .await;
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 3, "{audit}");
    let mut objects: Vec<&str> = entries
        .iter()
        .map(|e| e["object"].as_str().expect("object"))
        .collect();
    objects.sort();
    assert_eq!(
        objects,
        ["api/10.0.2.7:8443", "api/10.0.2.7:9443", "web/10.0.2.7:80"]
    );
    for e in entries {
        assert_eq!(e["revision"], before + 1, "{e}");
        assert_eq!(e["after"]["weight"], 0, "{e}");
        assert!(
            e["summary"]
                .as_str()
                .is_some_and(|s| s.contains("drain of host 10.0.2.7")),
            "{e}"
        );
    }

    // Again: nothing changes, and the answer says so.
    let (s, again) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/10.0.2.7/drain",
            None,
        )
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["changed"], false);
    assert_eq!(again["revision"], before + 1);
    assert!(
        again["message"]
            .as_str()
            .is_some_and(|m| m.contains("drained already")),
        "{again}"
    );
    assert_eq!(revision(&d).await, before + 1);

    // Undrain: each gets its own weight back, in one more revision.
    let (s, undrained) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/10.0.2.7/undrain",
            None,
        )
        .await;
    assert_eq!(s, 200, "{undrained}");
    assert_eq!(undrained["changed"], true);
    assert_eq!(undrained["revision"], before + 2);
    assert_eq!(
        weights(&d, "web").await,
        [
            ("10.0.2.7:80".to_string(), 5),
            ("10.0.2.8:80".to_string(), 2)
        ]
    );
    assert_eq!(
        weights(&d, "api").await,
        [
            ("10.0.2.7:8443".to_string(), 3),
            ("10.0.2.7:9443".to_string(), 7)
        ]
    );
    let (s, again) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/10.0.2.7/undrain",
            None,
        )
        .await;
    assert_eq!((s, &again["changed"]), (200, &json!(false)), "{again}");
    assert_eq!(revision(&d).await, before + 2);
}

#[tokio::test]
async fn ipv6_hosts_unknown_and_malformed_addresses_and_roles() {
    let d = Daemon::start().await;
    create(
        &d,
        vs(
            "web6",
            "2001:db8::80",
            80,
            json!([{"address": "2001:db8::7", "port": 80, "weight": 6},
                   {"address": "2001:db8::8", "port": 80, "weight": 1}]),
        ),
    )
    .await;
    create(
        &d,
        vs(
            "api6",
            "2001:db8::81",
            443,
            json!([{"address": "2001:db8::7", "port": 443, "weight": 9}]),
        ),
    )
    .await;

    let operator = d.token_for("operator").await;
    let viewer = d.token_for("viewer").await;
    let before = d.fingerprint().await;
    // A viewer is refused and nothing changes.
    let (s, body) = d
        .call_as(
            &viewer,
            Method::POST,
            "/api/v1/hosts/2001:db8::7/drain",
            None,
        )
        .await;
    assert_eq!(s, 403, "{body}");
    // An address no real server has: 404 naming it; not an address: 400 naming the field.
    let (s, body) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/2001:db8::99/drain",
            None,
        )
        .await;
    assert_eq!(s, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2001:db8::99")),
        "{body}"
    );
    let (s, body) = d
        .call_as(&operator, Method::POST, "/api/v1/hosts/web6/drain", None)
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["field"], "address", "{body}");
    assert_eq!(d.fingerprint().await, before, "refusals change nothing");

    // The same host written in brackets, or with its zeros spelled out, is the same host.
    let (s, body) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/%5B2001:0db8:0:0::7%5D/drain",
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["address"], "2001:db8::7");
    assert_eq!(body["revision"], before.revision + 1);
    assert_eq!(
        weights(&d, "web6").await,
        [
            ("[2001:db8::7]:80".to_string(), 0),
            ("[2001:db8::8]:80".to_string(), 1)
        ]
    );
    assert_eq!(
        weights(&d, "api6").await,
        [("[2001:db8::7]:443".to_string(), 0)]
    );

    let (s, body) = d
        .call_as(
            &operator,
            Method::POST,
            "/api/v1/hosts/2001:db8::7/undrain",
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        weights(&d, "web6").await[0],
        ("[2001:db8::7]:80".to_string(), 6)
    );
    assert_eq!(
        weights(&d, "api6").await,
        [("[2001:db8::7]:443".to_string(), 9)]
    );
}
