//! Bad input is refused with the field named, clashes and missing objects with their codes, and none of it
//! changes anything.

use crate::support::*;
use director_proto as pb;
use director_tests::Daemon;
use tonic::Code;

#[tokio::test]
async fn invalid_input_names_the_field_and_changes_nothing() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    let before = d.fingerprint().await;

    let create = |vs: pb::VirtualServer| pb::CreateVirtualServerRequest {
        virtual_server: Some(vs),
    };
    let mut heavy = web("heavy", "192.168.10.181");
    heavy.real_servers[1].weight = Some(70_000);
    let mut bad_address = web("bad-address", "192.168.10.300");
    bad_address.real_servers.clear();
    let mut bad_forwarding = web("bad-forwarding", "192.168.10.182");
    bad_forwarding.real_servers[0].forwarding = 42;
    let mut bad_name = web("Bad Name", "192.168.10.183");
    bad_name.real_servers.clear();
    let mut no_protocol = web("no-protocol", "192.168.10.184");
    no_protocol.protocol = pb::Protocol::Unspecified as i32;
    let cases = [
        (create(heavy), "real_servers[1].weight"),
        (create(bad_address), "address"),
        (create(bad_forwarding), "real_servers[0].forwarding"),
        (create(bad_name), "name"),
        (create(no_protocol), "protocol"),
        (
            pb::CreateVirtualServerRequest {
                virtual_server: None,
            },
            "virtual_server",
        ),
    ];
    for (request, field) in cases {
        let s = expect_code(
            c.create_virtual_server(request).await,
            Code::InvalidArgument,
        );
        assert!(
            s.message().starts_with(&format!("{field}: ")),
            "the message names {field}: {}",
            s.message()
        );
        assert_eq!(bad_field(&s), field, "BadRequest detail of {s:?}");
    }

    let s = expect_code(
        c.set_weight(pb::SetWeightRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1:80".into(),
            weight: 65_536,
            expected_revision: None,
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "weight");
    let s = expect_code(
        c.get_real_server(pb::GetRealServerRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.1".into(),
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "real_server");
    let s = expect_code(
        c.list_virtual_servers(pb::ListVirtualServersRequest {
            limit: 5000,
            cursor: String::new(),
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "limit");
    let s = expect_code(
        c.list_audit(pb::ListAuditRequest {
            since: "yesterday".into(),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "since");
    let s = expect_code(
        c.wait_applied(pb::WaitAppliedRequest {
            revision: 1,
            timeout: Some(prost_types::Duration {
                seconds: 7200,
                nanos: 0,
            }),
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "timeout");
    // Updates are validated like creates: direct routing cannot change the port.
    let mut renamed = web("web", "192.168.10.180");
    renamed.real_servers[0].port = 8080;
    let s = expect_code(
        c.update_virtual_server(pb::UpdateVirtualServerRequest {
            virtual_server: Some(renamed),
            expected_revision: None,
        })
        .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&s), "real_servers[0].port");

    assert_eq!(
        d.fingerprint().await,
        before,
        "refused calls changed nothing"
    );
}

#[tokio::test]
async fn clashes_and_missing_objects() {
    let d = Daemon::start().await;
    let mut c = admin(&d).await;
    c.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "192.168.10.180")),
    })
    .await
    .expect("create");
    let before = d.fingerprint().await;

    // The same name, or the same address and port under another name.
    for vs in [web("web", "192.168.10.181"), web("other", "192.168.10.180")] {
        let s = expect_code(
            c.create_virtual_server(pb::CreateVirtualServerRequest {
                virtual_server: Some(vs),
            })
            .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&s), "CONFLICT");
    }
    let mut twice = web("twice", "192.168.10.182");
    twice.real_servers[1] = twice.real_servers[0].clone();
    expect_code(
        c.create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(twice),
        })
        .await,
        Code::AlreadyExists,
    );

    let s = expect_code(
        c.get_virtual_server(pb::GetVirtualServerRequest {
            name: "nothing".into(),
        })
        .await,
        Code::NotFound,
    );
    assert_eq!(reason(&s), "NOT_FOUND");
    expect_code(
        c.set_weight(pb::SetWeightRequest {
            virtual_server: "web".into(),
            real_server: "10.0.1.9:80".into(),
            weight: 3,
            expected_revision: None,
        })
        .await,
        Code::NotFound,
    );
    expect_code(
        c.list_real_servers(pb::ListRealServersRequest {
            virtual_server: "nothing".into(),
        })
        .await,
        Code::NotFound,
    );
    expect_code(
        c.delete_vrrp_group(pb::DeleteVrrpGroupRequest {
            name: "nothing".into(),
            expected_revision: None,
        })
        .await,
        Code::NotFound,
    );
    expect_code(
        c.update_virtual_server(pb::UpdateVirtualServerRequest {
            virtual_server: Some(web("nothing", "192.168.10.190")),
            expected_revision: None,
        })
        .await,
        Code::NotFound,
    );
    expect_code(
        c.enable(pb::EnableRequest {
            virtual_server: "nothing".into(),
            real_server: String::new(),
        })
        .await,
        Code::NotFound,
    );
    assert_eq!(
        d.fingerprint().await,
        before,
        "refused calls changed nothing"
    );
}
