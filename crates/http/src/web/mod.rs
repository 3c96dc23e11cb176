//! The server-rendered admin UI: askama templates (web/templates) and embedded assets (web/static).
//!
//! Every core action works without JavaScript: plain forms, POST-redirect-GET, confirmation pages for what
//! takes traffic away; a little script adds confirmation dialogs and refreshes live state every few seconds.
//! Handlers are thin: they read the session ([`ui::Ui`], or [`ui::Posted`] for forms, which also checks the
//! CSRF token), call the [`Service`](director_service::Service) as `Via::Ui` (it authorizes and validates;
//! nothing is decided twice) and render. Kernel counters for the charts come from a [`CounterHistory`] fed
//! by a sampler task ([`spawn_sampler`]).
//!
//! Layout: [`session`] (cookies), [`csrf`], [`ui`] (extractors, page chrome, rendering),
//! [`form`], [`vs_form`] and [`vrrp_form`] (forms and the placement of validation errors), [`chart`] (SVG), [`history`]
//! (counter rings), [`kernel`] (finding a service in the kernel table), [`pages`] (one module per page).

mod assets;
pub mod chart;
pub mod csrf;
mod error;
pub mod form;
pub mod history;
pub mod kernel;
mod pages;
pub mod session;
pub mod ui;
pub mod vrrp_form;
pub mod vs_form;

pub use error::{UiError, UiResult};
pub use history::{spawn_sampler, CounterHistory, WebContext};

use crate::routes::{ADMIN, OPERATOR, PUBLIC, VIEWER};
use crate::state::AppState;
use axum::Router;
use pages::{
    audit, connections, dashboard, hosts, login, real_servers, users, virtual_servers, vrrp_groups,
};

crate::routes::routes! {
    /// Every route of the UI (docs/design.md, "Web UI routes"), with who may call it (a session of that role;
    /// forms also need the session's CSRF token). The routes that act on a real server need an operator for
    /// weights, draining and enabling (one or a selection of them), an admin for deleting; VRRP groups are
    /// written by admins, as in REST.
    pub const ROUTES; fn ui_routes;
    "/" => get(dashboard::page, VIEWER);
    "/live" => get(dashboard::live, VIEWER);
    "/login" => get(login::form, PUBLIC), post(login::submit, PUBLIC);
    "/logout" => get(login::logout_page, VIEWER), post(login::logout, VIEWER);
    "/virtual-servers" =>
        get(virtual_servers::list, VIEWER),
        post(virtual_servers::create, ADMIN);
    "/virtual-servers/_new" => get(virtual_servers::new_form, ADMIN);
    "/virtual-servers/{name}" =>
        get(virtual_servers::detail, VIEWER),
        post(virtual_servers::update, ADMIN);
    "/virtual-servers/{name}/edit" => get(virtual_servers::edit_form, ADMIN);
    "/virtual-servers/{name}/delete" => post(virtual_servers::delete, ADMIN);
    "/virtual-servers/{name}/live" => get(virtual_servers::live, VIEWER);
    "/virtual-servers/{name}/real-servers" => post(real_servers::create, ADMIN);
    "/virtual-servers/{name}/bulk" => post(real_servers::bulk, OPERATOR), get(real_servers::bulk_back, VIEWER);
    "/virtual-servers/{name}/real-servers/{endpoint}" => post(real_servers::action_field, OPERATOR);
    "/virtual-servers/{name}/real-servers/{endpoint}/{action}" =>
        post(real_servers::action, OPERATOR),
        get(real_servers::back, VIEWER);
    "/hosts" => get(hosts::page, VIEWER);
    "/connections" => get(connections::page, VIEWER);
    "/hosts/{address}/{action}" => post(hosts::action, OPERATOR), get(hosts::back, VIEWER);
    "/vrrp-groups" => get(vrrp_groups::list, VIEWER), post(vrrp_groups::create, ADMIN);
    "/vrrp-groups/_new" => get(vrrp_groups::new_form, ADMIN);
    "/vrrp-groups/{name}" => get(vrrp_groups::detail, VIEWER), post(vrrp_groups::update, ADMIN);
    "/vrrp-groups/{name}/edit" => get(vrrp_groups::edit_form, ADMIN);
    "/vrrp-groups/{name}/delete" =>
        post(vrrp_groups::delete, ADMIN),
        get(vrrp_groups::back, VIEWER);
    "/audit" => get(audit::page, VIEWER);
    "/users" => get(users::page, ADMIN), post(users::create, ADMIN);
    "/users/{name}/{action}" => post(users::action, ADMIN);
    "/static/{file}" => get(assets::serve, PUBLIC);
}

/// The router of the UI, from [`ROUTES`].
pub fn router() -> Router<AppState> {
    ui_routes()
        .fallback(|| async { UiError::NotFound("there is no such page".into()) })
        .layer(axum::middleware::from_fn(ui::security_headers))
}
