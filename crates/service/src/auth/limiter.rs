//! Failed logins, limited per client address and per user name. Pure: no IO, no clock (the time is passed in),
//! and a bounded amount of memory (at most `max_keys` entries per table).
//!
//! - Each address and each user name may fail `free_failures_*` times; every failure beyond that locks the
//!   address (or the name) out for `lockout_base`, doubled with each further failure, at most `lockout_max`.
//! - An attempt refused during a lockout is not a failure: it neither counts nor extends the lockout.
//! - Failures are forgotten `forget_after` the last one (once no lockout runs).
//! - An address that logged in as a user within `trust_for` is exempt from that user name's limit (not from
//!   its own): someone guessing alice's password elsewhere cannot lock alice out from where she works.
//! - IPv6 clients are counted by their /64 (one host has many addresses of its prefix).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterConfig {
    pub free_failures_per_user: u32,
    pub free_failures_per_address: u32,
    pub lockout_base: Duration,
    pub lockout_max: Duration,
    pub forget_after: Duration,
    pub trust_for: Duration,
    /// Entries per table (addresses, user names, trusted pairs).
    pub max_keys: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            free_failures_per_user: 5,
            free_failures_per_address: 20,
            lockout_base: Duration::from_secs(1),
            lockout_max: Duration::from_secs(300),
            forget_after: Duration::from_secs(15 * 60),
            trust_for: Duration::from_secs(24 * 3600),
            max_keys: 10_000,
        }
    }
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Address,
    User,
}

/// An attempt refused during a lockout: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub limit: Limit,
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Nothing left to remember: no lockout runs and the last failure is old.
    fn stale(&self, now: Instant, forget_after: Duration) -> bool {
        self.locked(now).is_none() && now.saturating_duration_since(self.last) >= forget_after
    }
}

/// The longest user name kept as a key (longer ones are cut: they are not valid names anyway).
const MAX_NAME_KEY: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AddressKey {
    V4(u32),
    /// The /64 prefix.
    V6(u64),
}

impl From<IpAddr> for AddressKey {
    fn from(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(v4) => AddressKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(u32::from(v4)),
                None => AddressKey::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

fn name_key(user: &str) -> String {
    user.chars().take(MAX_NAME_KEY).collect()
}

#[derive(Debug)]
pub struct LoginLimiter {
    config: LimiterConfig,
    by_address: HashMap<AddressKey, Failures>,
    by_user: HashMap<String, Failures>,
    /// The last successful login of a user from an address.
    trusted: HashMap<(AddressKey, String), Instant>,
}

impl LoginLimiter {
    pub fn new(config: LimiterConfig) -> Self {
        LoginLimiter {
            config,
            by_address: HashMap::new(),
            by_user: HashMap::new(),
            trusted: HashMap::new(),
        }
    }

    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    fn is_trusted(&self, user: &str, address: Option<IpAddr>, now: Instant) -> bool {
        address.is_some_and(|a| {
            self.trusted
                .get(&(AddressKey::from(a), name_key(user)))
                .is_some_and(|at| now.saturating_duration_since(*at) < self.config.trust_for)
        })
    }

    /// Whether an attempt to log in as `user` from `address` may go on to check the password. A refusal
    /// changes nothing.
    pub fn check(&self, user: &str, address: Option<IpAddr>, now: Instant) -> Result<(), Refused> {
        let by_address = address
            .and_then(|a| self.by_address.get(&AddressKey::from(a)))
            .and_then(|f| f.locked(now));
        if let Some(retry_after) = by_address {
            return Err(Refused {
                limit: Limit::Address,
                retry_after,
            });
        }
        if self.is_trusted(user, address, now) {
            return Ok(());
        }
        match self
            .by_user
            .get(&name_key(user))
            .and_then(|f| f.locked(now))
        {
            Some(retry_after) => Err(Refused {
                limit: Limit::User,
                retry_after,
            }),
            None => Ok(()),
        }
    }

    /// Counts a wrong password (or an unknown user).
    pub fn failed(&mut self, user: &str, address: Option<IpAddr>, now: Instant) {
        let config = self.config;
        if let Some(a) = address {
            let entry = entry(&mut self.by_address, AddressKey::from(a), now, &config);
            fail(entry, config.free_failures_per_address, now, &config);
        }
        if !self.is_trusted(user, address, now) {
            let entry = entry(&mut self.by_user, name_key(user), now, &config);
            fail(entry, config.free_failures_per_user, now, &config);
        }
    }

    /// A successful login: the user name's failures are forgotten, and the address is trusted for that user.
    pub fn succeeded(&mut self, user: &str, address: Option<IpAddr>, now: Instant) {
        let key = name_key(user);
        self.by_user.remove(&key);
        if let Some(a) = address {
            let trust_for = self.config.trust_for;
            if self.trusted.len() >= self.config.max_keys {
                self.trusted
                    .retain(|_, at| now.saturating_duration_since(*at) < trust_for);
            }
            if self.trusted.len() >= self.config.max_keys {
                if let Some(oldest) = self
                    .trusted
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
                {
                    self.trusted.remove(&oldest);
                }
            }
            self.trusted.insert((AddressKey::from(a), key), now);
        }
    }

    /// Entries held: (addresses, user names, trusted pairs).
    pub fn len(&self) -> (usize, usize, usize) {
        (
            self.by_address.len(),
            self.by_user.len(),
            self.trusted.len(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0, 0)
    }
}

/// The entry of `key`, made room for if the table is full: stale entries go first, then the one whose last
/// failure is oldest.
fn entry<'a, K: std::hash::Hash + Eq + Clone>(
    table: &'a mut HashMap<K, Failures>,
    key: K,
    now: Instant,
    config: &LimiterConfig,
) -> &'a mut Failures {
    if !table.contains_key(&key) && table.len() >= config.max_keys {
        table.retain(|_, f| !f.stale(now, config.forget_after));
        if table.len() >= config.max_keys {
            if let Some(oldest) = table
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| k.clone())
            {
                table.remove(&oldest);
            }
        }
    }
    table.entry(key).or_insert(Failures {
        count: 0,
        last: now,
        locked_until: None,
    })
}

