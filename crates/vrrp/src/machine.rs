//! The VRRP state machine of one virtual router instance.
//!
//! Follows RFC 5798 section 6.4 (and RFC 3768 section 6.4 for the v2 timer
//! rules), plus the keepalived behaviours the director must match on the
//! wire:
//!
//! - a master receiving a lower-priority advertisement (another master: a
//!   split brain) sends an advertisement at once to reassert itself, and
//!   reports [`Action::OtherMasterSeen`];
//! - `preempt_delay`: after (re)starting, a backup does not preempt a
//!   lower-priority master before the delay has elapsed;
//! - a `Fault` state (interface down, failed tracking with weight 0, sync
//!   group in fault) in which the instance neither sends nor listens.
//!
//! The machine is pure: [`Machine::handle`] takes an [`Input`] and the
//! current [`Instant`] and returns the [`Action`]s to execute in order;
//! [`Machine::next_deadline`] says when to call [`Machine::on_tick`] next.
//! One timer serves both the RFC's `Adver_Timer` (as master) and
//! `Master_Down_Timer` (as backup).
//!
//! Timer arithmetic is done in microseconds like keepalived:
//! `Skew_Time = (256 - Priority) * Master_Adver_Interval / 256` (v3) or
//! `(256 - Priority) / 256` s (v2), and
//! `Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time`, where
//! `Priority` is the effective priority.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;

use crate::packet::{self, Advertisement, Auth, Expect, Family, Version};
use crate::Instant;

/// Priority of the address owner: starts as master at once and always
/// preempts.
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a master advertises when it stops (or goes to fault), so that
/// backups take over after the skew time only.
pub const PRIORITY_STOP: u8 = 0;

/// Configuration of one VRRP instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Virtual router identifier, 1..=255.
    pub vrid: u8,
    /// Protocol version (v2 is IPv4 only).
    pub version: Version,
    /// Base priority, 1..=255; 255 means we own the virtual addresses.
    pub priority: u8,
    /// Advertisement interval in centiseconds: v2 whole seconds (100..=25500
    /// in steps of 100), v3 1..=4095.
    pub advert_interval: u16,
    /// Whether a higher-priority backup takes over from a lower-priority
    /// master (the address owner always does).
    pub preempt: bool,
    /// How long after (re)starting a backup waits before preempting
    /// (keepalived's `preempt_delay`).
    pub preempt_delay: Duration,
    /// Our primary address on the interface: the source of our
    /// advertisements and the tie-breaker between equal priorities. Its
    /// family is the instance's family.
    pub primary_address: IpAddr,
    /// The virtual addresses, all of the family of `primary_address`.
    pub virtual_addresses: Vec<IpAddr>,
    /// v2 authentication (must be [`Auth::None`] for v3).
    pub auth: Auth,
}

/// An invalid [`Config`] or a change that needs a new [`Machine`].
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `vrid` is 0.
    #[error("vrid: must be 1 to 255")]
    InvalidVrid,
    /// `priority` is 0.
    #[error("priority: must be 1 to 255")]
    InvalidPriority,
    /// `advert_interval` cannot be carried by that version.
    #[error(
        "advert_interval: {centis} cs is out of range for {version} \
         (v2: whole seconds 1..=255, v3: 1..=4095 centiseconds)"
    )]
    InvalidInterval {
        /// Configured version.
        version: Version,
        /// Configured interval, centiseconds.
        centis: u16,
    },
    /// v2 with an IPv6 primary address.
    #[error("version: VRRPv2 only supports IPv4")]
    V2RequiresIpv4,
    /// A virtual address not of the family of the primary address.
    #[error("virtual_addresses: {0} is not of the family of the primary address")]
    VirtualAddressFamily(IpAddr),
    /// More than 255 virtual addresses.
    #[error("virtual_addresses: {0} addresses, at most 255")]
    TooManyAddresses(usize),
    /// Authentication configured with v3.
    #[error("auth: VRRPv3 has no authentication")]
    AuthRequiresV2,
    /// That field identifies the instance: shut the machine down and create
    /// a new one instead of reconfiguring.
    #[error("{0}: changing it requires restarting the instance")]
    RequiresRestart(&'static str),
}

impl Config {
    /// A configuration with keepalived's defaults: priority 100, 1 s
    /// interval, preempt without delay, no authentication, no virtual
    /// addresses.
    pub fn new(vrid: u8, version: Version, primary_address: IpAddr) -> Self {
        Config {
            vrid,
            version,
            priority: 100,
            advert_interval: 100,
            preempt: true,
            preempt_delay: Duration::ZERO,
            primary_address,
            virtual_addresses: Vec::new(),
            auth: Auth::None,
        }
    }

    /// Checks the configuration, naming the offending field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::InvalidVrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::InvalidPriority);
        }
        if !packet::interval_is_valid(self.version, self.advert_interval) {
            return Err(ConfigError::InvalidInterval {
                version: self.version,
                centis: self.advert_interval,
            });
        }
        if self.version == Version::V2 && self.family() != Family::Ipv4 {
            return Err(ConfigError::V2RequiresIpv4);
        }
        if let Some(bad) = self
            .virtual_addresses
            .iter()
            .find(|a| Family::of(a) != self.family())
        {
            return Err(ConfigError::VirtualAddressFamily(*bad));
        }
        if self.virtual_addresses.len() > 255 {
            return Err(ConfigError::TooManyAddresses(self.virtual_addresses.len()));
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(ConfigError::AuthRequiresV2);
        }
        Ok(())
    }

    /// The instance's address family (that of the primary address).
    pub fn family(&self) -> Family {
        Family::of(&self.primary_address)
    }

    /// The advertisement interval as a duration.
    pub fn advert_interval_duration(&self) -> Duration {
        centis(self.advert_interval)
    }

    /// What received advertisements are validated against
    /// (see [`packet::decode_validated`]).
    pub fn expect(&self) -> Expect {
        Expect {
            version: self.version,
            family: self.family(),
            vrid: self.vrid,
            auth: self.auth,
            advert_interval: self.advert_interval,
        }
    }

    /// The advertisement this instance sends with `priority` (encode it
    /// with [`Advertisement::encode`]).
    pub fn advertisement(&self, priority: u8) -> Advertisement {
        Advertisement {
            version: self.version,
            vrid: self.vrid,
            priority,
            max_advert_interval: self.advert_interval,
            addresses: self.virtual_addresses.clone(),
            auth: self.auth,
        }
    }
}

