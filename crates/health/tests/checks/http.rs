//! http checks against a server whose answer the tests switch.

use crate::support::*;
use director_core::model::CheckKind;
use director_health::checker::http::md5_hex;
use director_health::Status;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_503_is_down_and_200_is_up_again() {
    let server = HttpServer::start(Reply::ok("fine\n")).await;
    let t = target(server.port, check(CheckKind::Http));
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    server.set(Reply::status(503));
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("status 503"));
    server.set(Reply::ok("fine again\n"));
    wait_status(&engine, &t.id, Status::Up).await;
    // The default request: GET / over HTTP/1.1, Host is the address and port, the connection closed.
    let seen = server.seen();
    let first = &seen[0];
    assert_eq!(first.request_line, "GET / HTTP/1.1");
    assert_eq!(
        first.host.as_deref(),
        Some(format!("127.0.0.1:{}", server.port).as_str())
    );
    assert_eq!(first.connection.as_deref(), Some("close"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_codes_accept_lists_and_ranges() {
    let server = HttpServer::start(Reply::status(302)).await;
    let mut hc = check(CheckKind::Http);
    hc.status_codes = Some(vec!["200".into(), "300-399".into()]);
    let listed = target(server.port, hc);
    // The default, 200-299, refuses a redirect.
    let default =
        director_health::Target::new("api", LOCALHOST, server.port, check(CheckKind::Http));
    let engine = engine();
    engine.set_targets(vec![listed.clone(), default.clone()]);
    wait_status(&engine, &listed.id, Status::Up).await;
    let s = wait_status(&engine, &default.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("status 302"));

    server.set(Reply::status(204));
    wait_status(&engine, &default.id, Status::Up).await;
    let s = wait_status(&engine, &listed.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("status 204"));
    server.set(Reply::status(404));
    let s = wait_for(&engine, &default.id, "failing with 404", |s| {
        s.status == Status::Down
    })
    .await;
    assert_eq!(s.last_error.as_deref(), Some("status 404"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_of_the_body_as_genhash_prints_it() {
    let body = "<html>healthy</html>\n";
    let server = HttpServer::start(Reply::ok(body)).await;
    let mut hc = check(CheckKind::Http);
    hc.path = Some("/health.html".into());
    hc.digest = Some(md5_hex(body.as_bytes()));
    let t = target(server.port, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    assert_eq!(server.seen()[0].request_line, "GET /health.html HTTP/1.1");

    server.set(Reply::ok("<html>maintenance</html>\n"));
    let s = wait_status(&engine, &t.id, Status::Down).await;
    let want = format!(
        "digest mismatch: body md5 is {}",
        md5_hex(b"<html>maintenance</html>\n")
    );
    assert_eq!(s.last_error.as_deref(), Some(want.as_str()));

    // The same body in chunks has the same digest (the body is decoded before hashing).
    server.set(Reply::Status {
        status: 200,
        body: body.as_bytes().to_vec(),
        chunked: true,
    });
    wait_status(&engine, &t.id, Status::Up).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_regex() {
    let server = HttpServer::start(Reply::ok("db: ok\ncache: degraded\n")).await;
    let mut hc = check(CheckKind::Http);
    hc.body_regex = Some(r"(?m)^db: (ok|degraded)$".into());
    let t = target(server.port, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    server.set(Reply::ok("db: down\n"));
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("body does not match regex"));
    server.set(Reply::ok("db: degraded\n"));
    wait_status(&engine, &t.id, Status::Up).await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_request_and_close_delimited_body() {
    let body = "legacy ok\n";
    let server = HttpServer::start(Reply::ok(body)).await;
    let mut hc = check(CheckKind::Http);
    hc.http_version = Some("1.0".into());
    hc.path = Some("/status".into());
    hc.digest = Some(md5_hex(body.as_bytes()));
    let t = target(server.port, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    let seen = server.seen();
    assert_eq!(seen[0].request_line, "GET /status HTTP/1.0");
    assert!(
        seen[0].host.is_some(),
        "HTTP/1.0 requests carry Host too: {seen:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_host_is_the_host_header() {
    let server = HttpServer::start(Reply::ok("ok")).await;
    let mut hc = check(CheckKind::Http);
    hc.virtual_host = Some("www.example.test".into());
    let t = target(server.port, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    assert_eq!(server.seen()[0].host.as_deref(), Some("www.example.test"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_times_out() {
    let server = HttpServer::start(Reply::ok("ok")).await;
    let mut hc = check(CheckKind::Http);
    hc.timeout_ms = 300;
    hc.fall = 2;
    let t = target(server.port, hc);
    let engine = engine();
    engine.set_targets(vec![t.clone()]);
    wait_status(&engine, &t.id, Status::Up).await;
    server.set(Reply::Hang);
    let s = wait_status(&engine, &t.id, Status::Down).await;
    assert_eq!(s.last_error.as_deref(), Some("timeout after 300 ms"));
    assert!(s.consecutive_failures >= 2);
    engine.shutdown().await;
}
