//! Recorded-case tests: replay `tests/cases/*.txt` against the machine and
//! compare every output (in the style of holo's conformance tests).
//!
//! Format, one directive per line (`#` starts a comment):
//!
//! ```text
//! config version=2 vrid=51 prio=100 interval=1 preempt=true preempt_delay=0
//!        addr=10.0.0.1 vips=192.168.10.180,192.168.10.181 auth=pass:1111
//! t=<seconds> <input> [key=value ...]    an input at that time
//! -> <action>                             the next expected output of it
//! ? key=value [key=value ...]             assertions on the machine after it
//! ```
//!
//! `config` (all keys optional, on one line) must come first; the machine is
//! created at t=0. Every output of an input must be matched, in order, by
//! the `->` lines that follow it.
//!
//! Inputs: `startup`, `shutdown`, `tick`, `fault`, `fault_cleared`,
//! `force_master`, `force_backup`, `priority prio=N`,
//! `advert prio=N from=ADDR [interval=S]` (fed to the machine as is),
//! `packet prio=N from=ADDR [vrid=N] [version=2|3] [interval=S]
//! [auth=none|pass:PW] [ttl=N] [to=ADDR] [corrupt]` (encoded, then decoded
//! and validated against the instance like the IO shell does; a rejected
//! packet outputs `drop <error code>`), `reconfigure <config keys>`
//! (applied over the current config; a rejected one outputs
//! `error <message>`).
//!
//! Outputs: `send_advert prio=N`, `become_master`, `become_backup`,
//! `vips added=A,B removed=C`, `state FROM->TO reason=R`,
//! `other_master from=ADDR prio=N`, `drop CODE`, `error MESSAGE`.
//!
//! Assertions: `state=`, `deadline=<seconds>|none`, `master=<addr>|none`,
//! `priority=`, `master_adver_interval=<seconds>`, `other_master_seen=`,
//! `adverts_sent=`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use director_vrrp::packet::{self, Advertisement};
use director_vrrp::{Action, Auth, Config, Input, Instant, Machine, RxInfo, Version};

#[test]
fn recorded_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the recorded cases in {dir}");
    let mut failures = String::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if let Err(e) = run_case(&text) {
            let name = path.file_name().unwrap().to_string_lossy();
            writeln!(failures, "{name}:{e}").unwrap();
        }
    }
    assert!(failures.is_empty(), "recorded cases failed:\n{failures}");
}

#[test]
fn runner_detects_mismatches() {
    let base = "config prio=100\nt=0 startup\n";
    assert!(run_case(&format!(
        "{base}-> state initialize->backup reason=startup\n"
    ))
    .is_ok());
    // Missing output.
    assert!(run_case(base).is_err());
    // Wrong output.
    assert!(run_case(&format!("{base}-> become_master\n")).is_err());
    // Extra expected output.
    assert!(run_case(&format!(
        "{base}-> state initialize->backup reason=startup\n-> become_master\n"
    ))
    .is_err());
    // Failed assertion.
    assert!(run_case(&format!(
        "{base}-> state initialize->backup reason=startup\n? deadline=3.6\n"
    ))
    .is_err());
    // Time going backwards.
    assert!(run_case(&format!(
        "{base}-> state initialize->backup reason=startup\nt=5 tick\nt=4 tick\n"
    ))
    .is_err());
}

/// Runs one case; the error is `line: message`.
fn run_case(text: &str) -> Result<(), String> {
    let mut runner: Option<Runner> = None;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let at = |e: String| format!("{lineno}: {e} (in `{line}`)");
        if let Some(rest) = line.strip_prefix("config") {
            if runner.is_some() {
                return Err(at("config must come first and once".into()));
            }
            let config = apply_config(default_config(), rest).map_err(at)?;
            let machine = Machine::new(config, Instant::ZERO).map_err(|e| at(e.to_string()))?;
            runner = Some(Runner {
                machine,
                now: Instant::ZERO,
                pending: VecDeque::new(),
            });
            continue;
        }
        let r = runner
            .as_mut()
            .ok_or_else(|| at("a config line must come first".into()))?;
        if let Some(expected) = line.strip_prefix("->") {
            let expected = expected.trim();
            match r.pending.pop_front() {
                Some(actual) if actual == expected => {}
                Some(actual) => return Err(at(format!("expected `{expected}`, got `{actual}`"))),
                None => return Err(at(format!("expected `{expected}`, got nothing more"))),
            }
        } else if let Some(asserts) = line.strip_prefix('?') {
            r.no_pending().map_err(at)?;
            r.check(asserts).map_err(at)?;
        } else if let Some(rest) = line.strip_prefix("t=") {
            r.no_pending().map_err(at)?;
            let (time, input) = rest.split_once(' ').unwrap_or((rest, ""));
            let now = Instant::from_duration(parse_secs(time).map_err(at)?);
            if now < r.now {
                return Err(at("time goes backwards".into()));
            }
            r.now = now;
            r.step(input.trim()).map_err(at)?;
        } else {
            return Err(at("unknown directive".into()));
        }
    }
    match runner {
        None => Err("0: no config".into()),
        Some(r) => r.no_pending().map_err(|e| format!("end: {e}")),
    }
}

