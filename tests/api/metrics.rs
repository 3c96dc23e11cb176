//! `GET /metrics`: a Prometheus scrape of a daemon reconciling the in-memory dataplane, after known changes
//! (create, weight patch, disable, a dead real server). The whole text is also checked against the
//! exposition format (0.0.4) by a strict parser.

use director_tests::{Daemon, DaemonOptions};
use reqwest::Method;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One series: name and labels (sorted by name).
type Series = (String, BTreeMap<String, String>);

/// A scrape, parsed.
struct Scrape {
    samples: BTreeMap<Series, f64>,
    /// Family name -> type.
    types: BTreeMap<String, String>,
    text: String,
}

impl Scrape {
    /// The value of the one series of `name` with these labels (others may exist: extra labels ignored).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|((n, l), _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| *v)
            .collect();
        assert!(
            found.len() <= 1,
            "{name} {labels:?} matches {} series:\n{}",
            found.len(),
            self.text
        );
        found.first().copied()
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {name} {labels:?} in:\n{}", self.text))
    }
}

fn valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

/// `{a="x",b="y\"z"}` (after the name) -> labels and the rest of the line.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let Some(mut rest) = s.strip_prefix('{') else {
        return Ok((labels, s));
    };
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value without opening quote")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("raw line feed in a label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected , or } after a label".into());
        }
    }
}

/// A strict reading of the text format: every line a HELP, a TYPE or a sample; HELP and TYPE at most once
/// per family and before its samples; a family's samples together; names and labels well formed; no series
/// twice; counters named `*_total`; histogram buckets cumulative, ending with `+Inf` equal to `_count`.
fn parse(text: &str) -> Result<Scrape, String> {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut done = BTreeSet::new();
    let mut current: Option<String> = None;
    if !text.ends_with('\n') {
        return Err("the text must end with a line feed".into());
    }
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !valid_metric_name(name) {
                return Err(at(format!("bad family name {name:?}")));
            }
            if current.as_deref() != Some(name) {
                if let Some(c) = current.take() {
                    done.insert(c);
                }
                if done.contains(name) {
                    return Err(at(format!("family {name} appears twice")));
                }
                current = Some(name.to_string());
            }
            match keyword {
                "HELP" => {
                    if !helps.insert(name.to_string()) {
                        return Err(at("HELP twice".into()));
                    }
                }
                "TYPE" => {
                    let kind = parts.next().unwrap_or("");
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(format!("bad type {kind:?}")));
                    }
                    if kind == "counter" && !name.ends_with("_total") {
                        return Err(at("a counter's name must end with _total".into()));
                    }
                    if types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(at("TYPE twice".into()));
                    }
                }
                _ => return Err(at("a comment that is neither HELP nor TYPE".into())),
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            return Err(at("empty line or stray comment".into()));
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        let (labels, rest) = parse_labels(&line[name_end..]).map_err(at)?;
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before the value".into()))?;
        if value.contains(' ') {
            return Err(at("timestamps are not expected".into()));
        }
        let value = parse_value(value).map_err(at)?;
        let family = current
            .as_deref()
            .ok_or_else(|| at("a sample before any TYPE".into()))?;
        let kind = types
            .get(family)
            .ok_or_else(|| at(format!("sample of {family} before its TYPE")))?;
        let ok_name = match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| name == format!("{family}{s}")),
            _ => name == family,
        };
        if !ok_name {
            return Err(at(format!("sample {name} inside family {family}")));
        }
        if name.ends_with("_bucket") != labels.contains_key("le") {
            return Err(at("le goes with _bucket and only there".into()));
        }
        if samples.insert((name.to_string(), labels), value).is_some() {
            return Err(at("the same series twice".into()));
        }
    }
    // Histograms: cumulative buckets, +Inf = _count.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let bucket = format!("{family}_bucket");
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for ((n, labels), v) in &samples {
            if *n == bucket {
                let mut l = labels.clone();
                let le = parse_value(&l.remove("le").unwrap_or_default())?;
                series.entry(l).or_default().push((le, *v));
            }
        }
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
                return Err(format!("{family} {labels:?}: buckets not cumulative"));
            }
            let last = buckets.last().copied().unwrap_or((0.0, 0.0));
            let count = samples.get(&(format!("{family}_count"), labels.clone()));
            if last.0 != f64::INFINITY || Some(&last.1) != count {
                return Err(format!(
                    "{family} {labels:?}: +Inf bucket must equal _count"
                ));
            }
        }
    }
    Ok(Scrape {
        samples,
        types,
        text: text.to_string(),
    })
}

