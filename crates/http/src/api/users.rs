//! `/api/v1/users` (admin), `/api/v1/auth/login` and `/api/v1/auth/logout`.

use super::error::{ApiResult, ErrorBody};
use super::extract::{Auth, BearerToken, ClientAddr, IfMatch, JsonBody};
use super::{created, with_etag, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use director_core::model::Role;
use director_service::{LoginResult, UserView, Via};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
pub struct NewUser {
    pub name: String,
    /// At least 8 characters.
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
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

/// Failed logins are limited per client address and per user name: beyond the limit the answer is 429 with
/// `Retry-After` until the lockout (which grows with further failures, up to a few minutes) ends. When too
/// many logins run at once the answer is 503 with `Retry-After`.
#[utoipa::path(post, operation_id = "login", path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until the lockout ends"))),
        (status = 503, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before trying again")))))]
pub async fn login(
    State(app): State<AppState>,
    ClientAddr(address): ClientAddr,
    body: JsonBody,
) -> ApiResult<Json<LoginResult>> {
    let req: LoginRequest = body.parse()?;
    Ok(Json(
        app.service
            .login(&req.username, &req.password, Via::Rest, address)
            .await?,
    ))
}

/// Revokes the caller's own token (for REST, gRPC and the UI alike).
#[utoipa::path(post, operation_id = "logout", path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "The token is revoked"), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(
    State(app): State<AppState>,
    ClientAddr(address): ClientAddr,
    BearerToken(token): BearerToken,
) -> ApiResult<StatusCode> {
    app.service.logout(&token, Via::Rest, address).await?;
    Ok(StatusCode::NO_CONTENT)
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
    let new: NewUser = body.parse_for(&actor, director_service::Scope::AdminOnly)?;
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
    let p: UserPatch = body.parse_for(&actor, director_service::Scope::AdminOnly)?;
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
