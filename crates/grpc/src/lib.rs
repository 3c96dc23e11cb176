//! The gRPC edge of director (tonic), for pipelines: `director.v1.Director`, whose contract is
//! `proto/director/v1/*.proto` (compiled once, in `director-proto`). It mirrors the REST API: the handlers
//! authenticate the bearer token of the `authorization` metadata and call the same service methods, so
//! authorization, validation and the audit trail (via = grpc) are the service layer's. Next to it run the
//! standard health service (`grpc.health.v1.Health`) and server reflection (v1 and v1alpha, for grpcurl and
//! friends).
//!
//! Owns: the mapping between protobuf messages and the model ([`from_proto`] refuses bad input naming the
//! field, [`to_proto`] renders the runtime's views), status codes with their details, watches and waits.
//!
//! Architecture invariant: like the HTTP edge, it decides nothing; it imports the service layer, the runtime
//! (views, health, reconcile status) and the pure crates, never the HTTP edge (but for the test that
//! compares the two contracts) or the binary's options.

mod auth;
mod director;
mod errors;
mod from_proto;
mod to_proto;
mod wait;
mod watch;

use director::DirectorApi;

use anyhow::Context;
use director_runtime::daemon::Runtime;
use director_service::Service;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use director_proto as proto;

/// The largest request the server reads (a virtual server with thousands of real servers fits).
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// How long in-flight calls may run on after the shutdown signal before the server stops anyway (long-lived
/// streams such as health watches would otherwise hold it open).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Reflection of what this listener serves, and of nothing else: the contract's descriptors also hold
/// `director.v1.Sync`, which only the peer listener serves.
fn reflection(itself: &str) -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("director.v1.Director")
        .with_service_name("grpc.health.v1.Health")
        .with_service_name(itself)
}

/// Serves the gRPC API on `listener` (over TLS with `tls`) until `shutdown` is cancelled, then drains in-flight
/// calls: watches and waits end with UNAVAILABLE, health answers NOT_SERVING.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: Arc<Service>,
    runtime: Arc<Runtime>,
    checker: Arc<director_health::Engine>,
    reconciler: Arc<director_runtime::reconciler::Reconciler>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use proto::director_server::DirectorServer;
    let addr = listener.local_addr().context("gRPC listener address")?;
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<DirectorServer<DirectorApi>>().await;
    let reflection_v1 = reflection("grpc.reflection.v1.ServerReflection")
        .build_v1()
        .context("gRPC reflection service")?;
    let reflection_v1alpha = reflection("grpc.reflection.v1alpha.ServerReflection")
        .build_v1alpha()
        .context("gRPC reflection service (v1alpha)")?;
    let api = DirectorServer::new(DirectorApi {
        service,
        runtime,
        health: checker,
        reconciler,
        shutdown: shutdown.clone(),
    })
    .max_decoding_message_size(MAX_REQUEST_BYTES)
    .max_encoding_message_size(usize::MAX);

    let stopping = {
        let (stop, health) = (shutdown.clone(), health.clone());
        async move {
            stop.cancelled().await;
            health
                .set_not_serving::<DirectorServer<DirectorApi>>()
                .await;
            health
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
        }
    };
    let router = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .trace_fn(|request| tracing::info_span!("grpc", method = %request.uri().path()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(api);
    type Serving = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
    >;
    let server: Serving = match tls {
        Some(config) => {
            let incoming = director_tls::TlsIncoming::new(listener, config, "gRPC", false)
                .context("gRPC listener")?;
            Box::pin(router.serve_with_incoming_shutdown(incoming.into_stream(), stopping))
        }
        None => Box::pin(router.serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            stopping,
        )),
    };
    tracing::info!(grpc = %addr, "gRPC API on {addr}");
    tokio::select! {
        result = server => result.context("gRPC server"),
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("gRPC calls still running {} s after the shutdown signal: stopping anyway", SHUTDOWN_GRACE.as_secs());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// The proto messages and enums of `director.v1` must carry every field and value of the JSON model
    /// (as the OpenAPI document describes it), so that nothing the REST API takes is lost over gRPC.
    #[test]
    fn contract_covers_the_model() {
        let fds = prost_types::FileDescriptorSet::decode(super::proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let files: Vec<_> = fds
            .file
            .iter()
            .filter(|f| f.package() == "director.v1")
            .collect();
        let message = |name: &str| -> BTreeSet<String> {
            files
                .iter()
                .flat_map(|f| &f.message_type)
                .find(|m| m.name() == name)
                .unwrap_or_else(|| panic!("no message {name} in director.v1"))
                .field
                .iter()
                .map(|f| f.name().to_string())
                .collect()
        };
        let enumeration = |name: &str| -> BTreeSet<String> {
            files
                .iter()
                .flat_map(|f| &f.enum_type)
                .find(|e| e.name() == name)
                .unwrap_or_else(|| panic!("no enum {name} in director.v1"))
                .value
                .iter()
                .map(|v| v.name().to_string())
                .collect()
        };
        let doc = serde_json::to_value(director_http::api::docs::openapi()).expect("openapi");
        let schemas = &doc["components"]["schemas"];
        let schema = |name: &str| -> &Value {
            let s = &schemas[name];
            assert!(!s.is_null(), "no schema {name} in the OpenAPI document");
            s
        };
        for (model, proto) in [
            ("VirtualServer", "VirtualServer"),
            ("RealServer", "RealServer"),
            ("HealthCheck", "HealthCheck"),
            ("Persistence", "Persistence"),
            ("SorryServer", "SorryServer"),
            ("VrrpGroup", "VrrpGroup"),
            ("Auth", "VrrpAuth"),
            ("Member", "VrrpMember"),
            ("Track", "VrrpTrack"),
            ("Notify", "VrrpNotify"),
            ("Garp", "VrrpGarp"),
            ("ConnectionSync", "VrrpConnectionSync"),
            ("HostChange", "HostChange"),
            ("HostRealServer", "HostRealServer"),
        ] {
            let fields = message(proto);
            let properties = schema(model)["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("schema {model} has no properties"));
            for property in properties.keys() {
                assert!(
                    fields.contains(property),
                    "the model's {model}.{property} has no field in director.v1.{proto}"
                );
            }
        }
        for (model, proto, prefix) in [
            ("Protocol", "Protocol", "PROTOCOL"),
            ("Family", "Family", "FAMILY"),
            ("Scheduler", "Scheduler", "SCHEDULER"),
            ("SchedulerFlag", "SchedulerFlag", "SCHEDULER_FLAG"),
            ("Forwarding", "Forwarding", "FORWARDING"),
            ("AuthType", "VrrpAuthType", "VRRP_AUTH_TYPE"),
        ] {
            let values = enumeration(proto);
            let names = schema(model)["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("schema {model} is not an enum"));
            for name in names {
                let name = name.as_str().expect("enum name");
                let wanted = format!("{prefix}_{}", name.replace('-', "_").to_ascii_uppercase());
                assert!(
                    values.contains(&wanted),
                    "the model's {model} {name:?} has no value {wanted} in director.v1.{proto}"
                );
            }
        }
    }
}
