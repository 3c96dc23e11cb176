//! Health-check specifications. They are stored and validated here; the checker runs them.

use crate::error::{check_range, ModelError, Result};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Kinds of health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// No check: the server is always considered up.
    None,
    /// A TCP connect within the timeout.
    Tcp,
    /// An HTTP GET whose status (and optionally body) is checked.
    Http,
    /// The same over TLS.
    Https,
    /// A command: exit 0 is up, 1 is down (2..255 set the weight with `dynamic_weight`).
    Script,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::None => "none",
            CheckKind::Tcp => "tcp",
            CheckKind::Http => "http",
            CheckKind::Https => "https",
            CheckKind::Script => "script",
        }
    }
}

/// A health check. Common parameters apply to every kind; the others only to the kinds named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthCheck {
    #[serde(rename = "type")]
    pub kind: CheckKind,
    /// Time between checks, 100 ms to 1 day.
    #[serde(default = "default_interval")]
    pub interval_ms: u64,
    /// Time one check may take, at most `interval_ms`.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Consecutive successes that make a down server up.
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Consecutive failures that make an up server down.
    #[serde(default = "default_fall")]
    pub fall: u32,
    /// Delay before retrying after a failure (default: the interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_delay_ms: Option<u64>,
    /// Random delay of up to this much before the first check, to spread checks out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_ms: Option<u64>,
    /// Check this address instead of the real server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub connect_address: Option<IpAddr>,
    /// Check this port instead of the real server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u32>,
    /// Source address of the checks (keepalived's `bindto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub bind_address: Option<IpAddr>,
    /// http/https: the path to GET (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// http/https: `1.0` or `1.1` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_version: Option<String>,
    /// http/https: accepted status codes and ranges such as `200`, `200-299` (default `200-299`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_codes: Option<Vec<String>>,
    /// http/https: the MD5 of the body as keepalived's genhash prints it (32 hex digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// http/https: a regular expression the body must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_regex: Option<String>,
    /// http/https: the Host header (and the TLS server name unless `sni` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_host: Option<String>,
    /// https: the TLS server name to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// https: verify the server's certificate (default false, as keepalived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_tls: Option<bool>,
    /// script: the program and its arguments. Below admin the arguments read `"***"` each (they may carry
    /// credentials); a command written back as it was read keeps the stored arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// script: exits 2..255 set the weight to exit - 2 (keepalived's `misc_dynamic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_weight: Option<bool>,
}

fn default_interval() -> u64 {
    5000
}
fn default_timeout() -> u64 {
    3000
}
fn default_rise() -> u32 {
    1
}
fn default_fall() -> u32 {
    3
}

const DAY_MS: u64 = 86_400_000;

impl HealthCheck {
    /// A check of the given kind with every parameter at its default.
    pub fn new(kind: CheckKind) -> Self {
        HealthCheck {
            kind,
            interval_ms: default_interval(),
            timeout_ms: default_timeout(),
            rise: default_rise(),
            fall: default_fall(),
            retry_delay_ms: None,
            warmup_ms: None,
            connect_address: None,
            connect_port: None,
            bind_address: None,
            path: None,
            http_version: None,
            status_codes: None,
            digest: None,
            body_regex: None,
            virtual_host: None,
            sni: None,
            verify_tls: None,
            command: None,
            dynamic_weight: None,
        }
    }