struct Runner {
    machine: Machine,
    now: Instant,
    /// Outputs of the last input not matched yet.
    pending: VecDeque<String>,
}

impl Runner {
    fn no_pending(&self) -> Result<(), String> {
        match self.pending.front() {
            None => Ok(()),
            Some(out) => Err(format!("unexpected output `{out}` of the previous input")),
        }
    }

    fn step(&mut self, input: &str) -> Result<(), String> {
        let (verb, args) = input.split_once(' ').unwrap_or((input, ""));
        let kv = parse_kv(args)?;
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let need = |k: &str| get(k).ok_or_else(|| format!("missing {k}="));
        let now = self.now;
        let actions = match verb {
            "startup" => self.machine.handle(Input::Startup, now),
            "shutdown" => self.machine.handle(Input::Shutdown, now),
            "tick" => self.machine.on_tick(now),
            "fault" => self.machine.handle(Input::Fault, now),
            "fault_cleared" => self.machine.handle(Input::FaultCleared, now),
            "force_master" => self.machine.handle(Input::ForceMaster, now),
            "force_backup" => self.machine.handle(Input::ForceBackup, now),
            "priority" => {
                let priority = parse(need("prio")?)?;
                self.machine
                    .handle(Input::PriorityChanged { priority }, now)
            }
            "advert" => {
                let interval = match get("interval") {
                    Some(s) => parse_centis(s)?,
                    None => self.machine.config().advert_interval,
                };
                let input = Input::AdvertReceived {
                    priority: parse(need("prio")?)?,
                    max_advert_interval: interval,
                    source: parse(need("from")?)?,
                };
                self.machine.handle(input, now)
            }
            "packet" => {
                let bytes_and_rx = self.packet(&kv)?;
                match packet::decode_validated(
                    &bytes_and_rx.0,
                    &bytes_and_rx.1,
                    &self.machine.expect(),
                ) {
                    Ok(adv) => self
                        .machine
                        .handle(Input::from_advertisement(&adv, bytes_and_rx.1.src), now),
                    Err(e) => {
                        self.pending.push_back(format!("drop {}", e.code()));
                        return Ok(());
                    }
                }
            }
            "reconfigure" => {
                let config = apply_config(self.machine.config().clone(), args)?;
                match self.machine.reconfigure(config, now) {
                    Ok(actions) => actions,
                    Err(e) => {
                        self.pending.push_back(format!("error {e}"));
                        return Ok(());
                    }
                }
            }
            other => return Err(format!("unknown input `{other}`")),
        };
        self.pending.extend(actions.iter().map(format_action));
        Ok(())
    }

    /// Encodes the packet a peer would send.
    fn packet(&self, kv: &[(String, String)]) -> Result<(Vec<u8>, RxInfo), String> {
        let config = self.machine.config();
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let src: IpAddr = parse(get("from").ok_or("missing from=")?)?;
        let version = match get("version") {
            Some(v) => parse_version(v)?,
            None => config.version,
        };
        let auth = match (get("auth"), version) {
            (Some(a), _) => parse_auth(a)?,
            (None, Version::V2) => config.auth,
            (None, Version::V3) => Auth::None,
        };
        let dst = match get("to") {
            Some(a) => parse(a)?,
            None => packet::Family::of(&src).vrrp_multicast(),
        };
        let adv = Advertisement {
            version,
            vrid: get("vrid").map(parse).transpose()?.unwrap_or(config.vrid),
            priority: parse(get("prio").ok_or("missing prio=")?)?,
            max_advert_interval: get("interval")
                .map(parse_centis)
                .transpose()?
                .unwrap_or(config.advert_interval),
            addresses: config.virtual_addresses.clone(),
            auth,
        };
        let mut bytes = adv.encode(src, dst).map_err(|e| e.to_string())?;
        if get("corrupt").is_some() {
            bytes[6] ^= 0xff;
        }
        let ttl = get("ttl")
            .map(parse)
            .transpose()?
            .unwrap_or(packet::VRRP_TTL);
        Ok((bytes, RxInfo { src, dst, ttl }))
    }

