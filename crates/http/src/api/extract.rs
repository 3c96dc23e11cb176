//! Request extractors: the caller (bearer token), `If-Match`, and JSON bodies.

use super::error::ApiError;
use super::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use director_service::{bearer_token, parse, Actor, Scope, Via};
use serde_json::Value;

/// The authenticated caller of a `/api/v1` route.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = raw_token(parts)?;
        Ok(Auth(state.service.authenticate(token, Via::Rest).await?))
    }
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message).with_field("Authorization")
}

/// The client's address, from the connection (`ConnectInfo`, which `serve` provides); `None` for a router
/// served without it (tests).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The bearer token of the request, unchecked (for logout, which revokes it).
pub fn raw_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(unauthenticated(
            "a bearer token is required (POST /api/v1/auth/login gives one)",
        ));
    };
    bearer_token(value.as_bytes())
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))
}

/// The bearer token of a request (not checked yet).
pub struct BearerToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        raw_token(parts).map(|t| BearerToken(t.to_string()))
    }
}

/// The revision named by `If-Match`, if any (`*` matches anything).
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let bad = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "If-Match must be an ETag such as \"3\"",
            )
            .with_field("If-Match")
        };
        let text = value.to_str().map_err(|_| bad())?.trim();
        // `*` is any current revision; an empty header is a mistake (a script's unset variable), refused
        // rather than read as no condition.
        if text == "*" {
            return Ok(IfMatch(None));
        }
        // `"3"` or `W/"3"`, the revision written as the ETag writes it (no sign, no leading zero); a bare
        // `3` too, as a hand-typed curl sends it.
        let etag = text.strip_prefix("W/").unwrap_or(text);
        let digits = match etag.strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"'),
            None => Some(etag),
        };
        let digits = digits
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .filter(|d| *d == "0" || !d.starts_with('0'))
            .ok_or_else(bad)?;
        digits
            .parse::<u64>()
            .map(|r| IfMatch(Some(r)))
            .map_err(|_| bad())
    }
}

/// A JSON request body, read with the body limit and checked for its content type.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence != "application/json" && essence != "application/merge-patch+json" {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "the body must be application/json (or application/merge-patch+json for PATCH), not {:?}",
                    if essence.is_empty() { "nothing" } else { essence }
                ),
            )
            .with_field("Content-Type"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the body is larger than the limit",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    rejection.body_text(),
                )
            }
        })?;
        Ok(JsonBody(parse::json_body(&bytes)?))
    }
}

impl JsonBody {
    /// The body as a model object, without the read-only fields a client may have copied from a GET.
    pub fn parse<T: serde::de::DeserializeOwned + serde::Serialize>(self) -> Result<T, ApiError> {
        let mut value = self.0;
        parse::strip_read_only(&mut value);
        Ok(parse::from_json(value)?)
    }

    /// [`JsonBody::parse`] for a write of `scope` by `actor`: the role is judged first, so a caller who may
    /// not make the change gets 403 whatever the body holds (see [`director_service::screen`]).
    pub fn parse_for<T: serde::de::DeserializeOwned + serde::Serialize>(
        self,
        actor: &Actor,
        scope: Scope,
    ) -> Result<T, ApiError> {
        director_service::require(actor, scope.role())?;
        let mut value = self.0;
        parse::strip_read_only(&mut value);
        Ok(parse::from_json(value).map_err(|e| director_service::screen(actor, scope, e))?)
    }
}

/// Query parameters; a bad or unknown parameter is a 400 that names it.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let message = e.inner().to_string();
                let field = message
                    .strip_prefix("unknown field `")
                    .or_else(|| message.strip_prefix("duplicate field `"))
                    .and_then(|r| r.split('`').next())
                    .map(str::to_string)
                    .unwrap_or(field);
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("query: {message}"),
                )
                .with_field(field)
            })
    }
}