async fn scrape(d: &Daemon) -> Scrape {
    let r = d
        .http
        .get(d.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(r.status(), 200);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        ct.starts_with("text/plain") && ct.contains("version=0.0.4"),
        "content type {ct:?}"
    );
    let text = r.text().await.expect("body");
    parse(&text).unwrap_or_else(|e| panic!("not the Prometheus text format: {e}\n{text}"))
}

#[test]
fn the_strict_parser_refuses_what_prometheus_refuses() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\\\"\"} 3\n";
    assert!(parse(good).is_ok());
    for bad in [
        "a_total 3\n",                                     // no TYPE
        "# TYPE a_total counter\na_total 3\na_total 4\n",  // duplicate series
        "# TYPE a gauge\na{x=\"1} 3\n",                    // unterminated
        "# TYPE a gauge\na 3\n# TYPE b gauge\nb 1\na 2\n", // family split
        "# TYPE a gauge\n# TYPE a gauge\n",                // TYPE twice
        "# TYPE a counter\na 1\n",                         // counter without _total
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", // not cumulative
        "# TYPE a gauge\na 3",             // no final line feed
        "# TYPE a gauge\na{1x=\"1\"} 3\n", // bad label name
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}

/// The labels node_exporter gives a backend of `web` (10.0.0.1:80/tcp), plus the virtual server.
fn backend(port: &str) -> [(&'static str, &str); 7] {
    [
        ("local_address", "10.0.0.1"),
        ("local_port", "80"),
        ("remote_address", "127.0.0.1"),
        ("remote_port", port),
        ("proto", "TCP"),
        ("local_mark", ""),
        ("virtual_server", "web"),
    ]
}

/// The labels of a real server of `web`.
fn rsl(real_server: &str) -> [(&'static str, &str); 2] {
    [("virtual_server", "web"), ("real_server", real_server)]
}

/// Scrapes until `ok` holds (the reconciler and the checker work in the background).
async fn scrape_until(d: &Daemon, what: &str, ok: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let s = scrape(d).await;
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached in:\n{}",
            s.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_follow_weights_health_reconciles_and_requests() {
    let d = Daemon::start_with(DaemonOptions {
        dataplane: Some("memory".into()),
        ..Default::default()
    })
    .await;
    let live = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (a, c) = (
        live.local_addr().unwrap().port().to_string(),
        other.local_addr().unwrap().port().to_string(),
    );
    let b = director_tests::free_port().to_string();
    let web = json!({"name": "web", "protocol": "tcp", "address": "10.0.0.1", "port": 80, "forwarding": "nat",
        "scheduler": "wrr",
        "health_check": {"type": "tcp", "interval_ms": 200, "timeout_ms": 150, "rise": 1, "fall": 1},
        "real_servers": [{"address": "127.0.0.1", "port": a.parse::<u16>().unwrap(), "weight": 3},
                         {"address": "127.0.0.1", "port": b.parse::<u16>().unwrap(), "weight": 2},
                         {"address": "127.0.0.1", "port": c.parse::<u16>().unwrap(), "weight": 1}]});
    let (status, body) = d
        .call(Method::POST, "/api/v1/virtual-servers", Some(web))
        .await;
    assert_eq!(status, 201, "{body}");
    let rs = |port: &str| format!("/api/v1/virtual-servers/web/real-servers/127.0.0.1:{port}");
    // The first pass programs A with its first weight; the patch is then one SET_DEST.
    scrape_until(&d, "A in the kernel with weight 3", |s| {
        s.get("director_ipvs_backend_weight", &backend(&a)) == Some(3.0)
    })
    .await;
    let (status, body) = d
        .call(Method::PATCH, &rs(&a), Some(json!({"weight": 7})))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = d
        .call(Method::PATCH, &rs(&c), Some(json!({"enabled": false})))
        .await;
    assert_eq!(status, 200, "{body}");
    // An unknown path: counted under one route label, never under the raw path.
    let r = d.http.get(d.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let web_rs = |port: &str| format!("127.0.0.1:{port}");
    let (ra, rb, rc) = (web_rs(&a), web_rs(&b), web_rs(&c));
    let s = scrape_until(&d, "A with weight 7, B checked down, all applied", |s| {
        s.get("director_ipvs_backend_weight", &backend(&a)) == Some(7.0)
            && s.get(
                "director_real_server_health",
                &[("real_server", &rb), ("state", "down")],
            ) == Some(1.0)
            && s.get("director_applied_revision", &[]) == s.get("director_desired_revision", &[])
    })
    .await;

    // Desired and effective weights, enablement, health.
    let weight = |r: &str| s.value("director_real_server_weight", &rsl(r));
    let effective = |r: &str| s.value("director_real_server_effective_weight", &rsl(r));
    let enabled = |r: &str| s.value("director_real_server_enabled", &rsl(r));
    assert_eq!((weight(&ra), effective(&ra), enabled(&ra)), (7.0, 7.0, 1.0));
    assert_eq!(
        (weight(&rb), effective(&rb), enabled(&rb)),
        (2.0, 0.0, 1.0),
        "a down server programs nothing"
    );
    assert_eq!(
        (weight(&rc), effective(&rc), enabled(&rc)),
        (1.0, 0.0, 0.0),
        "a disabled server programs nothing"
    );
    assert_eq!(
        s.value(
            "director_virtual_server_enabled",
            &[("virtual_server", "web")]
        ),
        1.0
    );
    let health = |r: &str, st: &str| {
        s.value(
            "director_real_server_health",
            &[("real_server", r), ("state", st)],
        )
    };
    assert_eq!(
        (
            health(&ra, "up"),
            health(&ra, "down"),
            health(&ra, "unknown")
        ),
        (1.0, 0.0, 0.0)
    );
    assert_eq!((health(&rb, "up"), health(&rb, "down")), (0.0, 1.0));
    let latency = s.value("director_health_check_latency_seconds", &rsl(&ra));
    assert!((0.0..1.0).contains(&latency), "latency {latency}");
    assert!(s.value("director_health_checks_total", &rsl(&ra)) >= 1.0);
    assert!(s.value("director_health_check_failures_total", &[]) >= 1.0);

    // The kernel table, node_exporter's way: the dead and the disabled servers are not in it.
    assert_eq!(
        s.value("director_ipvs_backend_connections_active", &backend(&a)),
        0.0
    );
    assert_eq!(
        s.value("director_ipvs_backend_connections_inactive", &backend(&a)),
        0.0
    );
    assert_eq!(
        s.value("director_ipvs_backend_connections_total", &backend(&a)),
        0.0
    );
    let in_kernel: Vec<&String> = s
        .samples
        .keys()
        .filter(|(n, _)| n == "director_ipvs_backend_weight")
        .filter_map(|(_, l)| l.get("remote_port"))
        .collect();
    assert_eq!(in_kernel, vec![&a], "only A is programmed");
    assert_eq!(s.value("director_ipvs_connections_total", &[]), 0.0);
    assert_eq!(
        s.value(
            "director_ipvs_service_incoming_bytes_total",
            &[
                ("local_address", "10.0.0.1"),
                ("proto", "TCP"),
                ("virtual_server", "web")
            ]
        ),
        0.0
    );
    assert_eq!(s.value("director_dataplane_up", &[]), 1.0);

    // The reconciler: passes, their durations, operations by kind.
    let passes = s.value("director_reconcile_passes_total", &[]);
    assert!(passes >= 1.0);
    assert!(s.value("director_reconcile_pass_duration_seconds_count", &[]) >= passes);
    assert_eq!(
        s.types["director_reconcile_pass_duration_seconds"],
        "histogram"
    );
    assert!(
        s.value(
            "director_reconcile_operations_total",
            &[("op", "new_service")]
        ) >= 1.0
    );
    assert!(
        s.value("director_reconcile_operations_total", &[("op", "set_dest")]) >= 1.0,
        "the weight patch is a SET_DEST"
    );
    assert_eq!(s.value("director_reconcile_errors_total", &[]), 0.0);

    // Revisions, build info.
    let status = d.get("/api/v1/status").await;
    assert_eq!(
        s.value("director_desired_revision", &[]),
        status["revision"].as_u64().unwrap() as f64
    );
    assert_eq!(
        s.value("director_applied_revision", &[]),
        s.value("director_desired_revision", &[])
    );
    assert_eq!(
        s.value(
            "director_build_info",
            &[
                ("node", "test-node"),
                ("version", env!("CARGO_PKG_VERSION"))
            ]
        ),
        1.0
    );
    assert_eq!(
        s.value("director_dataplane_info", &[("active", "memory")]),
        1.0
    );

    // API requests by route template and status.
    let requests = |route: &str, method: &str, status: &str| {
        s.get(
            "director_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(
        requests("/api/v1/virtual-servers", "POST", "201"),
        Some(1.0)
    );
    assert_eq!(
        requests(
            "/api/v1/virtual-servers/{name}/real-servers/{endpoint}",
            "PATCH",
            "200"
        ),
        Some(2.0)
    );
    assert_eq!(requests("unmatched", "GET", "404"), Some(1.0));
    assert!(
        !s.text.contains("/no/such/page") && !s.text.contains(&format!("127.0.0.1:{a}\",method")),
        "raw paths never become labels"
    );
    assert!(
        s.value(
            "director_http_request_duration_seconds_count",
            &[("route", "/api/v1/virtual-servers"), ("method", "POST")]
        ) >= 1.0
    );

    // VRRP is off and no peer sync reports: the families are declared, empty.
    for family in [
        "director_vrrp_role",
        "director_sync_peer_up",
        "director_sync_peer_lag_seconds",
    ] {
        assert!(s.types.contains_key(family), "{family} declared");
        assert!(
            !s.samples.keys().any(|(n, _)| n == family),
            "{family} has no series"
        );
    }

    // A later scrape sees the request counter of the previous one.
    let before = requests("/metrics", "GET", "200").unwrap_or(0.0);
    let again = scrape(&d).await;
    assert!(
        again.value(
            "director_http_requests_total",
            &[("route", "/metrics"), ("method", "GET"), ("status", "200")]
        ) > before
    );
    drop((live, other));
}

#[tokio::test]
async fn metrics_can_require_a_token_or_be_turned_off() {
    let d = Daemon::start_with(DaemonOptions {
        extra_args: vec!["--metrics".into(), "token".into()],
        ..Default::default()
    })
    .await;
    let r = d.http.get(d.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401, "no token");
    let viewer = d.token_for("viewer").await;
    let r = d
        .req(Method::GET, "/metrics", "not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a bad token");
    let r = d
        .req(Method::GET, "/metrics", &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a viewer's token");
    let text = r.text().await.unwrap();
    parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // Without a dataplane the kernel and reconciler families have no per-server samples, and their totals
    // read 0 (an alert sees a value, not an absence).
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("director_ipvs_backend_weight{")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "director_dataplane_up 0"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "director_reconcile_errors_total 0"),
        "{text}"
    );
    assert!(text.contains("director_dataplane_info{requested=\"none\",active=\"none\"} 1"));

    let off = Daemon::start_with(DaemonOptions {
        env: vec![("DIRECTOR_METRICS".into(), "off".into())],
        ..Default::default()
    })
    .await;
    let r = off
        .req(Method::GET, "/metrics", &off.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "--metrics off");
}
