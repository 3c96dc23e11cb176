//! A lock-free histogram of scheduling lateness: how long after its scheduled time a check really started.
//!
//! Buckets: 10 µs wide below 1 ms, 1 ms wide below 100 ms, 100 ms wide below 10 s, then one overflow bucket.
//! Quantiles are reported as the upper bound of their bucket (capped by the maximum seen).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const FINE: u64 = 100; // [0, 1 ms) by 10 µs
const MEDIUM: u64 = 99; // [1 ms, 100 ms) by 1 ms
const COARSE: u64 = 99; // [100 ms, 10 s) by 100 ms
const BUCKETS: usize = (FINE + MEDIUM + COARSE + 1) as usize;

#[derive(Debug)]
pub struct LatenessHistogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max_us: AtomicU64,
}

/// Lateness figures over every check so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatenessSummary {
    pub count: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Default for LatenessHistogram {
    fn default() -> Self {
        LatenessHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    let i = if us < 1_000 {
        us / 10
    } else if us < 100_000 {
        FINE + (us - 1_000) / 1_000
    } else if us < 10_000_000 {
        FINE + MEDIUM + (us - 100_000) / 100_000
    } else {
        FINE + MEDIUM + COARSE
    };
    i as usize
}

/// The exclusive upper bound of bucket `i`, in µs (the overflow bucket has none).
fn upper_us(i: usize) -> Option<u64> {
    let i = i as u64;
    if i < FINE {
        Some((i + 1) * 10)
    } else if i < FINE + MEDIUM {
        Some(1_000 + (i - FINE + 1) * 1_000)
    } else if i < FINE + MEDIUM + COARSE {
        Some(100_000 + (i - FINE - MEDIUM + 1) * 100_000)
    } else {
        None
    }
}

impl LatenessHistogram {
    pub fn record(&self, lateness: Duration) {
        let us = u64::try_from(lateness.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    pub fn summary(&self) -> LatenessSummary {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let max_us = self.max_us.load(Ordering::Relaxed);
        let quantile = |q: f64| -> Duration {
            if count == 0 {
                return Duration::ZERO;
            }
            let rank = ((count as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    let us = upper_us(i).map_or(max_us, |u| u.min(max_us));
                    return Duration::from_micros(us);
                }
            }
            Duration::from_micros(max_us)
        };
        LatenessSummary {
            count,
            p50: quantile(0.50),
            p99: quantile(0.99),
            max: Duration::from_micros(max_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous() {
        for i in 0..BUCKETS - 1 {
            let hi = upper_us(i).unwrap();
            assert_eq!(bucket_of(hi - 1), i);
            assert_eq!(bucket_of(hi), i + 1);
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(upper_us(BUCKETS - 1), None);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = LatenessHistogram::default();
        assert_eq!(h.summary(), LatenessSummary::default());
        for _ in 0..98 {
            h.record(Duration::from_micros(105));
        }
        h.record(Duration::from_millis(7));
        h.record(Duration::from_secs(12));
        let s = h.summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, Duration::from_micros(110));
        assert_eq!(s.p99, Duration::from_millis(8));
        assert_eq!(s.max, Duration::from_secs(12));
    }

    #[test]
    fn quantiles_never_exceed_the_maximum() {
        let h = LatenessHistogram::default();
        h.record(Duration::from_micros(1_500));
        let s = h.summary();
        assert_eq!(s.p50, Duration::from_micros(1_500));
        assert_eq!(s.p99, Duration::from_micros(1_500));
    }
}