/// State of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running (before startup, after shutdown).
    Initialize,
    /// Listening; takes over when the master goes silent.
    Backup,
    /// Owns the virtual addresses and advertises.
    Master,
    /// Unable to run (interface down, failed tracking, sync group fault):
    /// neither sends nor listens until the fault is cleared.
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "initialize",
            State::Backup => "backup",
            State::Master => "master",
            State::Fault => "fault",
        })
    }
}

/// Why a state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// [`Input::Startup`] of a non-owner.
    Startup,
    /// [`Input::Startup`] of the address owner (priority 255).
    AddressOwner,
    /// The master went silent (Master_Down_Timer expired).
    MasterDown,
    /// A master received an advertisement with a higher priority, or an
    /// equal priority from a higher address.
    HigherPriority,
    /// [`Input::Shutdown`].
    Shutdown,
    /// [`Input::Fault`].
    Fault,
    /// [`Input::FaultCleared`].
    FaultCleared,
    /// Forced by the instance's sync group ([`Input::ForceMaster`],
    /// [`Input::ForceBackup`]).
    Sync,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Startup => "startup",
            Reason::AddressOwner => "address_owner",
            Reason::MasterDown => "master_down",
            Reason::HigherPriority => "higher_priority",
            Reason::Shutdown => "shutdown",
            Reason::Fault => "fault",
            Reason::FaultCleared => "fault_cleared",
            Reason::Sync => "sync",
        })
    }
}

/// An event fed to [`Machine::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start the instance (RFC "Startup event"): the address owner becomes
    /// master at once, anyone else backup. Ignored unless in `Initialize`.
    Startup,
    /// Stop gracefully (RFC "Shutdown event"): a master advertises priority
    /// 0 and releases the addresses. Goes to `Initialize`.
    Shutdown,
    /// A received advertisement that passed
    /// [`packet::decode_validated`].
    AdvertReceived {
        /// Sender's priority.
        priority: u8,
        /// Sender's advertisement interval, centiseconds (v3 backups learn
        /// it; ignored for v2).
        max_advert_interval: u16,
        /// IP source address of the packet (the sender's primary address).
        source: IpAddr,
    },
    /// The caller's timer fired; same as [`Machine::on_tick`]. Harmless
    /// before the deadline.
    Tick,
    /// The effective priority changed (tracking). Clamped to 1..=254; the
    /// address owner keeps 255 whatever the tracking says.
    PriorityChanged {
        /// New effective priority.
        priority: u8,
    },
    /// Enter `Fault` (a master first advertises priority 0 and releases
    /// the addresses).
    Fault,
    /// Leave `Fault` and start again as on [`Input::Startup`].
    FaultCleared,
    /// Sync group: a backup becomes master now. Ignored in other states.
    ForceMaster,
    /// Sync group: a master becomes backup now (without a priority 0
    /// advertisement). Ignored in other states.
    ForceBackup,
}

impl Input {
    /// The input for a validated advertisement received from `source`.
    pub fn from_advertisement(adv: &Advertisement, source: IpAddr) -> Self {
        Input::AdvertReceived {
            priority: adv.priority,
            max_advert_interval: adv.max_advert_interval,
            source,
        }
    }
}

/// What the IO shell must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send an advertisement with that priority: encode
    /// [`Machine::advertisement`]`(priority)`.
    SendAdvert {
        /// Priority to advertise (0 when stopping).
        priority: u8,
    },
    /// Take the virtual addresses: add them to the interface, then send a
    /// gratuitous ARP ([`packet::gratuitous_arp`]) or unsolicited neighbor
    /// advertisement ([`packet::neighbor_advertisement`]) for each.
    BecomeMaster,
    /// Release the virtual addresses: remove them from the interface.
    /// Emitted whenever the machine leaves `Master`, whatever the new state.
    BecomeBackup,
    /// As master, the configured virtual addresses changed: add `added`
    /// (and announce them), remove `removed`.
    VirtualAddressesChanged {
        /// Newly configured addresses.
        added: Vec<IpAddr>,
        /// Addresses no longer configured.
        removed: Vec<IpAddr>,
    },
    /// The state changed (for logs, audit and role events).
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// As master, received an advertisement from another master that does
    /// not win (lower priority, or equal priority and lower address): a
    /// split brain. We reassert with a [`Action::SendAdvert`] right after.
    OtherMasterSeen {
        /// The other master's address.
        address: IpAddr,
        /// The priority it advertised.
        priority: u8,
    },
}

/// Counters of an instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Advertisements handled (not counting our own looped back).
    pub adverts_received: u64,
    /// [`Action::SendAdvert`]s emitted.
    pub adverts_sent: u64,
    /// Priority 0 advertisements received.
    pub priority_zero_received: u64,
    /// Priority 0 advertisements emitted.
    pub priority_zero_sent: u64,
    /// Transitions to master.
    pub became_master: u64,
    /// Advertisements from another, losing master received while master
    /// (split brain).
    pub other_master_seen: u64,
    /// Lower-priority advertisements a preempting backup discarded.
    pub lower_priority_discarded: u64,
}

