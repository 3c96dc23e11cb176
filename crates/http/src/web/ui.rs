//! What every page handler starts from: the session ([`Ui`] for pages, [`Posted`] for forms, which also
//! checks the CSRF token), the page chrome (navigation, the user, the dataplane banner, the flash message),
//! and the rendering of a template into a response.

use super::error::{UiError, UiResult};
use super::form::Fields;
use super::session::{self, Flash, SESSION_COOKIE};
use super::{assets, csrf};
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use director_core::model::Role;
use director_service::{Actor, ServiceError, Via};

/// The warning shown on every page when the dataplane is not IPVS.
#[derive(Debug, Clone)]
pub struct Banner {
    pub title: String,
    pub detail: String,
}

/// The parts of the layout every page shares.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    /// The navigation entry of the page: dashboard, virtual-servers, hosts, vrrp-groups, audit, users.
    pub nav: &'static str,
    pub user: String,
    pub role: Role,
    pub operator: bool,
    pub admin: bool,
    /// The CSRF token of the session, for the hidden field of every form.
    pub csrf: String,
    pub node: String,
    pub banner: Option<Banner>,
    pub flash: Option<Flash>,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
}

/// The dataplane banner, if the node runs without IPVS.
pub fn banner(app: &AppState) -> Option<Banner> {
    let dp = &app.runtime.dataplane;
    match dp.active.as_str() {
        "ipvs" => None,
        "memory" => Some(Banner {
            title: "In-memory dataplane: the kernel is not programmed.".into(),
            detail: dp.detail.clone(),
        }),
        _ => Some(Banner {
            title: "No dataplane: this node does not program IPVS.".into(),
            detail: dp.detail.clone(),
        }),
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    token: String,
    pub csrf: String,
}

impl Session {
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn operator(&self) -> bool {
        self.actor.role >= Role::Operator
    }

    pub fn admin(&self) -> bool {
        self.actor.role >= Role::Admin
    }
}

/// `/path?query` of a request, to come back to after logging in.
fn here(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string())
}

async fn session(parts: &Parts, app: &AppState) -> UiResult<Session> {
    let login = || UiError::LoginRequired { next: here(parts) };
    let token = session::cookie(&parts.headers, SESSION_COOKIE).ok_or_else(login)?;
    let actor = match app.service.authenticate(&token, Via::Ui).await {
        Ok(a) => a,
        Err(ServiceError::Unauthenticated(_)) => return Err(login()),
        Err(e) => return Err(e.into()),
    };
    Ok(Session {
        csrf: csrf::token(&token),
        actor,
        token,
    })
}

/// The context of a page: the app, the session and the flash message the request carries.
pub struct Ui {
    pub app: AppState,
    pub session: Session,
    pub flash: Option<Flash>,
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> UiResult<Self> {
        let session = session(parts, app).await?;
        Ok(Ui {
            app: app.clone(),
            session,
            flash: Flash::read(&parts.headers),
        })
    }
}

impl Ui {
    pub fn actor(&self) -> &Actor {
        &self.session.actor
    }

    pub fn chrome(&self, title: impl Into<String>, nav: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            nav,
            user: self.session.actor.name.clone(),
            role: self.session.actor.role,
            operator: self.session.operator(),
            admin: self.session.admin(),
            csrf: self.session.csrf.clone(),
            node: self.app.runtime.node.clone(),
            banner: banner(&self.app),
            flash: self.flash.clone(),
            css: assets::url("app.css"),
            js: assets::url("app.js"),
            icon: assets::url("favicon.svg"),
        }
    }

    /// Renders a page (200), consuming the flash message.
    pub fn page<T: Template>(&self, template: &T) -> UiResult<Response> {
        self.page_with(StatusCode::OK, template)
    }

    pub fn page_with<T: Template>(&self, status: StatusCode, template: &T) -> UiResult<Response> {
        let mut r = html(status, template)?;
        if self.flash.is_some() {
            r.headers_mut().append(
                header::SET_COOKIE,
                session::clear_cookie(session::FLASH_COOKIE),
            );
        }
        Ok(r)
    }
}

/// A posted form of a logged-in user whose CSRF token matched.
pub struct Posted {
    pub ui: Ui,
    pub fields: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = UiError;

    async fn from_request(req: Request, app: &AppState) -> UiResult<Self> {
        let (mut parts, body) = req.into_parts();
        let ui = Ui::from_request_parts(&mut parts, app).await?;
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, app)
            .await
            .map_err(|e| UiError::BadRequest(format!("reading the form: {e}")))?;
        let fields = Fields::parse(&bytes);
        match fields.get(csrf::FIELD) {
            Some(t) if csrf::verify(ui.session.token(), t) => Ok(Posted { ui, fields }),
            _ => {
                tracing::warn!(user = %ui.session.actor.name, "UI form refused: missing or wrong CSRF token");
                Err(UiError::Csrf)
            }
        }
    }
}

/// A template as an HTML response.
pub fn html<T: Template>(status: StatusCode, template: &T) -> UiResult<Response> {
    let body = template.render()?;
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(r)
}

/// 303 to `location` with a message for the next page.
pub fn redirect(location: &str, flash: Flash) -> Response {
    let mut r = Redirect::to(location).into_response();
    r.headers_mut().append(header::SET_COOKIE, flash.cookie());
    r
}

/// Security headers of every UI response: no framing, no sniffing, only our own scripts and styles, and
/// pages are not cached (they show live state and carry CSRF tokens).
pub async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::CACHE_CONTROL, "no-store");
    r
}

/// `3 s ago`, `5 min ago`, `2 h ago`, `4 d ago` for an RFC 3339 time; empty when it cannot be read.
pub fn ago(at: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(at) else {
        return String::new();
    };
    let s = (now - t.with_timezone(&chrono::Utc)).num_seconds();
    match s {
        s if s < 0 => "just now".into(),
        s if s < 90 => format!("{s} s ago"),
        s if s < 90 * 60 => format!("{} min ago", s / 60),
        s if s < 36 * 3600 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86400),
    }
}

/// An RFC 3339 time as `2026-11-21 22:00:05 UTC`.
pub fn when(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => at.to_string(),
    }
}

/// A duration in seconds as `3 d 4 h`, `5 h 2 min`, `12 min`, `40 s`.
pub fn span(seconds: u64) -> String {
    let (d, h, m) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T22:10:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(ago("2026-11-21T22:09:30.500Z", now), "29 s ago");
        assert_eq!(ago("2026-11-21T21:00:00Z", now), "70 min ago");
        assert_eq!(ago("2026-11-19T22:10:00Z", now), "2 d ago");
        assert_eq!(ago("garbage", now), "");
        assert_eq!(when("2026-11-21T22:09:30.500Z"), "2026-11-21 22:09:30 UTC");
        assert_eq!(span(40), "40 s");
        assert_eq!(span(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(span(2 * 86400 + 5 * 3600), "2 d 5 h");
    }
}
