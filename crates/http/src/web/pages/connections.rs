//! `/connections`: the kernel's connection table (`ipvsadm -Lnc`), filtered by virtual server, real server
//! and client, a page at a time (the same query as `GET /api/v1/connections`, checked by the runtime).

use crate::web::error::UiResult;
use crate::web::form::{filter_link, FieldError, Fields, FormState};
use crate::web::ui::{Chrome, Ui};
use askama::Template;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use director_runtime::connections::{ConnectionList, ConnectionQuery};

/// Entries per page.
const PAGE: u32 = 100;
const FILTERS: [&str; 3] = ["virtual_server", "real_server", "client"];

#[derive(Template)]
#[template(path = "connections.html", config = "../../web/templates/askama.toml")]
struct ConnectionsPage {
    chrome: Chrome,
    form: FormState,
    list: Option<ConnectionList>,
    /// Why there is no list (no IPVS table here, or the kernel could not be read).
    unavailable: Option<String>,
    filtered: bool,
    paged: bool,
    first: String,
    next: Option<String>,
}

fn link(f: &Fields, cursor: Option<&str>) -> String {
    filter_link("/connections", &FILTERS, f, cursor)
}

/// `GET /connections?virtual_server=&real_server=&client=&cursor=`.
pub async fn page(ui: Ui, uri: Uri) -> UiResult<Response> {
    let f = Fields::parse(uri.query().unwrap_or("").as_bytes());
    let opt = |name: &str| Some(f.text(name).to_string()).filter(|v| !v.is_empty());
    let query = ConnectionQuery {
        virtual_server: opt("virtual_server"),
        real_server: opt("real_server"),
        client: opt("client"),
        cursor: opt("cursor"),
        limit: Some(PAGE),
    };
    let mut form = FormState::new(Fields::from_pairs(
        FILTERS
            .iter()
            .map(|n| (n.to_string(), f.text(n).to_string())),
    ));
    let state = ui.app.service.snapshot();
    let mut status = StatusCode::OK;
    let (mut list, mut unavailable) = (None, None);
    match query.page(&state) {
        Err(e) => {
            let inputs: Vec<String> = FILTERS.iter().map(|s| s.to_string()).collect();
            form.add(
                FieldError {
                    field: e.field().to_string(),
                    message: e.to_string(),
                },
                &inputs,
            );
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        Ok(page) => match ui
            .app
            .reconciler
            .as_ref()
            .filter(|r| r.dataplane().has_table())
        {
            None => {
                unavailable = Some(format!(
                    "No IPVS table on this node: {}",
                    ui.app.runtime.dataplane.detail
                ))
            }
            Some(r) => match r.connections(page).await {
                Ok(page) => list = Some(ConnectionList::new(page, &state)),
                Err(e) => {
                    status = StatusCode::INTERNAL_SERVER_ERROR;
                    unavailable = Some(format!("Reading the connection table failed: {e}"));
                }
            },
        },
    }
    let next = list
        .as_ref()
        .and_then(|l| l.next_cursor.as_deref())
        .map(|c| link(&f, Some(c)));
    let page = ConnectionsPage {
        chrome: ui.chrome("Connections", "connections"),
        filtered: FILTERS.iter().any(|n| !f.text(n).is_empty()),
        paged: query.cursor.is_some(),
        first: link(&f, None),
        next,
        form,
        list,
        unavailable,
    };
    ui.page_with(status, &page)
}
