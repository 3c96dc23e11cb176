//! `/hosts`: the backend hosts (addresses of real servers) with their real servers in every virtual server,
//! and draining or undraining a host everywhere. A drain asks for confirmation first (a dialog with
//! JavaScript, else a confirmation page); the service makes the change (one revision for the whole host).

use super::ConfirmPage;
use crate::web::error::{UiError, UiResult};
use crate::web::session::Flash;
use crate::web::ui::{self, Chrome, Posted, Ui};
use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use director_core::model::Role;
use director_service::{parse_host_address, require, Host};

#[derive(Template)]
#[template(path = "hosts.html", config = "../../web/templates/askama.toml")]
struct HostsPage {
    chrome: Chrome,
    hosts: Vec<HostRow>,
}

struct HostRow {
    host: Host,
    /// The address as a path segment (IPv6 in brackets, escaped).
    path: String,
    virtual_servers: usize,
}

/// The URL of a host's action (`/hosts/{address}/{action}`).
fn host_path(address: &str) -> String {
    let segment = if address.contains(':') {
        format!("%5B{address}%5D")
    } else {
        address.to_string()
    };
    format!("/hosts/{segment}")
}

/// `GET /hosts`.
pub async fn page(ui: Ui) -> UiResult<Response> {
    let hosts = ui
        .app
        .service
        .hosts(ui.actor())?
        .into_iter()
        .map(|host| {
            let mut names: Vec<&str> = host
                .real_servers
                .iter()
                .map(|m| m.virtual_server.as_str())
                .collect();
            names.dedup();
            HostRow {
                path: host_path(&host.address),
                virtual_servers: names.len(),
                host,
            }
        })
        .collect();
    ui.page(&HostsPage {
        chrome: ui.chrome("Hosts", "hosts"),
        hosts,
    })
}

/// `GET` on an action URL (a reload of a confirmation page): back to the list.
pub async fn back(_ui: Ui, Path(_): Path<(String, String)>) -> Response {
    Redirect::to("/hosts").into_response()
}

/// `POST /hosts/{address}/{action}`: `drain` (after confirmation) or `undrain`.
pub async fn action(
    Path((address, action)): Path<(String, String)>,
    posted: Posted,
) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    // The service decides; viewers are refused before their input is even read.
    require(ui.actor(), Role::Operator)?;
    let ip = parse_host_address(&address)?;
    let confirmed = fields.text("confirm") == "yes";
    let change = match action.as_str() {
        "drain" => {
            if !confirmed {
                let host = ui
                    .app
                    .service
                    .hosts(ui.actor())?
                    .into_iter()
                    .find(|h| h.address == ip.to_string())
                    .ok_or_else(|| {
                        UiError::NotFound(format!("no real server has the address {ip}"))
                    })?;
                let heading = format!("Drain {ip} everywhere?");
                let vss: std::collections::BTreeSet<&str> = host
                    .real_servers
                    .iter()
                    .map(|m| m.virtual_server.as_str())
                    .collect();
                return ui.page(&ConfirmPage {
                    chrome: ui.chrome(heading.clone(), "hosts"),
                    heading,
                    message: format!(
                        "Its {} real servers in {} ({}) get weight 0 in one change: no new connections, the open \
                         ones finish. Undrain gives each its weight back.",
                        host.real_servers.len(),
                        if vss.len() == 1 { "1 virtual server".to_string() } else { format!("{} virtual servers", vss.len()) },
                        vss.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    action: format!("{}/drain", host_path(&ip.to_string())),
                    fields: Vec::new(),
                    button: "Drain the host".into(),
                    cancel: "/hosts".into(),
                });
            }
            ui.app.service.drain_host(ui.actor(), ip).await?
        }
        "undrain" => ui.app.service.undrain_host(ui.actor(), ip).await?,
        other => return Err(UiError::NotFound(format!("no host action {other:?}"))),
    };
    let mut text = change.message;
    text.push('.');
    Ok(ui::redirect("/hosts", Flash::ok(text)))
}
