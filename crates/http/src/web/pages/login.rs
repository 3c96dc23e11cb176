//! `/login` and `/logout`. The login form's CSRF token is keyed with a random nonce in a short-lived cookie
//! (there is no session yet); a successful login sets the session cookie and goes where the user was going.

use crate::api::ClientAddr;
use crate::state::AppState;
use crate::web::error::{UiError, UiResult};
use crate::web::form::Fields;
use crate::web::session::{self, Flash, LOGIN_COOKIE, SESSION_COOKIE};
use crate::web::ui::{self, Chrome, Posted, Ui};
use crate::web::{assets, csrf};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use director_service::{ServiceError, Via};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html", config = "../../web/templates/askama.toml")]
struct LoginPage {
    node: String,
    csrf: String,
    username: String,
    next: String,
    error: Option<String>,
    flash: Option<Flash>,
    css: &'static str,
    icon: &'static str,
}

#[derive(Template)]
#[template(path = "logout.html", config = "../../web/templates/askama.toml")]
struct LogoutPage {
    chrome: Chrome,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths of this site: no scheme, no `//host`, no backslashes.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn login_page(
    status: StatusCode,
    app: &AppState,
    nonce: &str,
    username: &str,
    next: &str,
    error: Option<String>,
    flash: Option<Flash>,
) -> UiResult<Response> {
    let page = LoginPage {
        node: app.runtime.node.clone(),
        csrf: csrf::token(nonce),
        username: username.to_string(),
        next: next.to_string(),
        error,
        flash: flash.clone(),
        css: assets::url("app.css"),
        icon: assets::url("favicon.svg"),
    };
    let mut r = ui::html(status, &page)?;
    if flash.is_some() {
        r.headers_mut().append(
            header::SET_COOKIE,
            session::clear_cookie(session::FLASH_COOKIE),
        );
    }
    Ok(r)
}

/// `GET /login`: the form (or straight on, with a valid session).
pub async fn form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> UiResult<Response> {
    let next = safe_next(q.next.as_deref());
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        if app
            .service
            .authenticate(&token, director_service::Via::Ui)
            .await
            .is_ok()
        {
            return Ok(Redirect::to(&next).into_response());
        }
    }
    let (nonce, fresh) = match session::cookie(&headers, LOGIN_COOKIE) {
        Some(n) => (n, false),
        None => (session::nonce(), true),
    };
    let mut r = login_page(
        StatusCode::OK,
        &app,
        &nonce,
        "",
        &next,
        None,
        Flash::read(&headers),
    )?;
    if fresh {
        r.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(LOGIN_COOKIE, &nonce, Some(3600)),
        );
    }
    Ok(r)
}

/// `POST /login`.
pub async fn submit(
    State(app): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> UiResult<Response> {
    let f = Fields::parse(&body);
    let next = safe_next(f.get("next"));
    let nonce = session::cookie(&headers, LOGIN_COOKIE).ok_or(UiError::Csrf)?;
    if !f.get(csrf::FIELD).is_some_and(|t| csrf::verify(&nonce, t)) {
        return Err(UiError::Csrf);
    }
    let username = f.text("username");
    match app
        .service
        .login(username, f.get("password").unwrap_or(""), Via::Ui, address)
        .await
    {
        Ok(login) => {
            let ttl = chrono::DateTime::parse_from_rfc3339(&login.expires_at)
                .map(|t| t.timestamp() - chrono::Utc::now().timestamp())
                .ok();
            let mut r = Redirect::to(&next).into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                session::set_cookie(SESSION_COOKIE, &login.token, ttl),
            );
            h.append(header::SET_COOKIE, session::clear_cookie(LOGIN_COOKIE));
            Ok(r)
        }
        Err(ServiceError::Unauthenticated(_)) => login_page(
            StatusCode::UNAUTHORIZED,
            &app,
            &nonce,
            username,
            &next,
            Some("Wrong user name or password.".into()),
            None,
        ),
        Err(e @ (ServiceError::TooManyAttempts { .. } | ServiceError::Busy { .. })) => {
            let status = if matches!(e, ServiceError::Busy { .. }) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            let mut r = login_page(
                status,
                &app,
                &nonce,
                username,
                &next,
                Some(format!("{}.", capitalized(&e.to_string()))),
                None,
            )?;
            r.headers_mut()
                .insert(header::RETRY_AFTER, e.retry_after().unwrap_or(1).into());
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `GET /logout`: a page with the logout button (logging out is a POST).
pub async fn logout_page(ui: Ui) -> UiResult<Response> {
    ui.page(&LogoutPage {
        chrome: ui.chrome("Log out", ""),
    })
}

/// `POST /logout`: revokes the session's token (as `POST /api/v1/auth/logout` does) and forgets the cookie.
pub async fn logout(ClientAddr(address): ClientAddr, posted: Posted) -> UiResult<Response> {
    let ui = posted.ui;
    ui.app
        .service
        .logout(ui.session.token(), Via::Ui, address)
        .await?;
    let mut r = ui::redirect("/login", Flash::ok("You are logged out."));
    r.headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(SESSION_COOKIE));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/virtual-servers/web")),
            "/virtual-servers/web"
        );
        assert_eq!(safe_next(Some("//evil.example/x")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login?next=/")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
