//! List, Get, Create, Update and Delete of virtual servers, real servers and VRRP groups.

use crate::support::*;
use director_proto as pb;
use director_tests::Daemon;
use reqwest::Method;
use serde_json::{json, Value};
use tonic::Code;

/// A virtual server with most fields set, to see every one of them travel.
fn full() -> pb::VirtualServer {
    pb::VirtualServer {
        persistence: Some(pb::Persistence {
            timeout_s: 50,
            netmask: Some("255.255.255.0".into()),
        }),
        scheduler: pb::Scheduler::Sh as i32,
        scheduler_flags: vec![pb::SchedulerFlag::ShPort as i32],
        health_check: Some(pb::HealthCheck {
            r#type: "http".into(),
            interval_ms: Some(6000),
            path: Some("/health".into()),
            status_codes: vec!["200-299".into()],
            // Tests never send traffic off this machine: the check goes to a closed port on loopback.
            connect_address: Some("127.0.0.1".into()),
            connect_port: Some(9),
            ..Default::default()
        }),
        sorry_server: Some(pb::SorryServer {
            address: "10.0.9.9".into(),
            port: 80,
            forwarding: pb::Forwarding::Nat as i32,
        }),
        quorum: Some(2),
        hysteresis: 1,
        ..web("web", "192.168.10.180")
    }
}

/// The same virtual server in the REST API's JSON.
fn full_json(name: &str, address: &str) -> Value {
    json!({
        "name": name, "protocol": "tcp", "address": address, "port": 80,
        "scheduler": "sh", "scheduler_flags": ["sh-port"], "forwarding": "dr",
        "persistence": {"timeout_s": 50, "netmask": "255.255.255.0"},
        "health_check": {"type": "http", "interval_ms": 6000, "path": "/health", "status_codes": ["200-299"],
                         "connect_address": "127.0.0.1", "connect_port": 9},
        "sorry_server": {"address": "10.0.9.9", "port": 80, "forwarding": "nat"},
        "quorum": 2, "hysteresis": 1,
        "real_servers": [
            {"address": "10.0.1.1", "port": 80, "weight": 1},
            {"address": "10.0.1.2", "port": 80, "weight": 2}
        ]
    })
}

/// A REST object without what differs between two equal declarations: name, address, revisions, and the
/// health the checker finds.
fn comparable(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        for k in ["name", "address", "revision"] {
            m.remove(k);
        }
    }
    for rs in v["real_servers"].as_array_mut().into_iter().flatten() {
        if let Some(m) = rs.as_object_mut() {
            m.remove("revision");
            m.remove("health");
        }
    }
    v
}

/// A virtual server without the health of its real servers (the checker moves it on its own).
fn declared(mut vs: pb::VirtualServer) -> pb::VirtualServer {
    for rs in &mut vs.real_servers {
        rs.health = None;
    }
    vs
}

