//! Real-server actions on a virtual server's page: add, set weight, drain (weight 0), undrain (back to the
//! weight before the drain), enable, disable, delete. Whatever takes traffic away asks for confirmation
//! first (a dialog with JavaScript, else a confirmation page).

use super::virtual_servers::{render_detail, RowError};
use super::{BulkResult, ConfirmPage, Outcome, BULK_ACTIONS};
use crate::web::error::{UiError, UiResult};
use crate::web::form::{field_error, FieldError, FormState, Numbers};
use crate::web::session::Flash;
use crate::web::ui::{self, Posted, Ui};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use director_core::model::{RealServer, RealServerKey, Role};
use director_service::parse::from_json;
use director_service::{require, ServiceError};
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
    if let Some(question) = confirmation(&action, &name, &key, &rs).filter(|_| !confirmed) {
        return confirm(
            question.heading,
            question.message,
            question.button,
            Vec::new(),
        );
    }
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
        "drain" | "enable" | "disable" => match change(&action, &rs) {
            Some(c) => c,
            None => {
                return Err(UiError::NotFound(format!(
                    "no real-server action {action:?}"
                )))
            }
        },
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
        "delete" => {
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
        None,
    )
    .await
}

/// What asks for confirmation before it is done to one real server: whatever takes traffic away.
struct Question {
    heading: String,
    message: String,
    button: &'static str,
}

fn confirmation(action: &str, vs: &str, key: &RealServerKey, rs: &RealServer) -> Option<Question> {
    let (heading, message, button) = match action {
        "drain" => (
            format!("Drain {key}?"),
            format!(
                "{key} of {vs} gets no new connections (weight {} -> 0); the open ones finish. Undrain restores the weight.",
                rs.weight
            ),
            "Drain",
        ),
        "disable" => (
            format!("Disable {key}?"),
            format!("{key} is taken out of {vs}: it leaves the kernel table and its connections are cut."),
            "Disable",
        ),
        "delete" => (
            format!("Delete {key}?"),
            format!("{key} is removed from {vs} on every director; its connections are cut."),
            "Delete",
        ),
        _ => return None,
    };
    Some(Question {
        heading,
        message,
        button,
    })
}

/// The merge patch of a drain, an enable or a disable of `rs` (as REST's PATCH would carry it), and what
/// it does in words; `None` for other actions.
fn change(action: &str, rs: &RealServer) -> Option<(Value, String)> {
    let key = rs.key();
    Some(match action {
        "drain" if rs.weight == 0 => (
            json!({ "weight": 0 }),
            format!("{key} was drained already (weight 0)."),
        ),
        "drain" => (
            json!({ "weight": 0 }),
            format!("Drained {key} (weight {} -> 0).", rs.weight),
        ),
        "enable" if rs.enabled => (
            json!({ "enabled": true }),
            format!("{key} was enabled already."),
        ),
        "enable" => (json!({ "enabled": true }), format!("Enabled {key}.")),
        "disable" if !rs.enabled => (
            json!({ "enabled": false }),
            format!("{key} was disabled already."),
        ),
        "disable" => (json!({ "enabled": false }), format!("Disabled {key}.")),
        _ => return None,
    })
}

/// `GET` on the bulk action's URL (a reload of its result or confirmation): back to the virtual server.
pub async fn bulk_back(_ui: Ui, Path(name): Path<String>) -> Response {
    Redirect::to(&format!("/virtual-servers/{name}")).into_response()
}

/// `POST /virtual-servers/{name}/bulk`: `do` (drain, undrain, enable or disable) on every real server
/// selected (`rs`, one `address:port` each). Each is its own change through the service, as one REST call
/// per real server would be (one revision and one audit entry each); one that fails does not stop the
/// others, and the page lists what happened to each.
pub async fn bulk(Path(name): Path<String>, posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    require(ui.actor(), Role::Operator)?;
    let record = ui.app.service.get_virtual_server(ui.actor(), &name)?;
    let action = fields.text("do").to_string();
    if !BULK_ACTIONS.iter().any(|(a, _)| *a == action) {
        let names: Vec<&str> = BULK_ACTIONS.iter().map(|(a, _)| *a).collect();
        return Err(UiError::BadRequest(format!(
            "{action:?} is not an action on several real servers: use {}",
            names.join(", ")
        )));
    }
    let selected: Vec<String> = fields
        .all("rs")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let back = format!("/virtual-servers/{name}");
    if selected.is_empty() {
        return Ok(ui::redirect(
            &back,
            Flash::error(format!("Select the real servers to {action} first.")),
        ));
    }
    if matches!(action.as_str(), "drain" | "disable") && fields.text("confirm") != "yes" {
        let n = selected.len();
        let what = if action == "drain" {
            "get no new connections (weight 0); the open ones finish. Undrain restores their weights."
        } else {
            "leave the kernel table and their connections are cut."
        };
        let mut hidden = vec![("do".to_string(), action.clone())];
        hidden.extend(selected.iter().map(|s| ("rs".to_string(), s.clone())));
        let heading = format!(
            "{} {n} real server{} of {name}?",
            if action == "drain" {
                "Drain"
            } else {
                "Disable"
            },
            if n == 1 { "" } else { "s" }
        );
        return ui.page(&ConfirmPage {
            chrome: ui.chrome(heading.clone(), "virtual-servers"),
            heading,
            message: format!("{} {what}", selected.join(", ")),
            action: format!("{back}/bulk"),
            fields: hidden,
            button: if action == "drain" {
                "Drain"
            } else {
                "Disable"
            }
            .into(),
            cancel: back,
        });
    }
    let mut outcomes = Vec::with_capacity(selected.len());
    for endpoint in selected {
        let message = match bulk_one(&ui, &name, &action, &endpoint).await {
            Ok(done) => Ok(done),
            Err(e) => Err(e.to_string()),
        };
        outcomes.push(Outcome {
            endpoint,
            ok: message.is_ok(),
            message: message.unwrap_or_else(|e| e),
        });
    }
    let result = BulkResult { action, outcomes };
    tracing::info!(
        virtual_server = %record.spec.name, action = %result.action, succeeded = result.succeeded(),
        failed = result.failed(), user = %ui.actor().name, "UI bulk action"
    );
    render_detail(&ui, &name, StatusCode::OK, None, None, Some(result)).await
}

/// One real server of a bulk action: what was done, or the service's refusal.
async fn bulk_one(ui: &Ui, vs: &str, action: &str, endpoint: &str) -> Result<String, ServiceError> {
    let key: RealServerKey = endpoint
        .parse()
        .map_err(|m: String| ServiceError::BadRequest {
            field: "rs".into(),
            message: m,
        })?;
    if action == "undrain" {
        let (_, rs) = ui.app.service.get_real_server(ui.actor(), vs, &key)?;
        if rs.weight > 0 {
            return Ok(format!("{key} was not drained (weight {}).", rs.weight));
        }
        let (_, weight) = ui
            .app
            .service
            .undrain_real_server(ui.actor(), vs, &key)
            .await?;
        return Ok(format!("Undrained {key}: weight {weight}."));
    }
    let (_, rs) = ui.app.service.get_real_server(ui.actor(), vs, &key)?;
    let Some((patch, done)) = change(action, &rs) else {
        return Err(ServiceError::BadRequest {
            field: "do".into(),
            message: format!("{action:?} is not an action on several real servers"),
        });
    };
    ui.app
        .service
        .patch_real_server(ui.actor(), vs, &key, &patch, None)
        .await?;
    Ok(done)
}
