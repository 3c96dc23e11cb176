//! Secrets over gRPC: viewers and operators read the VRRP password and command arguments as "***" in objects,
//! lists, the audit log and Watch events; admins read them; a group sent back as read keeps its secrets.

use crate::support::*;
use director_proto as pb;
use director_tests::Daemon;
use std::time::Duration;
use tonic::Code;

const PASSWORD: &str = "s3cr3tpw";
const NEW_PASSWORD: &str = "n3wpw";
const TRACK_ARG: &str = "track-t0ken";
const CHECK_ARG: &str = "check-pa55";

fn secret_group() -> pb::VrrpGroup {
    let mut g = group("vi-1", 51);
    g.auth = Some(pb::VrrpAuth {
        r#type: pb::VrrpAuthType::Pass as i32,
        password: Some(PASSWORD.into()),
    });
    g.track = vec![pb::VrrpTrack {
        script: vec!["/usr/local/bin/check".into(), TRACK_ARG.into()],
        weight: -20,
        ..Default::default()
    }];
    g
}

fn checked_web() -> pb::VirtualServer {
    let mut vs = web("web", "192.168.10.180");
    vs.health_check = Some(pb::HealthCheck {
        r#type: "script".into(),
        command: vec!["/bin/true".into(), "--password".into(), CHECK_ARG.into()],
        ..Default::default()
    });
    vs
}

/// The secrets a message shows (in its debug form: every field, nested structs included).
fn leaks(message: &impl std::fmt::Debug) -> Vec<&'static str> {
    let text = format!("{message:?}");
    [PASSWORD, NEW_PASSWORD, TRACK_ARG, CHECK_ARG]
        .into_iter()
        .filter(|s| text.contains(s))
        .collect()
}

#[tokio::test]
async fn secrets_are_withheld_below_admin_in_objects_audit_and_watch() {
    let d = Daemon::start().await;
    let mut admin = admin(&d).await;
    let created = admin
        .create_vrrp_group(pb::CreateVrrpGroupRequest {
            vrrp_group: Some(secret_group()),
        })
        .await
        .expect("create group")
        .into_inner();
    assert_eq!(
        created.auth.and_then(|a| a.password).as_deref(),
        Some(PASSWORD)
    );
    let mut changed = secret_group();
    changed.auth = Some(pb::VrrpAuth {
        r#type: pb::VrrpAuthType::Pass as i32,
        password: Some(NEW_PASSWORD.into()),
    });
    admin
        .update_vrrp_group(pb::UpdateVrrpGroupRequest {
            vrrp_group: Some(changed),
            expected_revision: None,
        })
        .await
        .expect("new password");
    admin
        .create_virtual_server(pb::CreateVirtualServerRequest {
            virtual_server: Some(checked_web()),
        })
        .await
        .expect("create virtual server");

    for role in ["viewer", "operator"] {
        let mut c = client_with(&d, &d.token_for(role).await).await;
        let g = c
            .get_vrrp_group(pb::GetVrrpGroupRequest {
                name: "vi-1".into(),
            })
            .await
            .expect("get group")
            .into_inner();
        assert_eq!(
            g.auth.as_ref().and_then(|a| a.password.as_deref()),
            Some("***"),
            "{role}"
        );
        assert_eq!(g.track[0].script, ["/usr/local/bin/check", "***"], "{role}");
        assert_eq!(leaks(&g), Vec::<&str>::new(), "{role}: {g:?}");
        let list = c
            .list_vrrp_groups(pb::ListVrrpGroupsRequest::default())
            .await
            .expect("list groups")
            .into_inner();
        assert_eq!(leaks(&list), Vec::<&str>::new(), "{role}: {list:?}");

        let vs = c
            .get_virtual_server(pb::GetVirtualServerRequest { name: "web".into() })
            .await
            .expect("get virtual server")
            .into_inner();
        assert_eq!(
            vs.health_check.as_ref().map(|h| h.command.clone()),
            Some(vec!["/bin/true".to_string(), "***".into(), "***".into()]),
            "{role}"
        );
        let all = c
            .list_virtual_servers(pb::ListVirtualServersRequest::default())
            .await
            .expect("list virtual servers")
            .into_inner();
        assert_eq!(leaks(&all), Vec::<&str>::new(), "{role}: {all:?}");

        let audit = c
            .list_audit(pb::ListAuditRequest {
                limit: 1000,
                ..Default::default()
            })
            .await
            .expect("audit")
            .into_inner();
        assert!(audit.items.len() >= 3, "{audit:?}");
        assert_eq!(leaks(&audit), Vec::<&str>::new(), "{role}: {audit:?}");

        // Watch replays the same entries from the start: as withheld.
        let mut events = c
            .watch(pb::WatchRequest {
                after_revision: Some(0),
            })
            .await
            .expect("watch")
            .into_inner();
        for revision in 1..=3 {
            let e = tokio::time::timeout(Duration::from_secs(10), events.message())
                .await
                .expect("an event within 10 s")
                .expect("a healthy stream")
                .expect("an event");
            assert_eq!(e.revision, revision);
            assert_eq!(leaks(&e), Vec::<&str>::new(), "{role}: {e:?}");
        }
    }

    // Admins read them, in objects and in the audit log.
    let g = admin
        .get_vrrp_group(pb::GetVrrpGroupRequest {
            name: "vi-1".into(),
        })
        .await
        .expect("get group")
        .into_inner();
    assert_eq!(leaks(&g), [NEW_PASSWORD, TRACK_ARG]);
    let audit = admin
        .list_audit(pb::ListAuditRequest::default())
        .await
        .expect("audit")
        .into_inner();
    assert_eq!(leaks(&audit).len(), 4, "{audit:?}");
}

