//! A lock-free histogram of durations with fixed bucket bounds, read as a [`HistogramSnapshot`] at scrape
//! time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bounds (seconds) for reconcile passes: one netlink dump and a few operations take about a millisecond;
/// thousands of services take seconds.
pub const PASS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Bounds (seconds) for HTTP requests.
pub const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative); one more than `bounds` for the observations above the last bound.
    counts: Vec<AtomicU64>,
    sum_ns: AtomicU64,
}

/// What a histogram held at one moment; `counts` per bound, not cumulative, without the `+Inf` overflow.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.bounds.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        // The count is the sum of the buckets read, so the +Inf bucket always equals it.
        let count = counts.iter().sum();
        HistogramSnapshot {
            bounds: self.bounds.to_vec(),
            counts: counts[..self.bounds.len()].to_vec(),
            count,
            sum_seconds: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_fall_in_the_first_bucket_that_holds_them() {
        static BOUNDS: &[f64] = &[0.01, 0.1];
        let h = Histogram::new(BOUNDS);
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_millis(10));
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_secs(3));
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 1]);
        assert_eq!(s.count, 4);
        assert!((s.sum_seconds - 3.065).abs() < 1e-9, "{}", s.sum_seconds);
    }
}
