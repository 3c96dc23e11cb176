//! The OpenAPI document (generated from the handlers and models) and its interactive page.

use super::{
    audit, connections, dataplane, error, hosts, status, tokens, users, virtual_servers,
    vrrp_groups,
};
use director_core::model;
use director_runtime::daemon::DataplaneInfo;
use director_runtime::reconciler::{PassReport, ReconcileStatus};
use director_runtime::views;
use director_service::store::AuditEntry;
use director_service::{LoginResult, TokenView, UserView};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "director",
        description = "Manages Linux IPVS load balancers: virtual servers, real servers, VRRP groups and the audit log.",
        license(name = "Apache-2.0")
    ),
    paths(
        users::login, users::logout,
        status::status,
        dataplane::observed, dataplane::plan, connections::list,
        virtual_servers::list, virtual_servers::create, virtual_servers::get, virtual_servers::replace,
        virtual_servers::patch, virtual_servers::delete,
        virtual_servers::list_real, virtual_servers::create_real, virtual_servers::get_real,
        virtual_servers::replace_real, virtual_servers::patch_real, virtual_servers::delete_real,
        hosts::list, hosts::drain, hosts::undrain,
        vrrp_groups::list, vrrp_groups::create, vrrp_groups::get, vrrp_groups::replace, vrrp_groups::patch,
        vrrp_groups::delete,
        audit::list,
        users::list, users::create, users::get, users::patch, users::delete,
        tokens::list, tokens::get, tokens::revoke,
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        model::VirtualServer, model::RealServer, model::HealthCheck, model::CheckKind, model::Protocol,
        model::Family, model::Scheduler, model::SchedulerFlag, model::Forwarding, model::Persistence,
        model::SorryServer, model::VrrpGroup, model::Member, model::Track, model::Auth, model::AuthType, model::Role,
        views::VirtualServerView, views::RealServerView, views::HealthView, views::VrrpGroupView,
        views::VirtualServerList, views::RealServerList, views::VrrpGroupList,
        AuditEntry, audit::AuditPage, status::Status, status::Counts, status::HealthSummary, status::DownServer, DataplaneInfo,
        dataplane::DataplaneView, dataplane::PlanView,
        director_runtime::connections::ConnectionList, director_runtime::connections::ConnectionView, ReconcileStatus, PassReport,
        users::LoginRequest, users::NewUser, users::UserPatch, users::UserList, UserView, LoginResult,
        tokens::TokenList, TokenView,
        hosts::HostList, director_service::Host, director_service::HostMember, director_service::HostChange,
        director_service::HostRealServer,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Log in for a bearer token; log out to revoke it"),
        (name = "virtual-servers", description = "IPVS services"),
        (name = "real-servers", description = "Backends of a virtual server"),
        (name = "hosts", description = "Backend hosts across every virtual server: drain and undrain one everywhere"),
        (name = "vrrp-groups", description = "VRRP failover of virtual addresses"),
        (name = "audit", description = "Who changed what"),
        (name = "users", description = "Accounts and roles (admin)"),
        (name = "tokens", description = "Issued tokens and their revocation (admin)"),
        (name = "status", description = "The node and its dataplane"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as the derives generate it, before [`contract::tighten`].
pub fn generated() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// The document the server serves at `/api/v1/openapi.json`: the generated one with the contract applied.
pub fn openapi() -> serde_json::Value {
    let mut doc = serde_json::to_value(generated()).unwrap_or_default();
    super::contract::tighten(&mut doc);
    doc
}

/// The document as YAML, exactly as `openapi.yaml` at the repository root holds it.
pub fn yaml() -> String {
    serde_norway::to_string(&openapi()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// `openapi.yaml` at the root must be the document the code generates. To refresh it after a change:
    /// `UPDATE_OPENAPI=1 cargo test -p director-http openapi`.
    #[test]
    fn openapi_yaml_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
        let generated = super::yaml();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("writing openapi.yaml");
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        // Two empty documents (a failed serialization, a missing file) would compare equal.
        for (side, text) in [("generated", &generated), ("openapi.yaml", &on_disk)] {
            let doc: serde_json::Value = serde_norway::from_str(text)
                .unwrap_or_else(|e| panic!("the {side} document is not YAML: {e}"));
            let paths = doc["paths"].as_object().map_or(0, |p| p.len());
            assert!(paths > 0, "the {side} document has no paths");
        }
        assert!(
            on_disk == generated,
            "openapi.yaml has drifted from the code: run `UPDATE_OPENAPI=1 cargo test -p director-http openapi` and commit it"
        );
    }
}
