//! The stylesheet, script and icon of the UI, embedded in the binary (nothing is fetched from elsewhere).
//! Their URLs carry a digest of the content, so browsers may cache them for good.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

struct Asset {
    name: &'static str,
    body: &'static [u8],
    content_type: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        name: "app.css",
        body: include_bytes!("../../../../web/static/app.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        name: "app.js",
        body: include_bytes!("../../../../web/static/app.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "favicon.svg",
        body: include_bytes!("../../../../web/static/favicon.svg"),
        content_type: "image/svg+xml",
    },
];

/// FNV-1a, enough to tell versions of a file apart.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The URL of the asset `name` (`/static/app.css?v=…`).
pub fn url(name: &str) -> &'static str {
    static URLS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                (
                    a.name,
                    format!("/static/{}?v={:08x}", a.name, digest(a.body) as u32),
                )
            })
            .collect()
    });
    urls.iter()
        .find(|(n, _)| *n == name)
        .map_or("/static/missing", |(_, u)| u.as_str())
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => {
            let mut r = (StatusCode::OK, a.body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_a_version() {
        assert!(url("app.css").starts_with("/static/app.css?v="));
        assert_eq!(url("nope"), "/static/missing");
    }
}
