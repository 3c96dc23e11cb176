//! What the gRPC suites share: clients with a bearer token, sample objects, status checks.

#![allow(dead_code)]

use director_proto as pb;
use director_proto::director_client::DirectorClient;
use director_tests::Daemon;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Adds `authorization: Bearer <token>` to every call (nothing for an empty token).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

pub type Client = DirectorClient<InterceptedService<Channel, Bearer>>;

pub async fn channel(d: &Daemon) -> Channel {
    let mut endpoint = Channel::from_shared(d.grpc_url()).expect("gRPC URL");
    if let Some(ca) = &d.ca {
        let pem = std::fs::read(ca).expect("read the CA");
        endpoint = endpoint
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(pem)),
            )
            .expect("TLS");
    }
    endpoint
        .connect()
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}\n{}", d.grpc_url(), d.log_text()))
}

/// A client calling with `token` (empty: no token at all).
pub async fn client_with(d: &Daemon, token: &str) -> Client {
    let bearer = if token.is_empty() {
        None
    } else {
        Some(
            format!("Bearer {token}")
                .parse()
                .expect("token as metadata"),
        )
    };
    DirectorClient::with_interceptor(channel(d).await, Bearer(bearer))
}

/// A client calling as the daemon's admin.
pub async fn admin(d: &Daemon) -> Client {
    client_with(d, &d.admin_token).await
}

pub fn real_server(address: &str, port: u32, weight: u32) -> pb::RealServer {
    pb::RealServer {
        address: address.into(),
        port,
        weight: Some(weight),
        ..Default::default()
    }
}

/// A TCP virtual server with two real servers.
pub fn web(name: &str, address: &str) -> pb::VirtualServer {
    pb::VirtualServer {
        name: name.into(),
        protocol: pb::Protocol::Tcp as i32,
        address: Some(address.into()),
        port: Some(80),
        scheduler: pb::Scheduler::Wrr as i32,
        forwarding: pb::Forwarding::Dr as i32,
        real_servers: vec![
            real_server("10.0.1.1", 80, 1),
            real_server("10.0.1.2", 80, 2),
        ],
        ..Default::default()
    }
}

pub fn group(name: &str, vrid: u32) -> pb::VrrpGroup {
    pb::VrrpGroup {
        name: name.into(),
        vrid,
        virtual_addresses: vec![format!("192.168.10.{vrid}/32")],
        interface: Some("eth0".into()),
        ..Default::default()
    }
}

/// Asserts that `result` failed with `code` and returns the status.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got a success: {v:?}"),
        Err(s) => {
            assert_eq!(s.code(), code, "status: {s:?}");
            s
        }
    }
}

/// The ErrorInfo reason of a status.
pub fn reason(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// The BadRequest field of a status.
pub fn bad_field(s: &Status) -> String {
    s.get_error_details()
        .bad_request()
        .and_then(|b| b.field_violations.first())
        .map(|v| v.field.clone())
        .unwrap_or_default()
}
