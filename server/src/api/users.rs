//! `/api/v1/users` (admin) and `/api/v1/auth/login`.

use super::error::{ApiResult, ErrorBody};
use super::extract::{Auth, IfMatch, JsonBody};
use super::{created, with_etag, AppState};
use crate::service::{LoginResult, UserView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use director_core::model::Role;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    pub name: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatch {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
}

#[utoipa::path(post, operation_id = "login", path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResult), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn login(State(app): State<AppState>, body: JsonBody) -> ApiResult<Json<LoginResult>> {
    let req: LoginRequest = body.parse()?;
    Ok(Json(app.service.login(&req.username, &req.password).await?))
}

#[utoipa::path(get, operation_id = "listUsers", path = "/api/v1/users", tag = "users",
    responses((status = 200, body = UserList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<UserList>> {
    Ok(Json(UserList {
        items: app.service.list_users(&actor).await?,
    }))
}

#[utoipa::path(post, operation_id = "createUser", path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    body: JsonBody,
) -> ApiResult<Response> {
    let new: NewUser = body.parse()?;
    let user = app
        .service
        .create_user(&actor, &new.name, &new.password, new.role)
        .await?;
    Ok(created(
        &format!("/api/v1/users/{}", user.name),
        user.revision as u64,
        &user,
    ))
}

#[utoipa::path(get, operation_id = "getUser", path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let user = app.service.get_user(&actor, &name).await?;
    Ok(with_etag(user.revision as u64, &user))
}

#[utoipa::path(patch, operation_id = "patchUser", path = "/api/v1/users/{name}", tag = "users", request_body = UserPatch,
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    IfMatch(if_match): IfMatch,
    body: JsonBody,
) -> ApiResult<Response> {
    let p: UserPatch = body.parse()?;
    let user = app
        .service
        .update_user(&actor, &name, p.role, p.password.as_deref(), if_match)
        .await?;
    Ok(with_etag(user.revision as u64, &user))
}

#[utoipa::path(delete, operation_id = "deleteUser", path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(name): Path<String>,
    IfMatch(if_match): IfMatch,
) -> ApiResult<StatusCode> {
    app.service.delete_user(&actor, &name, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