    fn check(&self, asserts: &str) -> Result<(), String> {
        let m = &self.machine;
        for (key, want) in parse_kv(asserts)? {
            let got = match key.as_str() {
                "state" => m.state().to_string(),
                "deadline" => m
                    .next_deadline()
                    .map_or("none".to_string(), |d| d.to_string()),
                "master" => m
                    .master_address()
                    .map_or("none".to_string(), |a| a.to_string()),
                "priority" => m.priority().to_string(),
                "master_adver_interval" => {
                    Instant::from_duration(m.master_adver_interval()).to_string()
                }
                "other_master_seen" => m.stats().other_master_seen.to_string(),
                "adverts_sent" => m.stats().adverts_sent.to_string(),
                other => return Err(format!("unknown assertion `{other}`")),
            };
            if got != want {
                return Err(format!("{key}: expected {want}, got {got}"));
            }
        }
        Ok(())
    }
}

fn format_action(action: &Action) -> String {
    let list = |v: &[IpAddr]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    match action {
        Action::SendAdvert { priority } => format!("send_advert prio={priority}"),
        Action::BecomeMaster => "become_master".into(),
        Action::BecomeBackup => "become_backup".into(),
        Action::VirtualAddressesChanged { added, removed } => {
            format!("vips added={} removed={}", list(added), list(removed))
        }
        Action::StateChanged { from, to, reason } => format!("state {from}->{to} reason={reason}"),
        Action::OtherMasterSeen { address, priority } => {
            format!("other_master from={address} prio={priority}")
        }
    }
}

fn default_config() -> Config {
    Config::new(51, Version::V2, "10.0.0.1".parse().unwrap())
}

fn apply_config(mut c: Config, args: &str) -> Result<Config, String> {
    for (key, value) in parse_kv(args)? {
        let v = value.as_str();
        match key.as_str() {
            "version" => c.version = parse_version(v)?,
            "vrid" => c.vrid = parse(v)?,
            "prio" => c.priority = parse(v)?,
            "interval" => c.advert_interval = parse_centis(v)?,
            "preempt" => c.preempt = parse(v)?,
            "preempt_delay" => c.preempt_delay = parse_secs(v)?,
            "addr" => c.primary_address = parse(v)?,
            "vips" => {
                c.virtual_addresses = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(parse)
                    .collect::<Result<_, _>>()?
            }
            "auth" => c.auth = parse_auth(v)?,
            other => return Err(format!("unknown config key `{other}`")),
        }
    }
    Ok(c)
}

/// `key=value` pairs; a bare word is a flag with an empty value.
fn parse_kv(s: &str) -> Result<Vec<(String, String)>, String> {
    s.split_whitespace()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            Some(_) => Err(format!("bad key=value `{w}`")),
            None => Ok((w.to_string(), String::new())),
        })
        .collect()
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| format!("`{s}`: {e}"))
}

fn parse_version(s: &str) -> Result<Version, String> {
    match s {
        "2" => Ok(Version::V2),
        "3" => Ok(Version::V3),
        _ => Err(format!("bad version `{s}`")),
    }
}

fn parse_auth(s: &str) -> Result<Auth, String> {
    match s.strip_prefix("pass:") {
        Some(pw) => Auth::simple(pw).map_err(|e| e.to_string()),
        None if s == "none" => Ok(Auth::None),
        None => Err(format!("bad auth `{s}`")),
    }
}

/// Exact decimal seconds (`3.609375`) as a duration.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad seconds `{s}`"));
    }
    let secs: u64 = parse(int)?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        parse(&format!("{frac:0<9}"))?
    };
    Ok(Duration::new(secs, nanos))
}

/// Seconds with at most centisecond precision, as centiseconds.
fn parse_centis(s: &str) -> Result<u16, String> {
    let d = parse_secs(s)?;
    if d.subsec_nanos() % 10_000_000 != 0 {
        return Err(format!("`{s}` is not whole centiseconds"));
    }
    u16::try_from(d.as_millis() / 10).map_err(|_| format!("`{s}` too large"))
}
