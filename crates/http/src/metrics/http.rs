//! Counting HTTP requests by route template (never the raw path: `/api/v1/virtual-servers/{name}`, so the
//! number of series stays bounded), method and status, with their durations.

use super::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use director_runtime::histogram::{Histogram, HistogramSnapshot, REQUEST_BUCKETS};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The route label of requests that matched no route (404s of unknown paths).
pub const UNMATCHED: &str = "unmatched";

/// Counters per route template, then per method: one lock per request, no allocation once a route and
/// method have been seen.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    routes: Mutex<HashMap<String, HashMap<&'static str, RouteStats>>>,
}

#[derive(Debug)]
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    durations: Histogram,
}

/// Counters of one route, method and status.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestCount {
    pub route: String,
    pub method: &'static str,
    pub status: u16,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestDurations {
    pub route: String,
    pub method: &'static str,
    pub histogram: HistogramSnapshot,
}

impl HttpMetrics {
    pub fn record(&self, route: &str, method: &Method, status: u16, elapsed: std::time::Duration) {
        let method = method_label(method);
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if !routes.contains_key(route) {
            routes.insert(route.to_string(), HashMap::new());
        }
        let Some(methods) = routes.get_mut(route) else {
            return;
        };
        let stats = methods.entry(method).or_insert_with(|| RouteStats {
            statuses: BTreeMap::new(),
            durations: Histogram::new(REQUEST_BUCKETS),
        });
        *stats.statuses.entry(status).or_default() += 1;
        stats.durations.observe(elapsed);
    }

    /// Sorted by route, method, status.
    pub fn counts(&self) -> Vec<RequestCount> {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<RequestCount> = routes
            .iter()
            .flat_map(|(route, methods)| {
                methods.iter().flat_map(move |(method, stats)| {
                    stats
                        .statuses
                        .iter()
                        .map(move |(status, count)| RequestCount {
                            route: route.clone(),
                            method,
                            status: *status,
                            count: *count,
                        })
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.route, a.method, a.status).cmp(&(&b.route, b.method, b.status)));
        out
    }

    /// Sorted by route, method.
    pub fn durations(&self) -> Vec<RequestDurations> {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<RequestDurations> = routes
            .iter()
            .flat_map(|(route, methods)| {
                methods.iter().map(move |(method, stats)| RequestDurations {
                    route: route.clone(),
                    method,
                    histogram: stats.durations.snapshot(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.route, a.method).cmp(&(&b.route, b.method)));
        out
    }
}

/// Methods as labels; anything unusual is `OTHER`, so that a client cannot create series at will.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`). Applied with `Router::layer`, it runs after
/// routing, so the matched route template is known.
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.to_string());
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.http.record(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let m = HttpMetrics::default();
        m.record("/a/{name}", &Method::GET, 200, Duration::from_millis(2));
        m.record("/a/{name}", &Method::GET, 200, Duration::from_millis(3));
        m.record("/a/{name}", &Method::GET, 404, Duration::from_millis(1));
        m.record(
            "/a/{name}",
            &Method::from_bytes(b"BREW").unwrap(),
            405,
            Duration::ZERO,
        );
        let counts = m.counts();
        let find = |method: &str, status: u16| {
            counts
                .iter()
                .find(|c| c.method == method && c.status == status)
                .map(|c| c.count)
        };
        assert_eq!(find("GET", 200), Some(2));
        assert_eq!(find("GET", 404), Some(1));
        assert_eq!(find("OTHER", 405), Some(1));
        let d = m.durations();
        assert_eq!(d.len(), 2);
        assert_eq!(
            d.iter()
                .find(|d| d.method == "GET")
                .map(|d| d.histogram.count),
            Some(3)
        );
    }
}