fn fail(f: &mut Failures, free: u32, now: Instant, config: &LimiterConfig) {
    if f.stale(now, config.forget_after) {
        f.count = 0;
        f.locked_until = None;
    }
    f.count = f.count.saturating_add(1);
    f.last = now;
    if f.count > free {
        let doublings = (f.count - free - 1).min(31);
        let lockout = config
            .lockout_base
            .saturating_mul(1u32 << doublings)
            .min(config.lockout_max);
        f.locked_until = Some(now + lockout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LimiterConfig {
        LimiterConfig {
            free_failures_per_user: 3,
            free_failures_per_address: 10,
            lockout_base: Duration::from_secs(1),
            lockout_max: Duration::from_secs(8),
            forget_after: Duration::from_secs(60),
            trust_for: Duration::from_secs(3600),
            max_keys: 100,
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn free_failures_then_a_lockout_that_ends() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for _ in 0..3 {
            assert_eq!(l.check("alice", ip("10.0.0.1"), t0), Ok(()));
            l.failed("alice", ip("10.0.0.1"), t0);
        }
        assert_eq!(l.check("alice", ip("10.0.0.1"), t0), Ok(()), "3 are free");
        l.failed("alice", ip("10.0.0.1"), t0);
        assert_eq!(
            l.check("alice", ip("10.0.0.1"), t0),
            Err(Refused {
                limit: Limit::User,
                retry_after: S(1)
            })
        );
        assert_eq!(
            l.check("alice", ip("10.0.0.2"), t0).map_err(|r| r.limit),
            Err(Limit::User),
            "the name is locked from everywhere (no address is trusted yet)"
        );
        assert_eq!(l.check("bob", ip("10.0.0.1"), t0), Ok(()), "others are not");
        assert_eq!(l.check("alice", ip("10.0.0.1"), t0 + S(1)), Ok(()));
    }

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        let mut now = t0;
        for _ in 0..3 {
            l.failed("alice", None, now);
        }
        let mut seen = Vec::new();
        for _ in 0..6 {
            l.failed("alice", None, now);
            let r = l.check("alice", None, now).unwrap_err();
            seen.push(r.retry_after.as_secs());
            now += r.retry_after;
            assert_eq!(l.check("alice", None, now), Ok(()));
        }
        assert_eq!(seen, [1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn attempts_during_a_lockout_do_not_extend_it() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for _ in 0..4 {
            l.failed("alice", None, t0);
        }
        // Refused attempts are checked, never counted: the lockout ends when it was going to.
        let ms = Duration::from_millis;
        for i in 0..10 {
            let r = l.check("alice", None, t0 + ms(i * 90)).unwrap_err();
            assert_eq!(r.retry_after, S(1) - ms(i * 90));
        }
        assert_eq!(l.check("alice", None, t0 + S(1)), Ok(()));
    }

    #[test]
    fn an_address_trying_many_names_is_locked_by_its_own_limit() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for i in 0..11 {
            l.failed(&format!("user{i}"), ip("192.0.2.7"), t0);
        }
        let r = l.check("someone-else", ip("192.0.2.7"), t0).unwrap_err();
        assert_eq!((r.limit, r.retry_after), (Limit::Address, S(1)));
        assert_eq!(l.check("someone-else", ip("192.0.2.8"), t0), Ok(()));
        assert_eq!(
            l.check("user0", ip("192.0.2.8"), t0),
            Ok(()),
            "each name failed once only"
        );
    }

    #[test]
    fn a_trusted_address_is_exempt_from_the_name_limit_but_not_its_own() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        l.succeeded("alice", ip("10.0.0.1"), t0);
        // An attacker elsewhere locks the name...
        for _ in 0..6 {
            l.failed("alice", ip("203.0.113.9"), t0 + S(1));
        }
        assert!(l.check("alice", ip("203.0.113.9"), t0 + S(1)).is_err());
        assert!(l.check("alice", ip("198.51.100.1"), t0 + S(1)).is_err());
        // ...but alice, from where she logged in before, is not locked out.
        assert_eq!(l.check("alice", ip("10.0.0.1"), t0 + S(1)), Ok(()));
        // Her own typos there do not count against the name either, only against the address.
        for _ in 0..10 {
            l.failed("alice", ip("10.0.0.1"), t0 + S(2));
        }
        assert_eq!(l.check("alice", ip("10.0.0.1"), t0 + S(2)), Ok(()));
        l.failed("alice", ip("10.0.0.1"), t0 + S(2));
        assert_eq!(
            l.check("alice", ip("10.0.0.1"), t0 + S(2))
                .map_err(|r| r.limit),
            Err(Limit::Address)
        );
        // The trust ends.
        let later = t0 + S(3600);
        for _ in 0..4 {
            l.failed("alice", ip("203.0.113.9"), later);
        }
        assert_eq!(
            l.check("alice", ip("10.0.0.1"), later).map_err(|r| r.limit),
            Err(Limit::User)
        );
    }

    #[test]
    fn success_forgets_the_names_failures() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for _ in 0..3 {
            l.failed("alice", None, t0);
        }
        l.succeeded("alice", None, t0);
        l.failed("alice", None, t0);
        assert_eq!(l.check("alice", None, t0), Ok(()));
    }

    #[test]
    fn old_failures_are_forgotten() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for _ in 0..3 {
            l.failed("alice", None, t0);
        }
        l.failed("alice", None, t0 + S(60));
        assert_eq!(l.check("alice", None, t0 + S(60)), Ok(()), "a fresh count");
        // But a long lockout's failures are not forgotten while it runs.
        let mut l = LoginLimiter::new(LimiterConfig {
            lockout_base: S(120),
            lockout_max: S(600),
            ..config()
        });
        for _ in 0..4 {
            l.failed("alice", None, t0);
        }
        l.failed("alice", None, t0 + S(61));
        assert_eq!(
            l.check("alice", None, t0 + S(61)).unwrap_err().retry_after,
            S(240),
            "doubled"
        );
    }

    #[test]
    fn memory_is_bounded() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for i in 0..1000u32 {
            let a = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let now = t0 + Duration::from_millis(u64::from(i));
            l.failed(&format!("name-{i}"), Some(a), now);
            l.succeeded(&format!("other-{i}"), Some(a), now);
        }
        let (a, u, t) = l.len();
        assert!(a <= 100 && u <= 100 && t <= 100, "{:?}", l.len());
        // The oldest went first: the newest are still counted.
        assert!(l.by_user.contains_key("name-999"));
        assert!(!l.by_user.contains_key("name-0"));
        // Long names are cut.
        l.failed(&"x".repeat(100_000), None, t0);
        assert!(l.by_user.keys().all(|k| k.len() <= MAX_NAME_KEY));
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(config());
        for i in 0..11 {
            l.failed(&format!("u{i}"), ip(&format!("2001:db8:1:2::{i:x}")), t0);
        }
        assert!(l.check("x", ip("2001:db8:1:2::ffff"), t0).is_err());
        assert_eq!(l.check("x", ip("2001:db8:1:3::1"), t0), Ok(()));
        // An IPv4-mapped address is its IPv4 address.
        for i in 0..11 {
            l.failed(&format!("v{i}"), ip("::ffff:192.0.2.1"), t0);
        }
        assert!(l.check("x", ip("192.0.2.1"), t0).is_err());
    }
}
