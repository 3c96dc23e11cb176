//! Route tables: the REST API and the UI each build their router from one list of routes that also says
//! who may call each ([`Access`]), so that the list can be read (the OpenAPI document's `x-required-role`,
//! the auth suites) and cannot miss a served route.

use director_core::model::Role;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token or session (logging in, static files).
    Public,
    /// A token (REST) or session (UI) of at least this role. The service layer checks it (for REST, gRPC and
    /// the UI alike); the table states it, and the auth suite checks that every weaker role is refused and
    /// this one let through.
    Role(Role),
}

impl Access {
    /// The role needed (`None`: public).
    pub fn role(self) -> Option<Role> {
        match self {
            Access::Public => None,
            Access::Role(r) => Some(r),
        }
    }
}

pub const PUBLIC: Access = Access::Public;
pub const VIEWER: Access = Access::Role(Role::Viewer);
/// Operators may change the weight and the enabled state of real servers (and drain them); anything else
/// such a request asks needs an admin (judged by the service, see `service::Scope`).
pub const OPERATOR: Access = Access::Role(Role::Operator);
pub const ADMIN: Access = Access::Role(Role::Admin);

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Lower case, as the OpenAPI document writes it.
    pub method: &'static str,
    /// With `{parameters}`, relative to where the router is served.
    pub path: &'static str,
    pub access: Access,
}

/// `routes! { pub const TABLE; fn builder; "/path" => get(handler, ACCESS), post(...); ... }` defines the
/// table of routes and a function that builds the router from the same list.
macro_rules! routes {
    (
        $(#[$meta:meta])* $vis:vis const $table:ident; fn $builder:ident;
        $($path:literal => $($method:ident($handler:path, $access:expr)),+;)+
    ) => {
        $(#[$meta])*
        $vis const $table: &[$crate::routes::Route] = &[
            $($($crate::routes::Route {
                method: stringify!($method),
                path: $path,
                access: $access,
            },)+)+
        ];

        $vis fn $builder() -> axum::Router<$crate::state::AppState> {
            axum::Router::new()
                $(.route($path, axum::routing::MethodRouter::new()$(.$method($handler))+))+
        }
    };
}
pub(crate) use routes;
