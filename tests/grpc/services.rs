//! The standard services next to the API: server reflection (what grpcurl uses) and health.

use crate::support::*;
use director_proto as pb;
use director_tests::Daemon;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

async fn reflect(d: &Daemon, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(channel(d).await);
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        }]))
        .await
        .expect("reflection")
        .into_inner();
    responses
        .message()
        .await
        .expect("a reflection response")
        .expect("one response")
        .message_response
        .expect("a message response")
}

#[tokio::test]
async fn reflection_describes_the_api() {
    let d = Daemon::start().await;
    let MessageResponse::ListServicesResponse(list) =
        reflect(&d, MessageRequest::ListServices(String::new())).await
    else {
        panic!("not a list of services");
    };
    let mut names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    // What the listener serves, and nothing else (the peer-sync service is on the peer listener only).
    assert_eq!(
        names,
        [
            "director.v1.Director",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
        ]
    );

    let MessageResponse::FileDescriptorResponse(files) = reflect(
        &d,
        MessageRequest::FileContainingSymbol("director.v1.Director".into()),
    )
    .await
    else {
        panic!("not a file descriptor");
    };
    use prost::Message;
    let names: Vec<String> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .expect("descriptor")
                .name()
                .to_string()
        })
        .collect();
    assert!(
        names.iter().any(|n| n == "director/v1/director.proto"),
        "{names:?}"
    );
    // A client can resolve the messages the service uses, imports included.
    let MessageResponse::FileDescriptorResponse(files) = reflect(
        &d,
        MessageRequest::FileContainingSymbol("director.v1.VirtualServer".into()),
    )
    .await
    else {
        panic!("not a file descriptor");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

#[tokio::test]
async fn health_is_serving() {
    let d = Daemon::start().await;
    let mut health = HealthClient::new(channel(&d).await);
    for service in ["", "director.v1.Director"] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e:?}"))
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await;
    assert_eq!(
        unknown.expect_err("unknown service").code(),
        tonic::Code::NotFound
    );
}

/// Over TLS (the daemon's --tls-cert, a lab CA): the API and health answer a client that trusts the CA, and
/// a plain-text client gets nothing.
#[tokio::test]
async fn the_api_is_served_over_tls() {
    let pki = director_tests::pki::Pki::new();
    let d = Daemon::start_with(director_tests::DaemonOptions {
        tls: Some(pki.tls("test-node", &["127.0.0.1"])),
        ..Default::default()
    })
    .await;
    assert!(d.grpc_url().starts_with("https://"));
    let mut api = admin(&d).await;
    api.create_virtual_server(pb::CreateVirtualServerRequest {
        virtual_server: Some(web("web", "10.0.0.1")),
    })
    .await
    .expect("create over TLS");
    let list = api
        .list_virtual_servers(pb::ListVirtualServersRequest::default())
        .await
        .expect("list over TLS")
        .into_inner();
    assert_eq!(list.items.len(), 1);
    let mut health = HealthClient::new(channel(&d).await);
    let r = health
        .check(HealthCheckRequest::default())
        .await
        .expect("health over TLS")
        .into_inner();
    assert_eq!(r.status(), ServingStatus::Serving);

    let plain =
        tonic::transport::Channel::from_shared(d.grpc_url().replacen("https://", "http://", 1))
            .expect("URL")
            .timeout(std::time::Duration::from_secs(5))
            .connect()
            .await;
    if let Ok(channel) = plain {
        assert!(
            HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
                .is_err(),
            "plain text was served"
        );
    }
}