#[tokio::test]
async fn a_group_sent_back_as_read_keeps_its_password() {
    let d = Daemon::start().await;
    let mut admin = admin(&d).await;
    admin
        .create_vrrp_group(pb::CreateVrrpGroupRequest {
            vrrp_group: Some(secret_group()),
        })
        .await
        .expect("create group");
    let mut operator = client_with(&d, &d.token_for("operator").await).await;
    let mut shown = operator
        .get_vrrp_group(pb::GetVrrpGroupRequest {
            name: "vi-1".into(),
        })
        .await
        .expect("get group")
        .into_inner();
    assert_eq!(
        shown.auth.as_ref().and_then(|a| a.password.as_deref()),
        Some("***")
    );
    shown.priority = Some(120);

    // Operators may not change groups: refused, and nothing changes.
    expect_code(
        operator
            .update_vrrp_group(pb::UpdateVrrpGroupRequest {
                vrrp_group: Some(shown.clone()),
                expected_revision: None,
            })
            .await,
        Code::PermissionDenied,
    );
    let rest = d.get("/api/v1/vrrp-groups/vi-1").await;
    assert_eq!(rest["auth"]["password"], PASSWORD);
    assert_eq!(rest["priority"], 100);

    // An admin sending the withheld copy changes the priority and keeps the password and the script.
    let updated = admin
        .update_vrrp_group(pb::UpdateVrrpGroupRequest {
            vrrp_group: Some(shown),
            expected_revision: None,
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.priority, Some(120));
    assert_eq!(
        updated.auth.and_then(|a| a.password).as_deref(),
        Some(PASSWORD)
    );
    assert_eq!(updated.track[0].script[1], TRACK_ARG);

    // "***" with nothing stored for it is refused, naming the field.
    let mut fresh = secret_group();
    fresh.name = "vi-2".into();
    fresh.vrid = 52;
    fresh.virtual_addresses = vec!["192.168.10.52/32".into()];
    fresh.auth = Some(pb::VrrpAuth {
        r#type: pb::VrrpAuthType::Pass as i32,
        password: Some("***".into()),
    });
    let refused = expect_code(
        admin
            .create_vrrp_group(pb::CreateVrrpGroupRequest {
                vrrp_group: Some(fresh),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_field(&refused), "auth.password");
}
