//! What an operator does from a pipeline: weights, drains, enable/disable, and reading the audit log and the
//! status.

use crate::support::*;
use director_proto as pb;
use director_tests::Daemon;
use tonic::Code;

fn rs_of<'a>(vs: &'a pb::VirtualServer, endpoint: &str) -> &'a pb::RealServer {
    vs.real_servers
        .iter()
        .find(|r| format!("{}:{}", r.address, r.port) == endpoint)
        .unwrap_or_else(|| panic!("{endpoint} not in {vs:?}"))
}

#[tokio::test]
async fn weights_drains_and_switches() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    let mut op = client_with(&d, &d.token_for("operator").await).await;

    let rs = op
        .set_weight(pb::SetWeightRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
            weight: 5,
            expected_revision: Some(1),
        })
        .await
        .expect("set weight")
        .into_inner();
    assert_eq!(rs.weight, Some(5));
    assert_eq!(rs.revision, 2);
    let s = expect_code(
        op.set_weight(pb::SetWeightRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
            weight: 6,
            expected_revision: Some(1),
        })
        .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&s), "STALE_REVISION");
    let audit = d
        .get("/api/v1/audit?object=web/10.0.1.1:80&field=weight")
        .await;
    assert_eq!(audit["items"][0]["summary"], "weight 1 -> 5");
    assert_eq!(audit["items"][0]["via"], "grpc");

    // Drain without waiting: weight 0, nothing else changes.
    let drained = op
        .drain(pb::DrainRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.2:80".into(),
            wait: false,
            timeout: None,
        })
        .await
        .expect("drain")
        .into_inner();
    let rs = drained.real_server.expect("real server");
    assert_eq!(rs.weight, Some(0));
    assert_eq!(rs.enabled, Some(true));
    assert_eq!(drained.applied_revision, None);

    // Drain with a wait needs a dataplane to wait for; without one it is refused before anything changes.
    let before = d.fingerprint().await;
    let s = expect_code(
        op.drain(pb::DrainRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
            wait: true,
            timeout: None,
        })
        .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&s), "NO_DATAPLANE");
    assert!(s.message().contains("no dataplane"), "{}", s.message());
    assert_eq!(d.fingerprint().await, before);

    // Disable and enable one real server (operator), then the whole virtual server (admin only).
    let vs = op
        .disable(pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
        })
        .await
        .expect("disable")
        .into_inner();
    assert_eq!(rs_of(&vs, "10.0.1.1:80").enabled, Some(false));
    assert_eq!(
        rs_of(&vs, "10.0.1.1:80").weight,
        Some(5),
        "the weight is kept"
    );
    let rest = d
        .get("/api/v1/virtual-servers/web/real-servers/10.0.1.1:80")
        .await;
    assert_eq!(rest["enabled"], false);
    let vs = op
        .enable(pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
        })
        .await
        .expect("enable")
        .into_inner();
    assert_eq!(rs_of(&vs, "10.0.1.1:80").enabled, Some(true));
    expect_code(
        op.disable(pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: String::new(),
        })
        .await,
        Code::PermissionDenied,
    );
    let vs = c
        .disable(pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: String::new(),
        })
        .await
        .expect("disable virtual server")
        .into_inner();
    assert_eq!(vs.enabled, Some(false));
    assert_eq!(d.get("/api/v1/virtual-servers/web").await["enabled"], false);
    let vs = c
        .enable(pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: String::new(),
        })
        .await
        .expect("enable virtual server")
        .into_inner();
    assert_eq!(vs.enabled, Some(true));
    // Enabling what is enabled changes nothing and says so with an unchanged revision.
    let again = c
        .enable(pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: String::new(),
        })
        .await
        .expect("enable again")
        .into_inner();
    assert_eq!(again.revision, vs.revision);
}

