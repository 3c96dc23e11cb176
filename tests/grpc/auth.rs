//! Every RPC x (no token, bad tokens, viewer, operator, admin): the weakest role that may call it gets through,
//! the others are refused, and the caller is recorded in the audit log.

use crate::support::*;
use director_core::model::Role;
use director_proto as pb;
use director_service::auth::{Claims, TokenKind, Tokens};
use director_tests::Daemon;
use tonic::{Code, Status};

#[derive(Debug, Clone, Copy)]
enum Call {
    Status,
    ListVirtualServers,
    GetVirtualServer,
    CreateVirtualServer,
    UpdateVirtualServerScheduler,
    UpdateVirtualServerWeights,
    DeleteVirtualServer,
    ListRealServers,
    GetRealServer,
    CreateRealServer,
    UpdateRealServerWeight,
    UpdateRealServerThreshold,
    DeleteRealServer,
    SetWeight,
    Drain,
    DisableRealServer,
    EnableRealServer,
    ListVrrpGroups,
    GetVrrpGroup,
    CreateVrrpGroup,
    UpdateVrrpGroup,
    DeleteVrrpGroup,
    ListAudit,
    Watch,
    WaitApplied,
    DisableVirtualServer,
    EnableVirtualServer,
    ListConnections,
    DrainHost,
    UndrainHost,
}

impl Call {
    /// In this order: each admin call leaves the state the next calls expect.
    const ALL: [Call; 30] = [
        Call::Status,
        Call::ListVirtualServers,
        Call::GetVirtualServer,
        Call::CreateVirtualServer,
        Call::UpdateVirtualServerScheduler,
        Call::UpdateVirtualServerWeights,
        Call::DeleteVirtualServer,
        Call::ListRealServers,
        Call::GetRealServer,
        Call::CreateRealServer,
        Call::UpdateRealServerWeight,
        Call::UpdateRealServerThreshold,
        Call::DeleteRealServer,
        Call::SetWeight,
        Call::Drain,
        Call::DisableRealServer,
        Call::EnableRealServer,
        Call::ListVrrpGroups,
        Call::GetVrrpGroup,
        Call::CreateVrrpGroup,
        Call::UpdateVrrpGroup,
        Call::DeleteVrrpGroup,
        Call::ListAudit,
        Call::Watch,
        Call::WaitApplied,
        Call::DisableVirtualServer,
        Call::EnableVirtualServer,
        Call::ListConnections,
        Call::DrainHost,
        Call::UndrainHost,
    ];

