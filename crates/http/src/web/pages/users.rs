//! `/users` (admins): list, add, change role, set password, remove.

use super::ConfirmPage;
use crate::web::error::{UiError, UiResult};
use crate::web::form::{field_error, FieldError, Fields, FormState};
use crate::web::session::Flash;
use crate::web::ui::{self, when, Chrome, Posted, Ui};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use director_core::model::Role;
use director_service::{require, ServiceError};

const ROLES: [&str; 3] = ["viewer", "operator", "admin"];
const ADD_INPUTS: [&str; 3] = ["name", "password", "role"];

#[derive(Debug, Clone)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub created: String,
    pub updated: String,
    pub me: bool,
    /// An error of the last change of this user.
    pub error: Option<String>,
}

impl UserRow {
    pub fn has(&self, role: &str) -> bool {
        self.role == role
    }
}

#[derive(Template)]
#[template(path = "users.html", config = "../../web/templates/askama.toml")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserRow>,
    add: FormState,
    roles: Vec<&'static str>,
}

async fn render(
    ui: &Ui,
    status: StatusCode,
    add: FormState,
    row_error: Option<(String, String)>,
) -> UiResult<Response> {
    let users = ui.app.service.list_users(ui.actor()).await?;
    let rows = users
        .into_iter()
        .map(|u| UserRow {
            me: u.name == ui.actor().name,
            error: row_error
                .as_ref()
                .filter(|(n, _)| *n == u.name)
                .map(|(_, m)| m.clone()),
            role: u.role.to_string(),
            created: when(&u.created_at),
            updated: when(&u.updated_at),
            name: u.name,
        })
        .collect();
    ui.page_with(
        status,
        &UsersPage {
            chrome: ui.chrome("Users", "users"),
            rows,
            add,
            roles: ROLES.to_vec(),
        },
    )
}

fn blank() -> FormState {
    FormState::new(Fields::from_pairs([("role", "viewer")]))
}

/// `GET /users`.
pub async fn page(ui: Ui) -> UiResult<Response> {
    render(&ui, StatusCode::OK, blank(), None).await
}

fn role(text: &str) -> Result<Role, ServiceError> {
    text.parse::<Role>().map_err(|_| {
        ServiceError::invalid(
            "role",
            format!("{text:?} is not a role: viewer, operator or admin"),
        )
    })
}

/// `POST /users`: add a user.
pub async fn create(posted: Posted) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    require(ui.actor(), Role::Admin)?;
    let name = fields.text("name").to_string();
    let result = match role(fields.text("role")) {
        Ok(r) => {
            ui.app
                .service
                .create_user(ui.actor(), &name, fields.get("password").unwrap_or(""), r)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(u) => Ok(ui::redirect(
            "/users",
            Flash::ok(format!("Added user {} ({}).", u.name, u.role)),
        )),
        Err(e) => match field_error(&e) {
            Some(fe) => {
                let mut state = FormState::new(Fields::from_pairs([
                    ("name", name.as_str()),
                    ("role", fields.text("role")),
                ]));
                let inputs: Vec<String> = ADD_INPUTS.iter().map(|s| s.to_string()).collect();
                state.add(fe, &inputs);
                render(&ui, StatusCode::UNPROCESSABLE_ENTITY, state, None).await
            }
            None => Err(e.into()),
        },
    }
}

/// `POST /users/{name}/{role|password|delete}`.
pub async fn action(
    Path((name, action)): Path<(String, String)>,
    posted: Posted,
) -> UiResult<Response> {
    let Posted { ui, fields } = posted;
    require(ui.actor(), Role::Admin)?;
    let result = match action.as_str() {
        "role" => match role(fields.text("role")) {
            Ok(r) => ui
                .app
                .service
                .update_user(ui.actor(), &name, Some(r), None, None)
                .await
                .map(|u| format!("{} is now {}.", u.name, u.role)),
            Err(e) => Err(e),
        },
        "password" => ui
            .app
            .service
            .update_user(
                ui.actor(),
                &name,
                None,
                Some(fields.get("password").unwrap_or("")),
                None,
            )
            .await
            .map(|u| format!("Set a new password for {}.", u.name)),
        "delete" => {
            if fields.text("confirm") != "yes" {
                // Only admins get this far with a form; still, ask the service before offering.
                ui.app.service.get_user(ui.actor(), &name).await?;
                let me = name == ui.actor().name;
                return ui.page(&ConfirmPage {
                    chrome: ui.chrome(format!("Remove {name}?"), "users"),
                    heading: format!("Remove user {name}?"),
                    message: if me {
                        "This is you: you are logged out and cannot log in again.".into()
                    } else {
                        format!("{name} can no longer log in; its open sessions end.")
                    },
                    action: format!("/users/{name}/delete"),
                    fields: Vec::new(),
                    button: "Remove".into(),
                    cancel: "/users".into(),
                });
            }
            ui.app
                .service
                .delete_user(ui.actor(), &name, None)
                .await
                .map(|_| format!("Removed user {name}."))
        }
        other => return Err(UiError::NotFound(format!("no user action {other:?}"))),
    };
    let me = name == ui.actor().name;
    match result {
        // Removed yourself: the session has ended.
        Ok(done) if me && action == "delete" => {
            let mut r = ui::redirect("/login", Flash::ok(done));
            r.headers_mut().append(
                axum::http::header::SET_COOKIE,
                crate::web::session::clear_cookie(crate::web::session::SESSION_COOKIE),
            );
            Ok(r)
        }
        // No longer an admin: this page is no longer yours.
        Ok(done) if me && action == "role" && fields.text("role") != "admin" => {
            Ok(ui::redirect("/", Flash::ok(done)))
        }
        Ok(done) => Ok(ui::redirect("/users", Flash::ok(done))),
        Err(e) => match field_error(&e) {
            Some(FieldError { message, .. }) => {
                render(
                    &ui,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    blank(),
                    Some((name, message)),
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}
