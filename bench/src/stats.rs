//! Summaries of repeated measurements: median, p90 (nearest rank), min, max.

use std::time::Duration;

use serde_json::{Value as Json, json};

/// A summary of `n` samples, in the samples' unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// The median (mean of the middle two for even `n`).
    pub median: f64,
    /// The 90th percentile, nearest-rank.
    pub p90: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Summary> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // Nearest rank: the smallest sample with at least 90 % at or below it.
        let rank = (0.9 * n as f64).ceil() as usize;
        Some(Summary {
            n,
            median,
            p90: s[rank.clamp(1, n) - 1],
            min: s[0],
            max: s[n - 1],
        })
    }

    /// Summarises durations in milliseconds.
    pub fn of_millis(samples: &[Duration]) -> Option<Summary> {
        Summary::of(
            &samples
                .iter()
                .map(|d| d.as_secs_f64() * 1e3)
                .collect::<Vec<_>>(),
        )
    }

    /// Summarises durations in seconds.
    pub fn of_secs(samples: &[Duration]) -> Option<Summary> {
        Summary::of(
            &samples
                .iter()
                .map(Duration::as_secs_f64)
                .collect::<Vec<_>>(),
        )
    }

    /// The summary as JSON, `unit` naming what the numbers are.
    pub fn to_json(self, unit: &str) -> Json {
        json!({
            "unit": unit,
            "n": self.n,
            "median": self.median,
            "p90": self.p90,
            "min": self.min,
            "max": self.max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        let odd = Summary::of(&[5.0, 1.0, 3.0]).unwrap_or_else(|| unreachable!());
        assert_eq!(
            (odd.median, odd.p90, odd.min, odd.max),
            (3.0, 5.0, 1.0, 5.0)
        );
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = Summary::of(&ten).unwrap_or_else(|| unreachable!());
        assert_eq!((s.median, s.p90), (5.5, 9.0));
        let one = Summary::of(&[2.0]).unwrap_or_else(|| unreachable!());
        assert_eq!((one.median, one.p90), (2.0, 2.0));
        assert_eq!(Summary::of(&[]), None);
    }
}