#[tokio::test]
async fn virtual_server_lifecycle() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;

    let created = c
        .create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(full()),
        })
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.revision, 1);
    assert_eq!(created.family, pb::Family::Inet as i32);
    assert_eq!(
        created.scheduler_flags,
        vec![pb::SchedulerFlag::ShPort as i32]
    );
    assert_eq!(created.enabled, Some(true), "defaults are filled in");
    assert_eq!(created.alpha, Some(true));
    assert_eq!(created.real_servers[1].weight, Some(2));
    assert_eq!(created.real_servers[1].revision, 1);
    let health = created.real_servers[0].health.clone().expect("health");
    // The first check may already have run (a closed port answers at once): until it has, the status is
    // unknown; after it, the failure is counted.
    if health.checks == 0 {
        assert_eq!(health.status, "unknown", "unknown until checked");
    } else {
        assert_eq!(health.status, "down", "a closed port is down once checked");
    }

    let got = c
        .get_virtual_server(pb::GetVirtualServerRequest { name: "web".into() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(declared(got.clone()), declared(created));

    // What gRPC created is what REST creates from the same declaration.
    let (s, body) = d
        .call(
            Method::POST,
            "/api/v1/virtual-servers",
            Some(full_json("web-rest", "192.168.10.181")),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let over_grpc = d.get("/api/v1/virtual-servers/web").await;
    assert_eq!(comparable(over_grpc), comparable(body));

    // Update replaces the whole object, honouring the expected revision.
    let mut next = got.clone();
    next.scheduler = pb::Scheduler::Rr as i32;
    next.scheduler_flags.clear();
    next.real_servers.truncate(1);
    let updated = c
        .update_virtual_server(pb::UpdateVirtualServerRequest {
            virtual_server: Some(next.clone()),
            expected_revision: Some(got.revision),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.scheduler, pb::Scheduler::Rr as i32);
    assert_eq!(updated.real_servers.len(), 1);
    assert_eq!(updated.revision, 3);
    assert_eq!(
        updated.real_servers[0].revision, 1,
        "an untouched real server keeps its revision"
    );

    let stale = expect_code(
        c.update_virtual_server(pb::UpdateVirtualServerRequest {
            virtual_server: Some(next),
            expected_revision: Some(got.revision),
        })
        .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&stale), "STALE_REVISION");
    assert!(
        stale.message().contains("revision 3"),
        "{}",
        stale.message()
    );

    // Lists are ordered by name and paged.
    for (name, addr) in [("api", "192.168.10.182"), ("zeta", "192.168.10.183")] {
        c.create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(web(name, addr)),
        })
        .await
        .expect("create");
    }
    let page = c
        .list_virtual_servers(pb::ListVirtualServersRequest {
            limit: 2,
            cursor: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = page.items.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    assert_eq!(page.next_cursor, "web");
    assert_eq!(page.revision, 5);
    let rest = c
        .list_virtual_servers(pb::ListVirtualServersRequest {
            limit: 2,
            cursor: page.next_cursor,
        })
        .await
        .expect("list")
        .into_inner();
    let names: Vec<_> = rest.items.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["web-rest", "zeta"]);
    assert_eq!(rest.next_cursor, "");

    // Delete honours the expected revision too, then the object is gone.
    let stale = expect_code(
        c.delete_virtual_server(pb::DeleteVirtualServerRequest {
            name: "web".into(),
            expected_revision: Some(1),
        })
        .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&stale), "STALE_REVISION");
    let deleted = c
        .delete_virtual_server(pb::DeleteVirtualServerRequest {
            name: "web".into(),
            expected_revision: Some(3),
        })
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.revision, 6);
    expect_code(
        c.get_virtual_server(pb::GetVirtualServerRequest { name: "web".into() })
            .await,
        Code::NotFound,
    );

    // Every change is audited as made over gRPC by the admin.
    let audit = d.get("/api/v1/audit?kind=virtual_server&name=web").await;
    let actions: Vec<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["action"].as_str(), e["via"].as_str(), e["actor"].as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            (Some("delete"), Some("grpc"), Some("admin")),
            (Some("update"), Some("grpc"), Some("admin")),
            (Some("create"), Some("grpc"), Some("admin")),
        ]
    );
}

