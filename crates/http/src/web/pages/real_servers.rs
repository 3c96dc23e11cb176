//! Real-server actions on a virtual server's page: add, set weight, drain (weight 0), undrain (back to the
//! weight before the drain), enable, disable, delete. Whatever takes traffic away asks for confirmation
//! first (a dialog with JavaScript, else a confirmation page).

use super::virtual_servers::{render_detail, RowError};
use super::ConfirmPage;
use crate::web::error::{UiError, UiResult};
use crate::web::form::{field_error, FieldError, FormState, Numbers};
use crate::web::session::Flash;
use crate::web::ui::{self, Posted, Ui};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use director_core::model::{RealServer, RealServerKey, Role};
use director_service::parse::from_json;
use director_service::require;
use serde_json::{json, Map, Value};

const ADD_INPUTS: [&str; 5] = ["address", "port", "weight", "forwarding", "enabled"];

/// `POST /virtual-servers/{name}/real-servers`: add one.
pub async fn create(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    // The service decides; this only refuses a role the form is not offered to before reading it.
    require(ui.actor(), Role::Admin)?;
    let inputs: Vec<String> = ADD_INPUTS.iter().map(|s| s.to_string()).collect();
    let mut state = FormState::new(fields.clone());
    state.fields.remove(crate::web::csrf::FIELD);
    let mut n = Numbers::default();
    let mut rs = Map::new();
    rs.insert(
        "address".into(),
        Value::String(fields.text("address").to_string()),
    );
    if let Some(p) = n.opt(&fields, "port") {
        rs.insert("port".into(), json!(p));
    } else if fields.text("port").is_empty() {
        n.errors.push(FieldError {
            field: "port".into(),
            message: "required".into(),
        });
    }
    if let Some(w) = n.opt(&fields, "weight") {
        rs.insert("weight".into(), json!(w));
    }
    match fields.text("forwarding") {
        "" => {}
        f => {
            rs.insert("forwarding".into(), Value::String(f.to_string()));
        }
    }
    rs.insert("enabled".into(), Value::Bool(fields.ticked("enabled")));
    if fields.text("address").is_empty() {
        n.errors.insert(
            0,
            FieldError {
                field: "address".into(),
                message: "required".into(),
            },
        );
    }
    let result = if n.errors.is_empty() {
        match from_json::<RealServer>(Value::Object(rs)) {
            Ok(rs) => {
                let key = rs.key();
                ui.app
                    .service
                    .create_real_server(ui.actor(), &name, rs)
                    .await
                    .map(|_| key)
            }
            Err(e) => Err(e),
        }
    } else {
        for e in std::mem::take(&mut n.errors) {
            state.add(e, &inputs);
        }
        return render_detail(
            &ui,
            &name,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(state),
            None,
        )
        .await;
    };
    match result {
        Ok(key) => Ok(ui::redirect(
            &format!("/virtual-servers/{name}"),
            Flash::ok(format!("Added real server {key}.")),
        )),
        Err(e) => match field_error(&e) {
            Some(fe) => {
                state.add(fe, &inputs);
                render_detail(
                    &ui,
                    &name,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(state),
                    None,
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}

/// `GET` on an action URL (a reload of a confirmation page): back to the virtual server.
pub async fn back(_ui: Ui, Path((name, _, _)): Path<(String, String, String)>) -> Response {
    Redirect::to(&format!("/virtual-servers/{name}")).into_response()
}

/// `POST /virtual-servers/{name}/real-servers/{endpoint}/{action}`.
pub async fn action(
    Path((name, endpoint, action)): Path<(String, String, String)>,
    posted: Posted,
) -> UiResult<Response> {
    perform(posted, name, endpoint, action).await
}

/// `POST /virtual-servers/{name}/real-servers/{endpoint}` with the action in the field `do` (the buttons of
/// a row share one form).
pub async fn action_field(
    Path((name, endpoint)): Path<(String, String)>,
    posted: Posted,
) -> UiResult<Response> {
    let action = posted.fields.text("do").to_string();
    perform(posted, name, endpoint, action).await
}

async fn perform(
    posted: Posted,
    name: String,
    endpoint: String,
    action: String,
) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    // The service decides each change; viewers are refused before their input is even read.
    require(ui.actor(), Role::Operator)?;
    let key: RealServerKey = endpoint
        .parse()
        .map_err(|m: String| UiError::BadRequest(m))?;
    let (_, rs) = ui.app.service.get_real_server(ui.actor(), &name, &key)?;
    let confirmed = fields.text("confirm") == "yes";
    let back = format!("/virtual-servers/{name}");
    let path = super::real_server_path(&name, &key);
    let confirm = |heading: String, message: String, button: &str, extra: Vec<(String, String)>| {
        ui.page(&ConfirmPage {
            chrome: ui.chrome(heading.clone(), "virtual-servers"),
            heading,
            message,
            action: format!("{path}/{action}"),
            fields: extra,
            button: button.to_string(),
            cancel: back.clone(),
        })
    };
    let (patch, done) = match action.as_str() {
        "weight" => {
            let typed = fields.text("weight").to_string();
            let weight = match typed.parse::<u32>() {
                Ok(w) => w,
                Err(_) => {
                    let message = format!("{typed:?} is not a whole number between 0 and 65535");
                    return row_error(&ui, &name, key, typed, message).await;
                }
            };
            if weight == 0 && rs.weight > 0 && !confirmed {
                return confirm(
                    format!("Drain {key}?"),
                    format!("Weight 0 drains {key} of {name}: it gets no new connections; the open ones finish."),
                    "Set weight 0 (drain)",
                    vec![("weight".into(), "0".into())],
                );
            }
            (
                json!({ "weight": weight }),
                format!("Weight of {key} set to {weight} (was {}).", rs.weight),
            )
        }
        "drain" => {
            if !confirmed {
                return confirm(
                    format!("Drain {key}?"),
                    format!(
                        "{key} of {name} gets no new connections (weight {} -> 0); the open ones finish. Undrain restores the weight.",
                        rs.weight
                    ),
                    "Drain",
                    Vec::new(),
                );
            }
            (
                json!({ "weight": 0 }),
                format!("Drained {key} (weight {} -> 0).", rs.weight),
            )
        }
        "undrain" => {
            let (_, weight) = ui
                .app
                .service
                .undrain_real_server(ui.actor(), &name, &key)
                .await?;
            return Ok(ui::redirect(
                &back,
                Flash::ok(format!("Undrained {key}: weight {weight}.")),
            ));
        }
        "enable" => (json!({ "enabled": true }), format!("Enabled {key}.")),
        "disable" => {
            if !confirmed {
                return confirm(
                    format!("Disable {key}?"),
                    format!("{key} is taken out of {name}: it leaves the kernel table and its connections are cut."),
                    "Disable",
                    Vec::new(),
                );
            }
            (json!({ "enabled": false }), format!("Disabled {key}."))
        }
        "delete" => {
            if !confirmed {
                return confirm(
                    format!("Delete {key}?"),
                    format!(
                        "{key} is removed from {name} on every director; its connections are cut."
                    ),
                    "Delete",
                    Vec::new(),
                );
            }
            ui.app
                .service
                .delete_real_server(ui.actor(), &name, &key, None)
                .await?;
            return Ok(ui::redirect(
                &back,
                Flash::ok(format!("Deleted real server {key}.")),
            ));
        }
        other => {
            return Err(UiError::NotFound(format!(
                "no real-server action {other:?}"
            )))
        }
    };
    match ui
        .app
        .service
        .patch_real_server(ui.actor(), &name, &key, &patch, None)
        .await
    {
        Ok(_) => Ok(ui::redirect(&back, Flash::ok(done))),
        Err(e) => match field_error(&e) {
            Some(fe) => {
                let typed = fields.text("weight").to_string();
                row_error(&ui, &name, key, typed, fe.message).await
            }
            None => Err(e.into()),
        },
    }
}

async fn row_error(
    ui: &Ui,
    name: &str,
    key: RealServerKey,
    typed: String,
    message: String,
) -> UiResult<Response> {
    render_detail(
        ui,
        name,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        Some(RowError {
            key,
            typed,
            message,
        }),
    )
    .await
}
