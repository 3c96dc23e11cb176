//! A headless Chromium driven through chromedriver (WebDriver), pointed at one daemon.
//!
//! Each test starts its own chromedriver on a free port and a browser with a fresh profile; a process-wide
//! lock runs one browser at a time (two cores are shared by everything). chromium and chromedriver come from
//! Debian (tests/setup.sh installs them); without them the test fails and says so.

use director_tests::{free_port, urlencode, Daemon};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One browser at a time.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(15);

fn find_program(names: &[&str], extra: &[&str]) -> Option<PathBuf> {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        for name in names {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    extra.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Where screenshots go: `browser-screenshots/` in the target directory (the test runs as
/// `<target>/<profile>/deps/browser-<hash>`).
pub fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// chromedriver, in its own process group with the browsers it starts; all of them are killed on drop
/// (also when a test fails half-way).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for `daemon`.
    pub async fn start(daemon: &Daemon) -> Browser {
        let turn = ONE_BROWSER.lock().await;
        let driver_bin = find_program(&["chromedriver"], &["/usr/lib/chromium/chromedriver"]).expect(
            "chromedriver is not installed: run tests/setup.sh (it installs Debian's chromium and chromium-driver)",
        );
        // Debian's /usr/bin/chromium is a wrapper script; chromedriver wants the browser itself.
        let chromium = find_program(&[], &["/usr/lib/chromium/chromium"])
            .or_else(|| find_program(&["chromium", "chromium-browser"], &[]))
            .expect("chromium is not installed: run tests/setup.sh (it installs Debian's chromium and chromium-driver)");
        let profile = tempfile::Builder::new()
            .prefix("director-browser-")
            .tempdir()
            .expect("browser profile dir");
        let port = free_port();
        let log = profile.path().join("chromedriver.log");
        let driver = Command::new(&driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Driver)
            .unwrap_or_else(|e| panic!("starting {}: {e}", driver_bin.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let user_data = profile.path().join("profile");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-crash-reporter", "--disable-breakpad",
                    "--window-size=1360,1000", "--lang=en-US",
                    format!("--user-data-dir={}", user_data.display()),
                ],
            },
        });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no browser session from chromedriver ({e}); its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        Browser {
            client,
            base: daemon.base.clone(),
            _driver: driver,
            _profile: profile,
            _turn: turn,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.expect("current URL");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    /// Waits until the page's path is `path`.
    pub async fn wait_path(&self, path: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the browser is on {now}, expected {path}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no element {css} on {}: {e}", self.path().await),
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    /// Waits until the element `css` contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                if let Ok(t) = e.text().await {
                    if t.contains(needle) {
                        return t;
                    }
                    if Instant::now() >= deadline {
                        panic!("{css} on {} says {t:?}, not {needle:?}", self.path().await);
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {css} with {needle:?} on {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replaces the value of the input `css` with `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear().await.expect("clear input");
        if !value.is_empty() {
            e.send_keys(value).await.expect("type into input");
        }
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.expect("attribute")
    }

    pub async fn prop(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.prop(name).await.expect("property")
    }

    /// Logs in through the form and waits for the page it leads to.
    pub async fn login(&self, user: &str, password: &str) {
        self.goto("/login").await;
        self.fill("#f-username", user).await;
        self.fill("#f-password", password).await;
        self.click("form.login button[type=submit]").await;
        let deadline = Instant::now() + WAIT;
        while self.path().await.starts_with("/login") {
            assert!(
                Instant::now() < deadline,
                "still on the login page after logging in as {user}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot of the page to `<target>/browser-screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let file = artifacts().join(format!("{name}.png"));
        std::fs::write(&file, png).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The id of the form of a real server's row (its weight input is in it; its buttons refer to it).
    pub async fn row_form(&self, endpoint: &str) -> String {
        let input = format!("input[aria-label='Weight of {endpoint}']");
        self.find(&input).await;
        self.js(
            "return document.querySelector(arguments[0]).form.id;",
            vec![json!(input)],
        )
        .await
        .as_str()
        .expect("the weight input belongs to a form")
        .to_string()
    }

    /// The session's CSRF token, as the page's forms carry it.
    pub async fn csrf(&self) -> String {
        self.js(
            "const e = document.querySelector('input[name=_csrf]'); return e ? e.value : null;",
            vec![],
        )
        .await
        .as_str()
        .expect("the page has a form with a CSRF token")
        .to_string()
    }

    /// POSTs a form from the page (as a script of the page could), without following redirects; returns
    /// the status (303 for a redirect).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> u16 {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let status = self
            .js(
                "const [url, body] = arguments;
                 return fetch(url, {method: 'POST', body, redirect: 'manual', credentials: 'same-origin',
                                    headers: {'content-type': 'application/x-www-form-urlencoded'}})
                   .then(r => r.type === 'opaqueredirect' ? 303 : r.status);",
                vec![json!(path), json!(body)],
            )
            .await;
        status.as_u64().expect("a status") as u16
    }

    /// The value of the session cookie (HttpOnly: scripts cannot see it, WebDriver can).
    pub async fn session_cookie(&self) -> Option<String> {
        self.client
            .get_named_cookie("director_session")
            .await
            .ok()
            .map(|c| c.value().to_string())
    }

    /// Ends the browser session, then chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A plain HTTP client carrying a UI session cookie (to read status codes and raw pages).
pub fn http_with_session(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        reqwest::header::HeaderValue::from_str(&format!("director_session={token}"))
            .expect("cookie header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}