#[tokio::test]
async fn audit_and_status() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    for (name, address) in [("web", "192.168.10.180"), ("api", "192.168.10.181")] {
        c.create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(web(name, address)),
        })
        .await
        .expect("create");
    }
    for weight in [3, 4, 5] {
        c.set_weight(pb::SetWeightRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
            weight,
            expected_revision: None,
        })
        .await
        .expect("set weight");
    }

    // The same filters and pages as GET /api/v1/audit.
    let page = c
        .list_audit(pb::ListAuditRequest {
            name: "web".into(),
            field: "weight".into(),
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let summaries: Vec<_> = page.items.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(summaries, ["weight 4 -> 5", "weight 3 -> 4"]);
    assert!(!page.next_cursor.is_empty());
    let first = &page.items[0];
    assert_eq!(first.kind, "real_server");
    assert_eq!(first.object, "web/10.0.1.1:80");
    assert_eq!(first.via, "grpc");
    assert_eq!(first.revision, Some(5));
    let as_json = |v: &Option<prost_types::Value>| match v.as_ref().and_then(|v| v.kind.clone()) {
        Some(prost_types::value::Kind::StructValue(s)) => s.fields.get("weight").cloned(),
        other => panic!("before/after is not an object: {other:?}"),
    };
    assert_eq!(
        as_json(&first.after).and_then(|v| v.kind),
        Some(prost_types::value::Kind::NumberValue(5.0))
    );
    assert_eq!(
        as_json(&first.before).and_then(|v| v.kind),
        Some(prost_types::value::Kind::NumberValue(4.0))
    );
    let rest = c
        .list_audit(pb::ListAuditRequest {
            name: "web".into(),
            field: "weight".into(),
            limit: 2,
            cursor: page.next_cursor,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let summaries: Vec<_> = rest.items.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(summaries, ["weight 1 -> 3"]);
    assert_eq!(rest.next_cursor, "");
    let creates = c
        .list_audit(pb::ListAuditRequest {
            kind: "virtual_server".into(),
            action: "create".into(),
            via: "grpc".into(),
            actor: "admin".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner();
    let objects: Vec<_> = creates.items.iter().map(|e| e.object.as_str()).collect();
    assert_eq!(objects, ["api", "web"]);

    // Status says what REST's status says.
    let status = c
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let rest = d.get("/api/v1/status").await;
    assert_eq!(status.node, "test-node");
    assert_eq!(status.node, rest["node"]);
    assert_eq!(status.version, rest["version"]);
    assert_eq!(status.started_at, rest["started_at"]);
    assert_eq!(status.revision, 5);
    assert_eq!(Some(status.revision), rest["revision"].as_u64());
    assert_eq!(
        status.applied_revision, None,
        "no dataplane applies anything"
    );
    let dataplane = status.dataplane.expect("dataplane");
    assert_eq!(dataplane.active, "none");
    assert_eq!(dataplane.requested, rest["dataplane"]["requested"]);
    let counts = status.counts.expect("counts");
    assert_eq!(
        (
            counts.virtual_servers,
            counts.real_servers,
            counts.vrrp_groups
        ),
        (2, 4, 0)
    );
}

/// The role is judged before the message, as REST does: an operator sending what it may not change is told
/// so (PERMISSION_DENIED), whatever the message holds; what it may change is validated (INVALID_ARGUMENT).
#[tokio::test]
async fn an_operators_write_is_judged_by_role_before_its_contents() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    let mut op = client_with(&d, &d.token_for("operator").await).await;
    let before = d.fingerprint().await;

    let mut bad_check = web("web", "192.168.10.180");
    bad_check.health_check = Some(pb::HealthCheck {
        r#type: "tcp".into(),
        interval_ms: Some(1000),
        timeout_ms: Some(5000),
        ..Default::default()
    });
    let s = expect_code(
        op.update_virtual_server(pb::UpdateVirtualServerRequest {
            virtual_server: Some(bad_check.clone()),
            expected_revision: None,
        })
        .await,
        Code::PermissionDenied,
    );
    assert_eq!(reason(&s), "FORBIDDEN", "{}", s.message());
    // The same message from the admin is invalid, and says where.
    let s = expect_code(
        c.update_virtual_server(pb::UpdateVirtualServerRequest {
            virtual_server: Some(bad_check),
            expected_revision: None,
        })
        .await,
        Code::InvalidArgument,
    );
    assert!(s.message().contains("timeout_ms"), "{}", s.message());

    // Creating is not an operator's to do: refused before the missing or broken object is read.
    for vs in [None, Some(web("Not A Name", "10.0.0.300"))] {
        let s = expect_code(
            op.create_virtual_server(pb::CreateVirtualServerRequest { virtual_server: vs })
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(reason(&s), "FORBIDDEN", "{}", s.message());
    }

    // A real server's weight is the operator's to change: out of range, it is invalid and named.
    let mut heavy = web("web", "192.168.10.180").real_servers[0].clone();
    heavy.weight = Some(70_000);
    let s = expect_code(
        op.update_real_server(pb::UpdateRealServerRequest {
            virtual_server: "web".into(),
            real_server: Some(heavy),
            expected_revision: None,
        })
        .await,
        Code::InvalidArgument,
    );
    assert!(s.message().contains("weight"), "{}", s.message());
    assert_eq!(d.fingerprint().await, before, "nothing changed");
}

#[tokio::test]
async fn list_audit_takes_the_source_filter_of_rest() {
    let d = Daemon::start().await;
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = up.local_addr().unwrap().port();
    let web = serde_json::json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80,
        "forwarding": "nat",
        "health_check": {"type": "tcp", "interval_ms": 200, "timeout_ms": 150, "rise": 1, "fall": 1},
        "real_servers": [{"address": "127.0.0.1", "port": port}]});
    assert_eq!(
        d.call(reqwest::Method::POST, "/api/v1/virtual-servers", Some(web))
            .await
            .0,
        201
    );
    let mut c = admin(&d).await;
    let list = |source: &[&str], via: &str| pb::ListAuditRequest {
        source: source.iter().map(|s| s.to_string()).collect(),
        via: via.into(),
        limit: 1000,
        ..Default::default()
    };
    // The real server's first result (bounded wait: it is checked every 200 ms).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let health = loop {
        let page = c
            .list_audit(list(&["health"], ""))
            .await
            .expect("audit")
            .into_inner();
        if !page.items.is_empty() {
            break page.items;
        }
        assert!(std::time::Instant::now() < deadline, "no health transition");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].source, "health");
    assert_eq!(health[0].via, "health");
    assert_eq!(health[0].summary, "health unknown -> up");
    assert_eq!(health[0].object, format!("web/127.0.0.1:{port}"));
    assert_eq!(health[0].revision, None);

    let changes = c
        .list_audit(list(&[], ""))
        .await
        .expect("audit")
        .into_inner()
        .items;
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|e| e.source == "change"), "{changes:?}");
    let all = c
        .list_audit(list(&["all"], ""))
        .await
        .expect("audit")
        .into_inner()
        .items;
    assert_eq!(all.len(), changes.len() + 1);
    assert_eq!(all[0], health[0]);
    let both = c
        .list_audit(list(&["change", "health"], ""))
        .await
        .expect("audit")
        .into_inner()
        .items;
    assert_eq!(both, all);
    let by_via = c
        .list_audit(list(&[], "health"))
        .await
        .expect("audit")
        .into_inner()
        .items;
    assert_eq!(by_via, health, "a via names its stream");
    let none = c
        .list_audit(list(&["change"], "health"))
        .await
        .expect("audit")
        .into_inner()
        .items;
    assert!(none.is_empty());
    // The same as REST, entry for entry.
    let rest = d.get("/api/v1/audit?source=all&limit=1000").await;
    let ids: Vec<i64> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, all.iter().map(|e| e.id).collect::<Vec<_>>());

    for bad in [&["bogus"][..], &[""], &["health", "nope"]] {
        let s = expect_code(c.list_audit(list(bad, "")).await, Code::InvalidArgument);
        assert_eq!(bad_field(&s), "source", "{bad:?}");
    }
    drop(up);
}