/// The state machine of one VRRP instance. See the module documentation.
#[derive(Clone, Debug)]
pub struct Machine {
    config: Config,
    state: State,
    /// Effective priority.
    priority: u8,
    /// Master_Adver_Interval: learned from the master in v3.
    master_adver_interval: Duration,
    /// Adver_Timer (master) or Master_Down_Timer (backup).
    deadline: Option<Instant>,
    master_address: Option<IpAddr>,
    /// Last (re)start, from which `preempt_delay` counts.
    started_at: Instant,
    /// When the current state was entered.
    since: Instant,
    stats: Stats,
}

impl Machine {
    /// A machine in `Initialize`; feed it [`Input::Startup`] to run it.
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Machine {
            priority: config.priority,
            master_adver_interval: config.advert_interval_duration(),
            config,
            state: State::Initialize,
            deadline: None,
            master_address: None,
            started_at: now,
            since: now,
            stats: Stats::default(),
        })
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state was entered.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Effective priority (base priority adjusted by
    /// [`Input::PriorityChanged`]).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The current master's address: ours as master, the sender of the
    /// last accepted advertisement as backup, `None` when unknown.
    pub fn master_address(&self) -> Option<IpAddr> {
        self.master_address
    }

    /// Master_Adver_Interval: the configured interval, or in v3 the one
    /// learned from the current master.
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_interval
    }

    /// Skew_Time for the effective priority.
    pub fn skew_time(&self) -> Duration {
        let weight = 256 - u64::from(self.priority);
        let base_us = match self.config.version {
            Version::V2 => 1_000_000,
            Version::V3 => duration_micros(self.master_adver_interval),
        };
        Duration::from_micros(weight * base_us / 256)
    }

    /// Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        3 * self.master_adver_interval + self.skew_time()
    }

    /// When to call [`Machine::on_tick`] next; `None` when no timer runs
    /// (`Initialize`, `Fault`).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What received packets are validated against.
    pub fn expect(&self) -> Expect {
        self.config.expect()
    }

    /// The advertisement to encode for [`Action::SendAdvert`]`{ priority }`.
    pub fn advertisement(&self, priority: u8) -> Advertisement {
        self.config.advertisement(priority)
    }

    /// Handles one input at `now` and returns the actions to execute, in
    /// order. `now` must not go backwards between calls.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Startup => {
                if self.state == State::Initialize {
                    self.start(now, Reason::Startup, &mut out);
                }
            }
            Input::Shutdown => self.stop(now, State::Initialize, Reason::Shutdown, &mut out),
            Input::AdvertReceived {
                priority,
                max_advert_interval,
                source,
            } => self.on_advert(priority, max_advert_interval, source, now, &mut out),
            Input::Tick => self.tick(now, &mut out),
            Input::PriorityChanged { priority } => {
                let priority = if self.config.priority == PRIORITY_OWNER {
                    PRIORITY_OWNER
                } else {
                    priority.clamp(1, PRIORITY_OWNER - 1)
                };
                self.set_priority(priority, now, &mut out);
            }
            Input::Fault => {
                if self.state != State::Fault {
                    self.stop(now, State::Fault, Reason::Fault, &mut out);
                }
            }
            Input::FaultCleared => {
                if self.state == State::Fault {
                    self.start(now, Reason::FaultCleared, &mut out);
                }
            }
            Input::ForceMaster => {
                if self.state == State::Backup {
                    self.become_master(now, Reason::Sync, &mut out);
                }
            }
            Input::ForceBackup => {
                if self.state == State::Master {
                    self.master_adver_interval = self.config.advert_interval_duration();
                    self.master_address = None;
                    self.leave_master(now, Reason::Sync, &mut out);
                }
            }
        }
        out
    }

    /// The timer fired at `now` (same as `handle(Input::Tick, now)`).
    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        self.handle(Input::Tick, now)
    }

    /// Applies a new configuration at `now`.
    ///
    /// `vrid`, `version` and the family of `primary_address` identify the
    /// instance and cannot change ([`ConfigError::RequiresRestart`]: shut
    /// this machine down and create a new one). A new base priority resets
    /// the effective priority to it (re-send [`Input::PriorityChanged`] if
    /// tracking adjusts it). A master announces a new priority at once,
    /// reports changed virtual addresses, and uses a shorter interval
    /// immediately. A v3 backup keeps the interval learned from its master.
    /// On error nothing changes.
    pub fn reconfigure(
        &mut self,
        config: Config,
        now: Instant,
    ) -> Result<Vec<Action>, ConfigError> {
        config.validate()?;
        if config.vrid != self.config.vrid {
            return Err(ConfigError::RequiresRestart("vrid"));
        }
        if config.version != self.config.version {
            return Err(ConfigError::RequiresRestart("version"));
        }
        if config.family() != self.config.family() {
            return Err(ConfigError::RequiresRestart("primary_address"));
        }
        let old = std::mem::replace(&mut self.config, config);
        let mut out = Vec::new();

        if self.state == State::Master {
            self.master_address = Some(self.config.primary_address);
            let added: Vec<IpAddr> = self
                .config
                .virtual_addresses
                .iter()
                .filter(|a| !old.virtual_addresses.contains(a))
                .copied()
                .collect();
            let removed: Vec<IpAddr> = old
                .virtual_addresses
                .iter()
                .filter(|a| !self.config.virtual_addresses.contains(a))
                .copied()
                .collect();
            if !added.is_empty() || !removed.is_empty() {
                out.push(Action::VirtualAddressesChanged { added, removed });
            }
        }

        if self.config.advert_interval != old.advert_interval {
            let interval = self.config.advert_interval_duration();
            match self.state {
                State::Master => {
                    self.master_adver_interval = interval;
                    let next = now + interval;
                    if self.deadline.is_none_or(|d| next < d) {
                        self.deadline = Some(next);
                    }
                }
                State::Backup if self.config.version == Version::V3 => {}
                _ => self.master_adver_interval = interval,
            }
        }

        if self.config.priority != old.priority {
            self.set_priority(self.config.priority, now, &mut out);
        }
        Ok(out)
    }

    /// Initialize/Fault -> Master (owner) or Backup.
    fn start(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        self.started_at = now;
        self.master_adver_interval = self.config.advert_interval_duration();
        if self.priority == PRIORITY_OWNER {
            let reason = if reason == Reason::Startup {
                Reason::AddressOwner
            } else {
                reason
            };
            self.become_master(now, reason, out);
        } else {
            self.master_address = None;
            self.deadline = Some(now + self.master_down_interval());
            self.transition(State::Backup, reason, now, out);
        }
    }

    /// Any state -> Initialize or Fault; a master first advertises
    /// priority 0 and releases the addresses.
    fn stop(&mut self, now: Instant, to: State, reason: Reason, out: &mut Vec<Action>) {
        if self.state == to {
            return;
        }
        if self.state == State::Master {
            self.send(PRIORITY_STOP, out);
            out.push(Action::BecomeBackup);
        }
        self.deadline = None;
        self.master_address = None;
        self.transition(to, reason, now, out);
    }

    fn become_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        self.send(self.priority, out);
        out.push(Action::BecomeMaster);
        self.stats.became_master += 1;
        self.deadline = Some(now + self.config.advert_interval_duration());
        self.master_address = Some(self.config.primary_address);
        self.transition(State::Master, reason, now, out);
    }

    /// Master -> Backup, with the Master_Down_Timer armed.
    fn leave_master(&mut self, now: Instant, reason: Reason, out: &mut Vec<Action>) {
        out.push(Action::BecomeBackup);
        self.deadline = Some(now + self.master_down_interval());
        self.transition(State::Backup, reason, now, out);
    }

    fn transition(&mut self, to: State, reason: Reason, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::StateChanged {
            from: self.state,
            to,
            reason,
        });
        self.state = to;
        self.since = now;
    }

    fn send(&mut self, priority: u8, out: &mut Vec<Action>) {
        self.stats.adverts_sent += 1;
        if priority == PRIORITY_STOP {
            self.stats.priority_zero_sent += 1;
        }
        out.push(Action::SendAdvert { priority });
    }

    /// Whether a backup may now take over from a lower-priority master.
    fn may_preempt(&self, now: Instant) -> bool {
        self.priority == PRIORITY_OWNER
            || (self.config.preempt && now >= self.started_at + self.config.preempt_delay)
    }

    fn learn_interval(&mut self, max_advert_interval: u16) {
        if self.config.version == Version::V3 && max_advert_interval != 0 {
            self.master_adver_interval = centis(max_advert_interval);
        }
    }

    fn on_advert(
        &mut self,
        priority: u8,
        max_advert_interval: u16,
        source: IpAddr,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if source == self.config.primary_address {
            // Our own advertisement, looped back.
            return;
        }
        match self.state {
            State::Initialize | State::Fault => return,
            State::Backup | State::Master => {}
        }
        self.stats.adverts_received += 1;
        if priority == PRIORITY_STOP {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => {
                if priority == PRIORITY_STOP {
                    // The master is stopping: take over after Skew_Time.
                    self.deadline = Some(now + self.skew_time());
                    self.master_address = None;
                } else if !self.may_preempt(now) || priority >= self.priority {
                    self.learn_interval(max_advert_interval);
                    self.deadline = Some(now + self.master_down_interval());
                    self.master_address = Some(source);
                } else {
                    // Preempting: discard, let the Master_Down_Timer expire.
                    self.stats.lower_priority_discarded += 1;
                }
            }
            State::Master => {
                if priority == PRIORITY_STOP {
                    self.send(self.priority, out);
                    self.deadline = Some(now + self.config.advert_interval_duration());
                } else if priority > self.priority
                    || (priority == self.priority && source > self.config.primary_address)
                {
                    self.learn_interval(max_advert_interval);
                    self.master_address = Some(source);
                    self.leave_master(now, Reason::HigherPriority, out);
                } else {
                    // Another master that loses: reassert (keepalived).
                    self.stats.other_master_seen += 1;
                    out.push(Action::OtherMasterSeen {
                        address: source,
                        priority,
                    });
                    self.send(self.priority, out);
                    self.deadline = Some(now + self.config.advert_interval_duration());
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.deadline {
            Some(deadline) if now >= deadline => {}
            _ => return,
        }
        match self.state {
            State::Backup => self.become_master(now, Reason::MasterDown, out),
            State::Master => {
                self.send(self.priority, out);
                self.deadline = Some(now + self.config.advert_interval_duration());
            }
            State::Initialize | State::Fault => self.deadline = None,
        }
    }

    fn set_priority(&mut self, priority: u8, now: Instant, out: &mut Vec<Action>) {
        if priority == self.priority {
            return;
        }
        self.priority = priority;
        if self.state == State::Master {
            // Announce at once so that a better backup can preempt.
            self.send(priority, out);
            self.deadline = Some(now + self.config.advert_interval_duration());
        }
        // A backup's new Skew_Time applies from the next timer reset.
    }
}

fn centis(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

fn duration_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn tu(us: u64) -> Instant {
        Instant::from_duration(Duration::from_micros(us))
    }

    fn cfg(version: Version, priority: u8) -> Config {
        Config {
            priority,
            virtual_addresses: vec![ip("192.168.10.180")],
            ..Config::new(51, version, ip("10.0.0.1"))
        }
    }

    fn advert(priority: u8, from: &str) -> Input {
        Input::AdvertReceived {
            priority,
            max_advert_interval: 100,
            source: ip(from),
        }
    }

    fn changed(from: State, to: State, reason: Reason) -> Action {
        Action::StateChanged { from, to, reason }
    }

    fn started(version: Version, priority: u8) -> Machine {
        let mut m = Machine::new(cfg(version, priority), t(0)).unwrap();
        m.handle(Input::Startup, t(0));
        m
    }

    fn master(version: Version, priority: u8) -> Machine {
        let mut m = started(version, priority);
        if m.state() == State::Backup {
            let d = m.next_deadline().unwrap();
            m.on_tick(d);
        }
        assert_eq!(m.state(), State::Master);
        m
    }

    // ---- Initialize ----

    #[test]
    fn startup_owner_goes_master() {
        let mut m = Machine::new(cfg(Version::V2, 255), t(0)).unwrap();
        assert_eq!(m.next_deadline(), None);
        let out = m.handle(Input::Startup, t(5));
        assert_eq!(
            out,
            vec![
                Action::SendAdvert { priority: 255 },
                Action::BecomeMaster,
                changed(State::Initialize, State::Master, Reason::AddressOwner),
            ]
        );
        assert_eq!(m.next_deadline(), Some(t(1005)));
        assert_eq!(m.master_address(), Some(ip("10.0.0.1")));
        assert_eq!(m.since(), t(5));
    }

    #[test]
    fn startup_non_owner_goes_backup_with_master_down_timer() {
        let mut m = Machine::new(cfg(Version::V2, 100), t(0)).unwrap();
        let out = m.handle(Input::Startup, t(0));
        assert_eq!(
            out,
            vec![changed(State::Initialize, State::Backup, Reason::Startup)]
        );
        // 3 * 1 s + (256 - 100) / 256 s = 3.609375 s
        assert_eq!(m.skew_time(), Duration::from_micros(609_375));
        assert_eq!(m.next_deadline(), Some(tu(3_609_375)));
        assert_eq!(m.master_address(), None);
    }

    #[test]
    fn v3_skew_scales_with_interval() {
        let mut c = cfg(Version::V3, 200);
        c.advert_interval = 50;
        let mut m = Machine::new(c, t(0)).unwrap();
        m.handle(Input::Startup, t(0));
        // 3 * 0.5 s + 56 * 500000 / 256 us = 1.5 s + 109375 us
        assert_eq!(m.skew_time(), Duration::from_micros(109_375));
        assert_eq!(m.next_deadline(), Some(tu(1_609_375)));
    }

    #[test]
    fn initialize_ignores_everything_but_startup_and_fault() {
        let mut m = Machine::new(cfg(Version::V2, 100), t(0)).unwrap();
        for input in [
            advert(200, "10.0.0.2"),
            advert(0, "10.0.0.2"),
            Input::Tick,
            Input::Shutdown,
            Input::FaultCleared,
            Input::ForceMaster,
            Input::ForceBackup,
        ] {
            assert_eq!(m.handle(input, t(10)), vec![]);
            assert_eq!(m.state(), State::Initialize);
        }
        assert_eq!(m.stats().adverts_received, 0);
    }

    #[test]
    fn startup_twice_is_ignored() {
        let mut m = started(Version::V2, 100);
        assert_eq!(m.handle(Input::Startup, t(100)), vec![]);
        assert_eq!(m.next_deadline(), Some(tu(3_609_375)));
    }

    // ---- Backup ----

    #[test]
    fn backup_shutdown() {
        let mut m = started(Version::V2, 100);
        assert_eq!(
            m.handle(Input::Shutdown, t(1)),
            vec![changed(State::Backup, State::Initialize, Reason::Shutdown)]
        );
        assert_eq!(m.next_deadline(), None);
        // And it can start again.
        m.handle(Input::Startup, t(2));
        assert_eq!(m.state(), State::Backup);
    }

    #[test]
    fn backup_master_down_timer_fires_exactly_at_deadline() {
        let mut m = started(Version::V2, 100);
        assert_eq!(m.on_tick(tu(3_609_374)), vec![]);
        assert_eq!(m.state(), State::Backup);
        assert_eq!(
            m.on_tick(tu(3_609_375)),
            vec![
                Action::SendAdvert { priority: 100 },
                Action::BecomeMaster,
                changed(State::Backup, State::Master, Reason::MasterDown),
            ]
        );
        assert_eq!(m.next_deadline(), Some(tu(4_609_375)));
        assert_eq!(m.stats().became_master, 1);
    }

    #[test]
    fn backup_priority_zero_sets_skew_timer() {
        let mut m = started(Version::V2, 100);
        m.handle(advert(150, "10.0.0.2"), t(1000));
        assert_eq!(m.master_address(), Some(ip("10.0.0.2")));
        assert_eq!(m.handle(advert(0, "10.0.0.2"), t(2000)), vec![]);
        assert_eq!(m.next_deadline(), Some(tu(2_609_375)));
        assert_eq!(m.master_address(), None);
        assert_eq!(m.stats().priority_zero_received, 1);
    }

    #[test]
    fn backup_higher_or_equal_priority_resets_timer() {
        for (prio, from) in [(150, "10.0.0.2"), (100, "10.0.0.2"), (100, "10.0.0.0")] {
            let mut m = started(Version::V2, 100);
            assert_eq!(m.handle(advert(prio, from), t(3000)), vec![]);
            assert_eq!(m.state(), State::Backup);
            assert_eq!(m.next_deadline(), Some(tu(6_609_375)));
            assert_eq!(m.master_address(), Some(ip(from)));
        }
    }

    #[test]
    fn backup_lower_priority_with_preempt_is_discarded() {
        let mut m = started(Version::V2, 100);
        assert_eq!(m.handle(advert(50, "10.0.0.2"), t(3000)), vec![]);
        assert_eq!(m.next_deadline(), Some(tu(3_609_375)));
        assert_eq!(m.stats().lower_priority_discarded, 1);
        assert_eq!(m.master_address(), None);
    }

    #[test]
    fn backup_lower_priority_without_preempt_resets_timer() {
        let mut c = cfg(Version::V2, 100);
        c.preempt = false;
        let mut m = Machine::new(c, t(0)).unwrap();
        m.handle(Input::Startup, t(0));
        m.handle(advert(50, "10.0.0.2"), t(3000));
        assert_eq!(m.next_deadline(), Some(tu(6_609_375)));
        assert_eq!(m.master_address(), Some(ip("10.0.0.2")));
    }

    #[test]
    fn owner_in_backup_always_preempts() {
        let mut c = cfg(Version::V2, 255);
        c.preempt = false;
        let mut m = Machine::new(c, t(0)).unwrap();
        m.handle(Input::Startup, t(0));
        // Lose to another owner with a higher address, then it drops.
        m.handle(advert(255, "10.0.0.2"), t(100));
        assert_eq!(m.state(), State::Backup);
        m.handle(advert(200, "10.0.0.2"), t(1100));
        let deadline = m.next_deadline().unwrap();
        assert_eq!(deadline, t(100) + m.master_down_interval());
        assert_eq!(m.stats().lower_priority_discarded, 1);
    }

    #[test]
    fn preempt_delay_counts_from_startup() {
        let mut c = cfg(Version::V2, 200);
        c.preempt_delay = Duration::from_secs(10);
        let mut m = Machine::new(c, t(0)).unwrap();
        m.handle(Input::Startup, t(0));
        m.handle(advert(100, "10.0.0.2"), t(9_999));
        assert_eq!(m.master_address(), Some(ip("10.0.0.2")));
        let before = m.next_deadline();
        m.handle(advert(100, "10.0.0.2"), t(10_000));
        assert_eq!(m.next_deadline(), before);
        assert_eq!(m.stats().lower_priority_discarded, 1);
    }

    #[test]
    fn v3_backup_learns_master_interval() {
        let mut m = started(Version::V3, 100);
        m.handle(
            Input::AdvertReceived {
                priority: 200,
                max_advert_interval: 50,
                source: ip("10.0.0.2"),
            },
            t(1000),
        );
        assert_eq!(m.master_adver_interval(), Duration::from_millis(500));
        // 1.5 s + 156 * 500000 / 256 us (304687.5, truncated)
        assert_eq!(
            m.next_deadline(),
            Some(t(1000) + Duration::from_micros(1_804_687))
        );
    }

    #[test]
    fn v2_backup_does_not_learn_interval() {
        let mut m = started(Version::V2, 100);
        m.handle(
            Input::AdvertReceived {
                priority: 200,
                max_advert_interval: 300,
                source: ip("10.0.0.2"),
            },
            t(1000),
        );
        assert_eq!(m.master_adver_interval(), Duration::from_secs(1));
    }

    #[test]
    fn v3_lower_priority_discarded_does_not_learn() {
        let mut m = started(Version::V3, 100);
        m.handle(
            Input::AdvertReceived {
                priority: 50,
                max_advert_interval: 300,
                source: ip("10.0.0.2"),
            },
            t(1000),
        );
        assert_eq!(m.master_adver_interval(), Duration::from_secs(1));
    }

    #[test]
    fn own_adverts_are_ignored() {
        let mut m = master(Version::V2, 100);
        assert_eq!(m.handle(advert(100, "10.0.0.1"), t(5000)), vec![]);
        assert_eq!(m.stats().adverts_received, 0);
        assert_eq!(m.stats().other_master_seen, 0);
    }

    // ---- Master ----

    #[test]
    fn master_shutdown_sends_priority_zero() {
        let mut m = master(Version::V2, 100);
        assert_eq!(
            m.handle(Input::Shutdown, t(5000)),
            vec![
                Action::SendAdvert { priority: 0 },
                Action::BecomeBackup,
                changed(State::Master, State::Initialize, Reason::Shutdown),
            ]
        );
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.master_address(), None);
        assert_eq!(m.stats().priority_zero_sent, 1);
    }

    #[test]
    fn master_adver_timer() {
        let mut m = master(Version::V2, 100);
        let d = m.next_deadline().unwrap();
        assert_eq!(
            m.on_tick(Instant::from_duration(
                d.since_epoch() - Duration::from_micros(1)
            )),
            vec![]
        );
        assert_eq!(m.on_tick(d), vec![Action::SendAdvert { priority: 100 }]);
        assert_eq!(m.next_deadline(), Some(d + Duration::from_secs(1)));
        // A late tick re-arms from now, no burst.
        let late = d + Duration::from_secs(5);
        assert_eq!(m.on_tick(late), vec![Action::SendAdvert { priority: 100 }]);
        assert_eq!(m.on_tick(late), vec![]);
        assert_eq!(m.next_deadline(), Some(late + Duration::from_secs(1)));
    }

    #[test]
    fn master_priority_zero_sends_advert() {
        let mut m = master(Version::V2, 100);
        assert_eq!(
            m.handle(advert(0, "10.0.0.2"), t(5000)),
            vec![Action::SendAdvert { priority: 100 }]
        );
        assert_eq!(m.next_deadline(), Some(t(6000)));
        assert_eq!(m.state(), State::Master);
    }

    #[test]
    fn master_higher_priority_goes_backup() {
        let mut m = master(Version::V3, 100);
        let out = m.handle(
            Input::AdvertReceived {
                priority: 101,
                max_advert_interval: 200,
                source: ip("10.0.0.0"),
            },
            t(5000),
        );
        assert_eq!(
            out,
            vec![
                Action::BecomeBackup,
                changed(State::Master, State::Backup, Reason::HigherPriority),
            ]
        );
        assert_eq!(m.master_adver_interval(), Duration::from_secs(2));
        assert_eq!(m.next_deadline(), Some(t(5000) + m.master_down_interval()));
        assert_eq!(m.master_address(), Some(ip("10.0.0.0")));
    }

    #[test]
    fn master_equal_priority_tie_break_by_address() {
        let mut m = master(Version::V2, 100);
        let out = m.handle(advert(100, "10.0.0.2"), t(5000));
        assert_eq!(
            out,
            vec![
                Action::BecomeBackup,
                changed(State::Master, State::Backup, Reason::HigherPriority),
            ]
        );

        let mut m = master(Version::V2, 100);
        let out = m.handle(advert(100, "10.0.0.0"), t(5000));
        assert_eq!(
            out,
            vec![
                Action::OtherMasterSeen {
                    address: ip("10.0.0.0"),
                    priority: 100
                },
                Action::SendAdvert { priority: 100 },
            ]
        );
        assert_eq!(m.state(), State::Master);
    }

    #[test]
    fn master_lower_priority_reasserts_and_counts_split_brain() {
        let mut m = master(Version::V2, 100);
        let out = m.handle(advert(90, "10.0.0.9"), t(5000));
        assert_eq!(
            out,
            vec![
                Action::OtherMasterSeen {
                    address: ip("10.0.0.9"),
                    priority: 90
                },
                Action::SendAdvert { priority: 100 },
            ]
        );
        assert_eq!(m.next_deadline(), Some(t(6000)));
        assert_eq!(m.stats().other_master_seen, 1);
    }

    // ---- Priority, fault, sync ----

    #[test]
    fn priority_change_as_master_announces_at_once() {
        let mut m = master(Version::V2, 100);
        assert_eq!(
            m.handle(Input::PriorityChanged { priority: 80 }, t(5000)),
            vec![Action::SendAdvert { priority: 80 }]
        );
        assert_eq!(m.priority(), 80);
        assert_eq!(
            m.handle(Input::PriorityChanged { priority: 80 }, t(5100)),
            vec![]
        );
        // Clamped to 1..=254.
        m.handle(Input::PriorityChanged { priority: 0 }, t(5200));
        assert_eq!(m.priority(), 1);
        m.handle(Input::PriorityChanged { priority: 255 }, t(5300));
        assert_eq!(m.priority(), 254);
    }

    #[test]
    fn owner_ignores_priority_changes() {
        let mut m = master(Version::V2, 255);
        assert_eq!(
            m.handle(Input::PriorityChanged { priority: 10 }, t(1)),
            vec![]
        );
        assert_eq!(m.priority(), 255);
    }

    #[test]
    fn priority_change_as_backup_applies_at_next_reset() {
        let mut m = started(Version::V2, 100);
        assert_eq!(
            m.handle(Input::PriorityChanged { priority: 200 }, t(1000)),
            vec![]
        );
        assert_eq!(m.next_deadline(), Some(tu(3_609_375)));
        // Now it preempts a 150 master.
        m.handle(advert(150, "10.0.0.2"), t(2000));
        assert_eq!(m.next_deadline(), Some(tu(3_609_375)));
        m.on_tick(tu(3_609_375));
        assert_eq!(m.state(), State::Master);
    }

    #[test]
    fn fault_from_each_state() {
        let mut m = master(Version::V2, 100);
        assert_eq!(
            m.handle(Input::Fault, t(5000)),
            vec![
                Action::SendAdvert { priority: 0 },
                Action::BecomeBackup,
                changed(State::Master, State::Fault, Reason::Fault),
            ]
        );
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.handle(Input::Fault, t(5001)), vec![]);
        assert_eq!(m.handle(advert(200, "10.0.0.2"), t(5002)), vec![]);
        assert_eq!(m.handle(Input::Startup, t(5003)), vec![]);
        assert_eq!(m.on_tick(t(99_000)), vec![]);
        assert_eq!(
            m.handle(Input::FaultCleared, t(6000)),
            vec![changed(State::Fault, State::Backup, Reason::FaultCleared)]
        );
        assert_eq!(m.next_deadline(), Some(t(6000) + m.master_down_interval()));

        let mut m = started(Version::V2, 100);
        assert_eq!(
            m.handle(Input::Fault, t(1)),
            vec![changed(State::Backup, State::Fault, Reason::Fault)]
        );
        assert_eq!(
            m.handle(Input::Shutdown, t(2)),
            vec![changed(State::Fault, State::Initialize, Reason::Shutdown)]
        );

        let mut m = Machine::new(cfg(Version::V2, 255), t(0)).unwrap();
        assert_eq!(
            m.handle(Input::Fault, t(0)),
            vec![changed(State::Initialize, State::Fault, Reason::Fault)]
        );
        assert_eq!(
            m.handle(Input::FaultCleared, t(1)),
            vec![
                Action::SendAdvert { priority: 255 },
                Action::BecomeMaster,
                changed(State::Fault, State::Master, Reason::FaultCleared),
            ]
        );
    }

    #[test]
    fn fault_cleared_restarts_preempt_delay() {
        let mut c = cfg(Version::V2, 200);
        c.preempt_delay = Duration::from_secs(10);
        let mut m = Machine::new(c, t(0)).unwrap();
        m.handle(Input::Startup, t(0));
        m.handle(Input::Fault, t(20_000));
        m.handle(Input::FaultCleared, t(30_000));
        m.handle(advert(100, "10.0.0.2"), t(31_000));
        assert_eq!(m.master_address(), Some(ip("10.0.0.2")));
        assert_eq!(m.stats().lower_priority_discarded, 0);
    }

    #[test]
    fn forced_transitions() {
        let mut m = started(Version::V2, 100);
        assert_eq!(
            m.handle(Input::ForceMaster, t(1000)),
            vec![
                Action::SendAdvert { priority: 100 },
                Action::BecomeMaster,
                changed(State::Backup, State::Master, Reason::Sync),
            ]
        );
        assert_eq!(m.handle(Input::ForceMaster, t(1001)), vec![]);
        assert_eq!(
            m.handle(Input::ForceBackup, t(2000)),
            vec![
                Action::BecomeBackup,
                changed(State::Master, State::Backup, Reason::Sync),
            ]
        );
        assert_eq!(m.next_deadline(), Some(t(2000) + m.master_down_interval()));
        assert_eq!(m.master_address(), None);
        assert_eq!(m.handle(Input::ForceBackup, t(2001)), vec![]);
    }

    // ---- Configuration ----

    #[test]
    fn config_validation_names_the_field() {
        let ok = cfg(Version::V2, 100);
        assert_eq!(ok.validate(), Ok(()));
        let cases = [
            (
                Config {
                    vrid: 0,
                    ..ok.clone()
                },
                ConfigError::InvalidVrid,
            ),
            (
                Config {
                    priority: 0,
                    ..ok.clone()
                },
                ConfigError::InvalidPriority,
            ),
            (
                Config {
                    advert_interval: 150,
                    ..ok.clone()
                },
                ConfigError::InvalidInterval {
                    version: Version::V2,
                    centis: 150,
                },
            ),
            (
                Config {
                    advert_interval: 4096,
                    version: Version::V3,
                    ..ok.clone()
                },
                ConfigError::InvalidInterval {
                    version: Version::V3,
                    centis: 4096,
                },
            ),
            (
                Config {
                    primary_address: ip("fe80::1"),
                    virtual_addresses: vec![],
                    ..ok.clone()
                },
                ConfigError::V2RequiresIpv4,
            ),
            (
                Config {
                    virtual_addresses: vec![ip("2001:db8::1")],
                    ..ok.clone()
                },
                ConfigError::VirtualAddressFamily(ip("2001:db8::1")),
            ),
            (
                Config {
                    virtual_addresses: vec![ip("10.0.0.5"); 256],
                    ..ok.clone()
                },
                ConfigError::TooManyAddresses(256),
            ),
            (
                Config {
                    version: Version::V3,
                    auth: Auth::simple("x").unwrap(),
                    ..ok.clone()
                },
                ConfigError::AuthRequiresV2,
            ),
        ];
        for (c, e) in cases {
            assert_eq!(c.validate(), Err(e.clone()));
            assert_eq!(Machine::new(c, t(0)).unwrap_err(), e);
        }
        assert!(ConfigError::InvalidVrid.to_string().starts_with("vrid:"));
    }

    #[test]
    fn reconfigure_rejects_identity_changes() {
        let mut m = master(Version::V2, 100);
        let c = m.config().clone();
        assert_eq!(
            m.reconfigure(
                Config {
                    vrid: 52,
                    ..c.clone()
                },
                t(1)
            ),
            Err(ConfigError::RequiresRestart("vrid"))
        );
        assert_eq!(
            m.reconfigure(
                Config {
                    version: Version::V3,
                    ..c.clone()
                },
                t(1)
            ),
            Err(ConfigError::RequiresRestart("version"))
        );
        assert_eq!(
            m.reconfigure(
                Config {
                    priority: 0,
                    ..c.clone()
                },
                t(1)
            ),
            Err(ConfigError::InvalidPriority)
        );
        assert_eq!(m.config(), &c);
    }

    #[test]
    fn reconfigure_master() {
        let mut m = master(Version::V3, 100);
        let now = m.since() + Duration::from_millis(100);
        let mut c = m.config().clone();
        c.virtual_addresses = vec![ip("192.168.10.181")];
        c.priority = 120;
        c.advert_interval = 20;
        let out = m.reconfigure(c, now).unwrap();
        assert_eq!(
            out,
            vec![
                Action::VirtualAddressesChanged {
                    added: vec![ip("192.168.10.181")],
                    removed: vec![ip("192.168.10.180")],
                },
                Action::SendAdvert { priority: 120 },
            ]
        );
        assert_eq!(m.priority(), 120);
        assert_eq!(m.next_deadline(), Some(now + Duration::from_millis(200)));
        assert_eq!(m.advertisement(120).max_advert_interval, 20);
    }

    #[test]
    fn reconfigure_backup_keeps_learned_v3_interval() {
        let mut m = started(Version::V3, 100);
        m.handle(
            Input::AdvertReceived {
                priority: 200,
                max_advert_interval: 50,
                source: ip("10.0.0.2"),
            },
            t(1000),
        );
        let mut c = m.config().clone();
        c.advert_interval = 300;
        c.virtual_addresses.clear();
        assert_eq!(m.reconfigure(c, t(1100)), Ok(vec![]));
        assert_eq!(m.master_adver_interval(), Duration::from_millis(500));
    }

    #[test]
    fn reconfigure_priority_resets_tracking() {
        let mut m = started(Version::V2, 100);
        m.handle(Input::PriorityChanged { priority: 70 }, t(1));
        let mut c = m.config().clone();
        c.preempt = false;
        m.reconfigure(c.clone(), t(2)).unwrap();
        assert_eq!(m.priority(), 70, "unchanged base priority keeps tracking");
        c.priority = 110;
        m.reconfigure(c, t(3)).unwrap();
        assert_eq!(m.priority(), 110);
    }

    #[test]
    fn advertisement_and_expect_follow_config() {
        let mut c = cfg(Version::V2, 100);
        c.auth = Auth::simple("1111").unwrap();
        let m = Machine::new(c, t(0)).unwrap();
        let adv = m.advertisement(0);
        assert_eq!(adv.priority, 0);
        assert_eq!(adv.vrid, 51);
        assert_eq!(adv.addresses, vec![ip("192.168.10.180")]);
        let e = m.expect();
        assert_eq!(e.vrid, 51);
        assert_eq!(e.family, Family::Ipv4);
        assert_eq!(e.auth, Auth::simple("1111").unwrap());
        assert_eq!(
            Input::from_advertisement(&adv, ip("10.0.0.1")),
            advert(0, "10.0.0.1")
        );
    }
}
