//! When checks run. Pure arithmetic on instants; the engine's tasks sleep until the times computed here.
//!
//! Checks run on a fixed grid (`scheduled + interval`), so they do not drift by the time each check takes.
//! After a failure with `retry_delay_ms` set, the next check runs that long after the failure was seen
//! (keepalived's `delay_before_retry`), and the grid restarts from there. A check that overran its slot is
//! followed at once by the next one rather than by a burst of catch-up checks.

use director_core::model::HealthCheck;
use std::time::Duration;
use tokio::time::Instant;

/// The shortest interval the engine runs, whatever the spec says (validation allows 100 ms and up).
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The timing parameters of one target's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub interval: Duration,
    pub timeout: Duration,
    /// Delay after a failure before the next check; `None`: stay on the interval grid.
    pub retry_delay: Option<Duration>,
    /// Upper bound of the random delay before the first check.
    pub warmup: Duration,
}

impl Timing {
    pub fn of(check: &HealthCheck) -> Self {
        let interval = Duration::from_millis(check.interval_ms).max(MIN_INTERVAL);
        Timing {
            interval,
            timeout: Duration::from_millis(check.timeout_ms.max(1)),
            retry_delay: check.retry_delay_ms.map(Duration::from_millis),
            warmup: Duration::from_millis(check.warmup_ms.unwrap_or(0)),
        }
    }

    /// The first check's start: `now` plus `fraction` (0.0..=1.0, random in the engine) of the warmup.
    pub fn first_start(&self, now: Instant, fraction: f64) -> Instant {
        now + self.warmup.mul_f64(fraction.clamp(0.0, 1.0))
    }

    /// The next check's start after a check scheduled at `scheduled` finished at `finished`.
    pub fn next_start(&self, scheduled: Instant, finished: Instant, succeeded: bool) -> Instant {
        if !succeeded {
            if let Some(retry) = self.retry_delay {
                return finished + retry;
            }
        }
        (scheduled + self.interval).max(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use director_core::model::CheckKind;

    fn timing(retry: Option<u64>) -> Timing {
        let mut hc = HealthCheck::new(CheckKind::Tcp);
        hc.interval_ms = 1000;
        hc.timeout_ms = 300;
        hc.retry_delay_ms = retry;
        hc.warmup_ms = Some(500);
        Timing::of(&hc)
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn successes_stay_on_the_grid_whatever_the_check_took() {
        let t = timing(None);
        let t0 = Instant::now();
        assert_eq!(t.next_start(t0, t0 + MS(250), true), t0 + MS(1000));
        assert_eq!(t.next_start(t0, t0 + MS(999), true), t0 + MS(1000));
        // Without retry_delay a failure stays on the grid too.
        assert_eq!(t.next_start(t0, t0 + MS(300), false), t0 + MS(1000));
    }

    #[test]
    fn an_overrun_check_is_followed_at_once_without_catch_up() {
        let t = timing(None);
        let t0 = Instant::now();
        assert_eq!(t.next_start(t0, t0 + MS(3500), true), t0 + MS(3500));
    }

    #[test]
    fn retry_delay_counts_from_the_failure() {
        let t = timing(Some(200));
        let t0 = Instant::now();
        assert_eq!(t.next_start(t0, t0 + MS(300), false), t0 + MS(500));
        assert_eq!(t.next_start(t0, t0 + MS(300), true), t0 + MS(1000));
    }

    #[test]
    fn warmup_spreads_the_first_check() {
        let t = timing(None);
        let t0 = Instant::now();
        assert_eq!(t.first_start(t0, 0.0), t0);
        assert_eq!(t.first_start(t0, 0.5), t0 + MS(250));
        assert_eq!(t.first_start(t0, 7.0), t0 + MS(500));
        let none = Timing::of(&HealthCheck::new(CheckKind::Tcp));
        assert_eq!(none.first_start(t0, 1.0), t0);
    }

    #[test]
    fn absurd_specs_are_bounded() {
        let mut hc = HealthCheck::new(CheckKind::Tcp);
        hc.interval_ms = 0;
        hc.timeout_ms = 0;
        let t = Timing::of(&hc);
        assert_eq!(t.interval, MIN_INTERVAL);
        assert_eq!(t.timeout, MS(1));
    }
}
