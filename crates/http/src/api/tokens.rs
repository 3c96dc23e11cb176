//! `/api/v1/tokens` (admin): the tokens this node issued, and their revocation.

use super::error::{ApiResult, ErrorBody};
use super::extract::Auth;
use super::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use director_service::TokenView;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// The tokens that have not expired (revoked ones included), newest first; at most 1000.
    pub items: Vec<TokenView>,
}

#[utoipa::path(get, operation_id = "listTokens", path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(app): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<TokenList>> {
    Ok(Json(TokenList {
        items: app.service.list_tokens(&actor).await?,
    }))
}

#[utoipa::path(get, operation_id = "getToken", path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 200, body = TokenView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenView>> {
    Ok(Json(app.service.get_token(&actor, &id).await?))
}

/// Revokes the token: refused from now on (its record stays, with `revoked_at` and `revoked_by`). Revoking a
/// revoked token changes nothing.
#[utoipa::path(delete, operation_id = "revokeToken", path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204, description = "The token is revoked"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.service.revoke_token(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