    pub fn validate(&self) -> Result<()> {
        check_range("interval_ms", self.interval_ms, 100, DAY_MS)?;
        check_range("timeout_ms", self.timeout_ms, 10, self.interval_ms.max(10))?;
        check_range("rise", self.rise, 1, 100)?;
        check_range("fall", self.fall, 1, 100)?;
        if let Some(d) = self.retry_delay_ms {
            check_range("retry_delay_ms", d, 0, DAY_MS)?;
        }
        if let Some(w) = self.warmup_ms {
            check_range("warmup_ms", w, 0, DAY_MS)?;
        }
        if let Some(p) = self.connect_port {
            check_range("connect_port", p, 1, 65535)?;
        }
        let http = matches!(self.kind, CheckKind::Http | CheckKind::Https);
        let https = self.kind == CheckKind::Https;
        let script = self.kind == CheckKind::Script;
        let only = |field: &str, set: bool, allowed: bool, kinds: &str| -> Result<()> {
            if set && !allowed {
                return Err(ModelError::invalid(
                    field,
                    format!("only applies to {kinds} checks, not {}", self.kind.as_str()),
                ));
            }
            Ok(())
        };
        only("path", self.path.is_some(), http, "http and https")?;
        only(
            "http_version",
            self.http_version.is_some(),
            http,
            "http and https",
        )?;
        only(
            "status_codes",
            self.status_codes.is_some(),
            http,
            "http and https",
        )?;
        only("digest", self.digest.is_some(), http, "http and https")?;
        only(
            "body_regex",
            self.body_regex.is_some(),
            http,
            "http and https",
        )?;
        only(
            "virtual_host",
            self.virtual_host.is_some(),
            http,
            "http and https",
        )?;
        only("sni", self.sni.is_some(), https, "https")?;
        only("verify_tls", self.verify_tls.is_some(), https, "https")?;
        only("command", self.command.is_some(), script, "script")?;
        only(
            "dynamic_weight",
            self.dynamic_weight.is_some(),
            script,
            "script",
        )?;
        if self.kind == CheckKind::None {
            for (field, set) in [
                ("connect_address", self.connect_address.is_some()),
                ("connect_port", self.connect_port.is_some()),
                ("bind_address", self.bind_address.is_some()),
            ] {
                only(field, set, false, "tcp, http, https and script")?;
            }
        }
        if let Some(path) = &self.path {
            if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ModelError::invalid(
                    "path",
                    "must start with '/' and contain no spaces",
                ));
            }
        }
        if let Some(v) = &self.http_version {
            if v != "1.0" && v != "1.1" {
                return Err(ModelError::invalid(
                    "http_version",
                    format!("must be \"1.0\" or \"1.1\", got {v:?}"),
                ));
            }
        }
        if let Some(codes) = &self.status_codes {
            if codes.is_empty() {
                return Err(ModelError::invalid(
                    "status_codes",
                    "must list at least one code or range",
                ));
            }
            for (i, c) in codes.iter().enumerate() {
                parse_status_range(c)
                    .map_err(|m| ModelError::invalid(format!("status_codes[{i}]"), m))?;
            }
        }
        if let Some(d) = &self.digest {
            if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ModelError::invalid(
                    "digest",
                    "must be an MD5 digest: 32 hexadecimal digits",
                ));
            }
        }
        if let Some(re) = &self.body_regex {
            regex::Regex::new(re).map_err(|e| {
                ModelError::invalid("body_regex", format!("not a valid regex: {e}"))
            })?;
        }
        for (field, host) in [("virtual_host", &self.virtual_host), ("sni", &self.sni)] {
            if let Some(h) = host {
                if h.is_empty()
                    || h.len() > 253
                    || !h
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b))
                {
                    return Err(ModelError::invalid(
                        field,
                        format!("{h:?} is not a host name"),
                    ));
                }
            }
        }
        if script {
            match &self.command {
                Some(cmd) if !cmd.is_empty() && !cmd[0].is_empty() => {}
                _ => {
                    return Err(ModelError::invalid(
                        "command",
                        "a script check needs a command to run",
                    ))
                }
            }
        }
        Ok(())
    }
}

/// Parses `200` or `200-299` into an inclusive range of status codes.
pub fn parse_status_range(s: &str) -> std::result::Result<(u16, u16), String> {
    let parse = |p: &str| -> std::result::Result<u16, String> {
        let code: u16 = p
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a status code or range like 200-299"))?;
        if !(100..=599).contains(&code) {
            return Err(format!("status code {code} is outside 100..599"));
        }
        Ok(code)
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => {
            let c = parse(s)?;
            (c, c)
        }
    };
    if lo > hi {
        return Err(format!("{s:?} is an empty range"));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for kind in [
            CheckKind::None,
            CheckKind::Tcp,
            CheckKind::Http,
            CheckKind::Https,
        ] {
            HealthCheck::new(kind).validate().unwrap();
        }
    }

    #[test]
    fn fields_of_other_kinds_are_refused() {
        let mut hc = HealthCheck::new(CheckKind::Tcp);
        hc.path = Some("/".into());
        assert_eq!(hc.validate().unwrap_err().field, "path");
        let mut hc = HealthCheck::new(CheckKind::Http);
        hc.command = Some(vec!["true".into()]);
        assert_eq!(hc.validate().unwrap_err().field, "command");
    }

    #[test]
    fn script_needs_a_command() {
        let hc = HealthCheck::new(CheckKind::Script);
        assert_eq!(hc.validate().unwrap_err().field, "command");
    }

    #[test]
    fn timeout_cannot_exceed_interval() {
        let mut hc = HealthCheck::new(CheckKind::Tcp);
        hc.interval_ms = 1000;
        hc.timeout_ms = 2000;
        assert_eq!(hc.validate().unwrap_err().field, "timeout_ms");
    }

    #[test]
    fn status_ranges_digests_and_regexes() {
        assert_eq!(parse_status_range("200-299"), Ok((200, 299)));
        assert_eq!(parse_status_range("503"), Ok((503, 503)));
        assert!(parse_status_range("299-200").is_err());
        assert!(parse_status_range("700").is_err());
        let mut hc = HealthCheck::new(CheckKind::Http);
        hc.status_codes = Some(vec!["200".into(), "abc".into()]);
        assert_eq!(hc.validate().unwrap_err().field, "status_codes[1]");
        hc.status_codes = None;
        hc.digest = Some("xyz".into());
        assert_eq!(hc.validate().unwrap_err().field, "digest");
        hc.digest = Some("9b3a0c85a887a256d6939da88aabd8cd".into());
        hc.body_regex = Some("(".into());
        assert_eq!(hc.validate().unwrap_err().field, "body_regex");
    }
}