    /// The RPC of `director.v1.Director` this call exercises.
    fn method(self) -> &'static str {
        use Call::*;
        match self {
            UpdateVirtualServerScheduler | UpdateVirtualServerWeights => "UpdateVirtualServer",
            UpdateRealServerWeight | UpdateRealServerThreshold => "UpdateRealServer",
            DisableRealServer | DisableVirtualServer => "Disable",
            EnableRealServer | EnableVirtualServer => "Enable",
            Status => "Status",
            ListVirtualServers => "ListVirtualServers",
            GetVirtualServer => "GetVirtualServer",
            CreateVirtualServer => "CreateVirtualServer",
            DeleteVirtualServer => "DeleteVirtualServer",
            ListRealServers => "ListRealServers",
            GetRealServer => "GetRealServer",
            CreateRealServer => "CreateRealServer",
            DeleteRealServer => "DeleteRealServer",
            SetWeight => "SetWeight",
            Drain => "Drain",
            ListVrrpGroups => "ListVrrpGroups",
            GetVrrpGroup => "GetVrrpGroup",
            CreateVrrpGroup => "CreateVrrpGroup",
            UpdateVrrpGroup => "UpdateVrrpGroup",
            DeleteVrrpGroup => "DeleteVrrpGroup",
            ListAudit => "ListAudit",
            Watch => "Watch",
            WaitApplied => "WaitApplied",
            ListConnections => "ListConnections",
            DrainHost => "DrainHost",
            UndrainHost => "UndrainHost",
        }
    }

    fn needs(self) -> Role {
        use Call::*;
        match self {
            Status | ListVirtualServers | GetVirtualServer | ListRealServers | GetRealServer
            | ListVrrpGroups | GetVrrpGroup | ListAudit | Watch | WaitApplied | ListConnections => {
                Role::Viewer
            }
            UpdateVirtualServerWeights
            | UpdateRealServerWeight
            | SetWeight
            | Drain
            | DisableRealServer
            | EnableRealServer
            | DrainHost
            | UndrainHost => Role::Operator,
            CreateVirtualServer
            | UpdateVirtualServerScheduler
            | DeleteVirtualServer
            | CreateRealServer
            | UpdateRealServerThreshold
            | DeleteRealServer
            | CreateVrrpGroup
            | UpdateVrrpGroup
            | DeleteVrrpGroup
            | DisableVirtualServer
            | EnableVirtualServer => Role::Admin,
        }
    }

    async fn run(self, c: &mut Client) -> Result<(), Status> {
        let rs = |real_server: &str| pb::GetRealServerRequest {
            virtual_server: "web".into(),
            real_server: real_server.into(),
        };
        let switch = |real_server: &str| pb::EnableRequest {
            virtual_server: "web".into(),
            real_server: real_server.into(),
        };
        let mut rr = web("web", "192.168.10.180");
        rr.scheduler = pb::Scheduler::Rr as i32;
        match self {
            Call::Status => c.status(pb::StatusRequest {}).await.map(drop),
            Call::ListVirtualServers => c
                .list_virtual_servers(pb::ListVirtualServersRequest::default())
                .await
                .map(drop),
            Call::GetVirtualServer => c
                .get_virtual_server(pb::GetVirtualServerRequest { name: "web".into() })
                .await
                .map(drop),
            Call::CreateVirtualServer => c
                .create_virtual_server(pb::CreateVirtualServerRequest {
                    virtual_server: Some(web("new", "192.168.10.200")),
                })
                .await
                .map(drop),
            Call::UpdateVirtualServerScheduler => c
                .update_virtual_server(pb::UpdateVirtualServerRequest {
                    virtual_server: Some(rr),
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::UpdateVirtualServerWeights => {
                rr.real_servers[1].weight = Some(4);
                c.update_virtual_server(pb::UpdateVirtualServerRequest {
                    virtual_server: Some(rr),
                    expected_revision: None,
                })
                .await
                .map(drop)
            }
            Call::DeleteVirtualServer => c
                .delete_virtual_server(pb::DeleteVirtualServerRequest {
                    name: "doomed".into(),
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::ListRealServers => c
                .list_real_servers(pb::ListRealServersRequest {
                    virtual_server: "web".into(),
                })
                .await
                .map(drop),
            Call::GetRealServer => c.get_real_server(rs("10.0.1.1:80")).await.map(drop),
            Call::CreateRealServer => c
                .create_real_server(pb::CreateRealServerRequest {
                    virtual_server: "web".into(),
                    real_server: Some(real_server("10.0.1.3", 80, 1)),
                })
                .await
                .map(drop),
            Call::UpdateRealServerWeight => c
                .update_real_server(pb::UpdateRealServerRequest {
                    virtual_server: "web".into(),
                    real_server: Some(real_server("10.0.1.3", 80, 6)),
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::UpdateRealServerThreshold => c
                .update_real_server(pb::UpdateRealServerRequest {
                    virtual_server: "web".into(),
                    real_server: Some(pb::RealServer {
                        upper_threshold: 10,
                        ..real_server("10.0.1.3", 80, 6)
                    }),
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::DeleteRealServer => c
                .delete_real_server(pb::DeleteRealServerRequest {
                    virtual_server: "web".into(),
                    real_server: "10.0.1.3:80".into(),
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::SetWeight => c
                .set_weight(pb::SetWeightRequest {
                    virtual_server: "web".into(),
                    real_server: "10.0.1.1:80".into(),
                    weight: 5,
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::Drain => c
                .drain(pb::DrainRequest {
                    virtual_server: "web".into(),
                    real_server: "10.0.1.2:80".into(),
                    wait: false,
                    timeout: None,
                })
                .await
                .map(drop),
            Call::DisableRealServer => c.disable(switch("10.0.1.1:80")).await.map(drop),
            Call::EnableRealServer => c.enable(switch("10.0.1.1:80")).await.map(drop),
            Call::ListVrrpGroups => c
                .list_vrrp_groups(pb::ListVrrpGroupsRequest {})
                .await
                .map(drop),
            Call::GetVrrpGroup => c
                .get_vrrp_group(pb::GetVrrpGroupRequest {
                    name: "vi-1".into(),
                })
                .await
                .map(drop),
            Call::CreateVrrpGroup => c
                .create_vrrp_group(pb::CreateVrrpGroupRequest {
                    vrrp_group: Some(group("vi-2", 52)),
                })
                .await
                .map(drop),
            Call::UpdateVrrpGroup => {
                let mut g = group("vi-2", 52);
                g.priority = Some(120);
                c.update_vrrp_group(pb::UpdateVrrpGroupRequest {
                    vrrp_group: Some(g),
                    expected_revision: None,
                })
                .await
                .map(drop)
            }
            Call::DeleteVrrpGroup => c
                .delete_vrrp_group(pb::DeleteVrrpGroupRequest {
                    name: "vi-2".into(),
                    expected_revision: None,
                })
                .await
                .map(drop),
            Call::ListAudit => c
                .list_audit(pb::ListAuditRequest::default())
                .await
                .map(drop),
            Call::Watch => c
                .watch(pb::WatchRequest {
                    after_revision: Some(0),
                })
                .await
                .map(drop),
            Call::ListConnections => c
                .list_connections(pb::ListConnectionsRequest::default())
                .await
                .map(drop),
            Call::DrainHost => c
                .drain_host(pb::DrainHostRequest {
                    address: "10.0.1.2".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
            Call::UndrainHost => c
                .undrain_host(pb::UndrainHostRequest {
                    address: "10.0.1.2".into(),
                })
                .await
                .map(drop),
            Call::WaitApplied => c
                .wait_applied(pb::WaitAppliedRequest {
                    revision: 1,
                    timeout: None,
                })
                .await
                .map(drop),
            Call::DisableVirtualServer => c.disable(switch("")).await.map(drop),
            Call::EnableVirtualServer => c.enable(switch("")).await.map(drop),
        }
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Every RPC of `director.v1.Director`, from the compiled contract itself, is one of the calls checked below
/// (but Login and Logout, which the login tests cover).
#[test]
fn every_rpc_of_the_contract_is_checked() {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(director_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set");
    let service = set
        .file
        .iter()
        .flat_map(|f| &f.service)
        .find(|s| s.name() == "Director")
        .expect("director.v1.Director");
    let checked: std::collections::BTreeSet<&str> = Call::ALL.iter().map(|c| c.method()).collect();
    for m in &service.method {
        let name = m.name();
        assert!(
            checked.contains(name) || ["Login", "Logout"].contains(&name),
            "{name} is not checked by every_rpc_checks_the_caller: add it to Call"
        );
    }
}

#[tokio::test]
async fn every_rpc_checks_the_caller() {
    let d = Daemon::start().await;
    let mut admin_client = admin(&d).await;
    for vs in [
        web("web", "192.168.10.180"),
        web("doomed", "192.168.10.181"),
    ] {
        admin_client
            .create_virtual_server(pb::CreateVirtualServerRequest {
                virtual_server: Some(vs),
            })
            .await
            .expect("create virtual server");
    }
    admin_client
        .create_vrrp_group(pb::CreateVrrpGroupRequest {
            vrrp_group: Some(group("vi-1", 51)),
        })
        .await
        .expect("create group");

    let secret = std::fs::read_to_string(d.data_path().join("token-secret")).expect("secret");
    let tokens = Tokens::new(secret.trim().as_bytes());
    let now = now();
    let claims = |exp: i64| Claims {
        sub: "admin".into(),
        role: Role::Admin,
        kind: TokenKind::User,
        iat: now - 7200,
        exp,
        jti: "t".into(),
        epoch: String::new(),
    };
    let expired = tokens.sign(&claims(now - 3600));
    let forged = Tokens::new(b"not-the-secret-not-the-secret-not!").sign(&claims(now + 3600));
    let mut refused = [
        ("no token", client_with(&d, "").await),
        ("garbage", client_with(&d, "garbage").await),
        ("expired", client_with(&d, &expired).await),
        ("bad signature", client_with(&d, &forged).await),
    ];
    // Not a bearer token at all.
    let mut basic = tonic::Request::new(pb::StatusRequest {});
    basic.metadata_mut().insert(
        "authorization",
        "Basic YWRtaW46YWRtaW4=".parse().expect("metadata"),
    );
    let mut plain = director_proto::director_client::DirectorClient::new(channel(&d).await);
    let s = expect_code(plain.status(basic).await, Code::Unauthenticated);
    assert!(s.message().contains("Bearer"), "{}", s.message());

    let mut roles = [
        (
            Role::Viewer,
            client_with(&d, &d.token_for("viewer").await).await,
        ),
        (
            Role::Operator,
            client_with(&d, &d.token_for("operator").await).await,
        ),
        (Role::Admin, admin(&d).await),
    ];

    for call in Call::ALL {
        for (name, client) in refused.iter_mut() {
            let s = expect_code(call.run(client).await, Code::Unauthenticated);
            assert_eq!(reason(&s), "UNAUTHENTICATED", "{call:?} with {name}");
        }
        for (role, client) in roles.iter_mut() {
            let result = call.run(client).await;
            if *role < call.needs() {
                let s = expect_code(result, Code::PermissionDenied);
                assert_eq!(reason(&s), "FORBIDDEN", "{call:?} as {role}");
            } else if let Err(s) = &result {
                // Allowed: it may fail for what it asks (no dataplane to wait for), never for who asks.
                assert!(
                    !matches!(s.code(), Code::PermissionDenied | Code::Unauthenticated),
                    "{call:?} as {role}: {s:?}"
                );
                assert!(
                    matches!(call, Call::WaitApplied | Call::ListConnections)
                        && s.code() == Code::FailedPrecondition,
                    "{call:?} as {role}: {s:?}"
                );
            }
        }
    }

    // The audit log names who made each change, over gRPC.
    let audit = d.get("/api/v1/audit?via=grpc&limit=1000").await;
    let actors: std::collections::BTreeSet<_> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(
        actors,
        ["admin", "operator-user"].into_iter().collect(),
        "viewers change nothing; operators and admins are recorded"
    );
    let weight = d
        .get("/api/v1/audit?object=web/10.0.1.1:80&field=weight")
        .await;
    assert_eq!(weight["items"][0]["actor"], "operator-user");
    assert_eq!(weight["items"][0]["via"], "grpc");
}

/// Login and Logout mirror POST /api/v1/auth/login and /logout: a session token, revoked by Logout for gRPC
/// and REST alike; failed logins audited with via = grpc and limited (RESOURCE_EXHAUSTED with a RetryInfo).
#[tokio::test]
async fn login_and_logout_over_grpc() {
    use tonic_types::StatusExt;
    let d = Daemon::start().await;
    let mut open = director_proto::director_client::DirectorClient::new(channel(&d).await);
    let login = |user: &str, password: &str| pb::LoginRequest {
        username: user.into(),
        password: password.into(),
    };
    let s = expect_code(
        open.login(login("admin", "wrong-password")).await,
        Code::Unauthenticated,
    );
    assert_eq!(reason(&s), "UNAUTHENTICATED");
    let session = open
        .login(login("admin", director_tests::daemon::ADMIN_PASSWORD))
        .await
        .expect("login")
        .into_inner();
    assert_eq!(session.role, "admin");
    assert!(!session.expires_at.is_empty());
    let mut c = client_with(&d, &session.token).await;
    c.status(pb::StatusRequest {}).await.expect("status");
    c.logout(pb::LogoutRequest {}).await.expect("logout");
    expect_code(c.status(pb::StatusRequest {}).await, Code::Unauthenticated);
    expect_code(c.logout(pb::LogoutRequest {}).await, Code::Unauthenticated);
    let (s, _) = d
        .call_as(&session.token, reqwest::Method::GET, "/api/v1/status", None)
        .await;
    assert_eq!(s, 401, "revoked for REST too");
    expect_code(
        client_with(&d, "").await.logout(pb::LogoutRequest {}).await,
        Code::Unauthenticated,
    );

    let audit = d.get("/api/v1/audit?kind=login&via=grpc").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["logout", "login", "login_failed"], "{audit}");
    assert!(
        audit["items"][2]["summary"]
            .as_str()
            .unwrap_or("")
            .contains("from 127.0.0.1"),
        "{audit}"
    );

    // Repeated failures end in a lockout (for a name this address never logged in as: admin's own address
    // is exempt from admin's limit, so that others cannot lock the admin out).
    let mut failures = 0;
    let locked = loop {
        match open.login(login("mallory", "wrong-password")).await {
            Err(s) if s.code() == Code::Unauthenticated => failures += 1,
            Err(s) if s.code() == Code::ResourceExhausted => break s,
            other => panic!("wrong password: {other:?}"),
        }
        assert!(failures <= 10, "no lockout after {failures} failures");
    };
    assert_eq!(reason(&locked), "TOO_MANY_REQUESTS");
    assert!(locked.get_details_retry_info().is_some(), "{locked:?}");
}
