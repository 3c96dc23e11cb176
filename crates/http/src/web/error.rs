//! How the UI answers when a request cannot be served: a redirect to the login page, or an HTML error page
//! with a fitting status (403 for a refused role or a missing CSRF token, 404, 409...).

use super::assets;
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use director_service::ServiceError;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// No valid session: go and log in, then come back to `next`.
    #[error("log in first")]
    LoginRequired { next: String },
    /// A form came without the session's CSRF token.
    #[error("this form is missing its security token, or it belongs to another session: reload the page and try again")]
    Csrf,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// Stale revision or a clash with another object.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
    /// Refused for now (too many failed logins: 429; too busy: 503); try again after `retry_after` seconds.
    #[error("{message}")]
    TryLater {
        status: StatusCode,
        message: String,
        retry_after: u64,
    },
}

pub type UiResult<T> = Result<T, UiError>;

impl From<ServiceError> for UiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unauthenticated(_) => UiError::LoginRequired { next: "/".into() },
            ServiceError::Forbidden(m) => UiError::Forbidden(m),
            ServiceError::NotFound { .. } => UiError::NotFound(e.to_string()),
            ServiceError::Stale { .. }
            | ServiceError::Conflict { .. }
            | ServiceError::ClockSkew { .. } => UiError::Conflict(e.to_string()),
            ServiceError::Invalid { .. } | ServiceError::BadRequest { .. } => {
                UiError::BadRequest(e.to_string())
            }
            ServiceError::TooManyAttempts { .. } | ServiceError::Busy { .. } => UiError::TryLater {
                status: if matches!(e, ServiceError::Busy { .. }) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::TOO_MANY_REQUESTS
                },
                retry_after: e.retry_after().unwrap_or(1),
                message: e.to_string(),
            },
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                tracing::error!(error = %e, "UI request failed");
                UiError::Internal(
                    "the request failed on the server; the log has the details".into(),
                )
            }
        }
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "rendering a page failed");
        UiError::Internal("rendering the page failed; the log has the details".into())
    }
}

#[derive(Template)]
#[template(path = "error.html", config = "../../web/templates/askama.toml")]
struct ErrorPage<'a> {
    status: u16,
    heading: &'a str,
    message: String,
    css: &'static str,
    icon: &'static str,
}

impl UiError {
    fn status(&self) -> (StatusCode, &'static str) {
        match self {
            UiError::LoginRequired { .. } => (StatusCode::UNAUTHORIZED, "Log in first"),
            UiError::Csrf => (StatusCode::FORBIDDEN, "Form refused"),
            UiError::Forbidden(_) => (StatusCode::FORBIDDEN, "Not allowed"),
            UiError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
            UiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Bad request"),
            UiError::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
            UiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Server error"),
            UiError::TryLater { status, .. } => (*status, "Try again later"),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if let UiError::LoginRequired { next } = &self {
            let target = if next == "/" || next.is_empty() {
                "/login".to_string()
            } else {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                format!("/login?next={next}")
            };
            return Redirect::to(&target).into_response();
        }
        let (status, heading) = self.status();
        let page = ErrorPage {
            status: status.as_u16(),
            heading,
            message: self.to_string(),
            css: assets::url("app.css"),
            icon: assets::url("favicon.svg"),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {heading}: {}", status.as_u16(), page.message));
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let UiError::TryLater { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, (*retry_after).into());
        }
        response
    }
}
