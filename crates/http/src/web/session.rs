//! The browser session: the session token (the JWT `service.login` issues) in an HttpOnly, SameSite=Strict
//! cookie; a pre-login nonce cookie that keys the login form's CSRF token; a flash-message cookie for
//! POST-redirect-GET. Logging out revokes the token in the service (`Service::logout`), as REST and gRPC do.

use axum::http::{header, HeaderMap, HeaderValue};

pub const SESSION_COOKIE: &str = "director_session";
pub const LOGIN_COOKIE: &str = "director_login";
pub const FLASH_COOKIE: &str = "director_flash";

/// The value of the cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site; `max_age` 0 deletes it, `None`
/// makes it last until the browser closes.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age
        .map(|a| format!("; Max-Age={}", a.max(0)))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("director_invalid=; Path=/; Max-Age=0"))
}

/// Under TLS, for every response: each cookie gets `Secure` (the browser sends it over HTTPS only), and the
/// browser is told to come back over HTTPS only (`Strict-Transport-Security`).
pub async fn under_tls(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(secure)
        .collect();
    if !cookies.is_empty() {
        headers.remove(header::SET_COOKIE);
        for c in cookies {
            headers.append(header::SET_COOKIE, c);
        }
    }
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    response
}

fn secure(cookie: &HeaderValue) -> HeaderValue {
    let text = cookie.to_str().unwrap_or_default();
    if text.is_empty()
        || text
            .split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("secure"))
    {
        return cookie.clone();
    }
    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| cookie.clone())
}

/// Deletes the cookie `name`.
pub fn clear_cookie(name: &str) -> HeaderValue {
    set_cookie(name, "", Some(0))
}

/// A fresh random value for a cookie (32 bytes, base64url).
pub fn nonce() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A one-time message shown on the page a form redirects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// `ok` or `error` (a CSS class).
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Flash {
            kind: "ok",
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Flash {
            kind: "error",
            text: text.into(),
        }
    }

    /// The cookie carrying it to the next page.
    pub fn cookie(&self) -> HeaderValue {
        let text: String = form_urlencoded::byte_serialize(self.text.as_bytes()).collect();
        set_cookie(FLASH_COOKIE, &format!("{}.{text}", self.kind), Some(60))
    }

    /// The message a request carries, if any.
    pub fn read(headers: &HeaderMap) -> Option<Flash> {
        let value = cookie(headers, FLASH_COOKIE)?;
        let (kind, text) = value.split_once('.')?;
        let kind = match kind {
            "ok" => "ok",
            _ => "error",
        };
        let text: String = form_urlencoded::parse(format!("t={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let text: String = text.chars().take(300).collect();
        (!text.is_empty()).then_some(Flash { kind, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie_header: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(cookie_header).unwrap(),
        );
        h
    }

    #[test]
    fn cookies_become_secure_once() {
        let c = set_cookie(SESSION_COOKIE, "tok", Some(3600));
        let s = secure(&c);
        assert_eq!(
            s.to_str().unwrap(),
            "director_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure"
        );
        assert_eq!(secure(&s), s);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = headers("a=1; director_session=abc.def.ghi; b=");
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc.def.ghi"));
        assert_eq!(cookie(&h, "b"), None);
        assert_eq!(cookie(&h, "missing"), None);
        let set = set_cookie(SESSION_COOKIE, "tok", Some(3600));
        assert_eq!(
            set.to_str().unwrap(),
            "director_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600"
        );
    }

    #[test]
    fn a_flash_survives_the_cookie_round_trip() {
        let f = Flash::ok("Weight of 10.0.0.1:80 set to 5; ok?");
        let set = f.cookie();
        let value = set.to_str().unwrap().split(';').next().unwrap().to_string();
        assert_eq!(Flash::read(&headers(&value)), Some(f));
        assert_eq!(Flash::read(&headers("director_flash=garbage")), None);
    }
}