#[tokio::test]
async fn real_server_lifecycle() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");

    let created = c
        .create_real_server(pb::CreateRealServerRequest {
            virtual_server: "web".into(),
            real_server: Some(pb::RealServer {
                upper_threshold: 100,
                lower_threshold: 50,
                ..real_server("10.0.1.3", 80, 7)
            }),
        })
        .await
        .expect("create real server")
        .into_inner();
    assert_eq!(created.weight, Some(7));
    assert_eq!(created.upper_threshold, 100);
    assert_eq!(created.revision, 2);
    assert_eq!(
        created.health.as_ref().map(|h| h.status.as_str()),
        Some("up"),
        "without a check a server counts as up"
    );

    let dup = expect_code(
        c.create_real_server(pb::CreateRealServerRequest {
            virtual_server: "web".into(),
            real_server: Some(real_server("10.0.1.3", 80, 1)),
        })
        .await,
        Code::AlreadyExists,
    );
    assert_eq!(reason(&dup), "CONFLICT");

    let list = c
        .list_real_servers(pb::ListRealServersRequest {
            virtual_server: "web".into(),
        })
        .await
        .expect("list")
        .into_inner();
    let endpoints: Vec<_> = list
        .items
        .iter()
        .map(|r| format!("{}:{}", r.address, r.port))
        .collect();
    assert_eq!(endpoints, ["10.0.1.1:80", "10.0.1.2:80", "10.0.1.3:80"]);
    assert_eq!(list.revision, 2);

    let got = c
        .get_real_server(pb::GetRealServerRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.3:80".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, created);

    let updated = c
        .update_real_server(pb::UpdateRealServerRequest {
            virtual_server: "web".into(),
            real_server: Some(pb::RealServer {
                weight: Some(9),
                inhibit_on_failure: true,
                ..got.clone()
            }),
            expected_revision: Some(2),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.weight, Some(9));
    assert!(updated.inhibit_on_failure);
    assert_eq!(updated.revision, 3);
    let stale = expect_code(
        c.update_real_server(pb::UpdateRealServerRequest {
            virtual_server: "web".into(),
            real_server: Some(got),
            expected_revision: Some(2),
        })
        .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&stale), "STALE_REVISION");

    let deleted = c
        .delete_real_server(pb::DeleteRealServerRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.3:80".into(),
            expected_revision: None,
        })
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(deleted.revision, 4);
    expect_code(
        c.get_real_server(pb::GetRealServerRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.3:80".into(),
        })
        .await,
        Code::NotFound,
    );
    // The REST API sees the same real servers.
    let rest = d.get("/api/v1/virtual-servers/web/real-servers").await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn vrrp_group_lifecycle() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    let mut g = group("vi-1", 51);
    g.auth = Some(pb::VrrpAuth {
        r#type: pb::VrrpAuthType::Pass as i32,
        password: Some("1111".into()),
    });
    g.members = vec![
        pb::VrrpMember {
            node: "lvs-01".into(),
            priority: Some(100),
            ..Default::default()
        },
        pb::VrrpMember {
            node: "lvs-02".into(),
            priority: Some(90),
            unicast_peers: vec!["10.0.0.1".into()],
            sync_interface: Some("bond1".into()),
            ..Default::default()
        },
    ];
    g.connection_sync = Some(pb::VrrpConnectionSync {
        interface: "eth1".into(),
        mcast_port: Some(9000),
        ..Default::default()
    });
    let created = c
        .create_vrrp_group(pb::CreateVrrpGroupRequest {
            vrrp_group: Some(g.clone()),
        })
        .await
        .expect("create group")
        .into_inner();
    assert_eq!(created.revision, 1);
    assert_eq!(created.version, Some(2), "the default version is filled in");
    assert_eq!(created.members[1].unicast_peers, ["10.0.0.1"]);
    let rest = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(rest["auth"], json!({"type": "pass", "password": "1111"}));
    assert_eq!(rest["members"][1]["priority"], 90);
    // connection_sync over gRPC is the REST object; the sync id defaults to the VRID on the node.
    assert_eq!(
        rest["connection_sync"],
        json!({"interface": "eth1", "mcast_port": 9000})
    );
    assert_eq!(rest["members"][1]["sync_interface"], "bond1");
    assert_eq!(
        created
            .connection_sync
            .as_ref()
            .map(|c| c.interface.as_str()),
        Some("eth1")
    );
    let mut bad = g.clone();
    bad.name = "vi-2".into();
    bad.vrid = 52;
    bad.connection_sync = Some(pb::VrrpConnectionSync {
        interface: "eth1".into(),
        sync_id: Some(256),
        ..Default::default()
    });
    let refused = expect_code(
        c.create_vrrp_group(pb::CreateVrrpGroupRequest {
            vrrp_group: Some(bad),
        })
        .await,
        Code::InvalidArgument,
    );
    assert!(
        refused.message().contains("connection_sync.sync_id"),
        "{}",
        refused.message()
    );

    expect_code(
        c.create_vrrp_group(pb::CreateVrrpGroupRequest {
            vrrp_group: Some(g.clone()),
        })
        .await,
        Code::AlreadyExists,
    );

    // A virtual server tied to the group keeps it from going.
    let mut vs = web("web", "192.168.10.51");
    vs.vrrp_group = Some("vi-1".into());
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(vs),
    })
    .await
    .expect("create virtual server");
    let in_use = expect_code(
        c.delete_vrrp_group(pb::DeleteVrrpGroupRequest {
            name: "vi-1".into(),
            expected_revision: None,
        })
        .await,
        Code::Aborted,
    );
    assert!(in_use.message().contains("web"), "{}", in_use.message());

    let mut next = created.clone();
    next.advert_interval_ms = Some(2000);
    let updated = c
        .update_vrrp_group(pb::UpdateVrrpGroupRequest {
            vrrp_group: Some(next.clone()),
            expected_revision: Some(1),
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.advert_interval_ms, Some(2000));
    assert_eq!(updated.revision, 3);
    expect_code(
        c.update_vrrp_group(pb::UpdateVrrpGroupRequest {
            vrrp_group: Some(next),
            expected_revision: Some(1),
        })
        .await,
        Code::FailedPrecondition,
    );

    let list = c
        .list_vrrp_groups(pb::ListVrrpGroupsRequest {})
        .await
        .expect("list")
        .into_inner();
    assert_eq!(list.items, std::slice::from_ref(&updated));

    c.delete_virtual_server(pb::DeleteVirtualServerRequest {
        name: "web".into(),
        expected_revision: None,
    })
    .await
    .expect("delete virtual server");
    c.delete_vrrp_group(pb::DeleteVrrpGroupRequest {
        name: "vi-1".into(),
        expected_revision: Some(3),
    })
    .await
    .expect("delete group");
    expect_code(
        c.get_vrrp_group(pb::GetVrrpGroupRequest {
            name: "vi-1".into(),
        })
        .await,
        Code::NotFound,
    );
}
