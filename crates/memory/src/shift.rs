//! Change points in a performance series: where its level shifted for good (a test that
//! became slower from one commit on), by E-Divisive with means (Matteson and James;
//! the variant MongoDB's performance CI uses): the split that best separates the means of
//! the two sides, kept when a permutation test says so, then each side split again.
//!
//! Written here rather than taken from a crate: the Rust port of E-Divisive (`edivisive`,
//! one release in 2021) is unmaintained, and `changepoint` answers another question
//! (online Bayesian detection) with a numerical stack (nalgebra, rv) far heavier than
//! the sixty lines this takes. Permutations are drawn from a fixed seed, so the same
//! series always gives the same answer.

use serde::Serialize;

/// The fewest points on each side of a change point.
pub const MIN_SIDE: usize = 3;
/// Permutations per significance test.
const PERMUTATIONS: usize = 199;
/// A split is kept when at most this share of permutations separate as well.
const SIGNIFICANCE: f64 = 0.05;

/// A shift of a series' level between two of its points.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    /// The index of the first point after the shift (the series oldest first).
    pub index: usize,
    /// The mean of the segment before and of the segment after.
    pub before: f64,
    pub after: f64,
    /// `after / before - 1`: 0.5 is 50% higher (slower, for a duration).
    pub change: f64,
    /// The permutation test's p-value.
    pub p_value: f64,
}

/// The statistic of a split at `tau` of a segment with prefix sums `sums` (over
/// `values[from..to]`): `tau·(n−tau)/n · (mean left − mean right)²`.
fn statistic(sums: &[f64], tau: usize) -> f64 {
    let n = sums.len() - 1;
    let left = sums[tau] / tau as f64;
    let right = (sums[n] - sums[tau]) / (n - tau) as f64;
    let diff = left - right;
    (tau * (n - tau)) as f64 / n as f64 * diff * diff
}

/// The best split of `values` and its statistic.
fn best_split(values: &[f64]) -> Option<(usize, f64)> {
    if values.len() < 2 * MIN_SIDE {
        return None;
    }
    let mut sums = Vec::with_capacity(values.len() + 1);
    sums.push(0.0);
    for v in values {
        sums.push(sums[sums.len() - 1] + v);
    }
    (MIN_SIDE..=values.len() - MIN_SIDE)
        .map(|tau| (tau, statistic(&sums, tau)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// A deterministic xorshift generator for the permutations.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The change points of `values` (oldest first), in order.
pub fn shifts(values: &[f64]) -> Vec<Shift> {
    let mut found: Vec<(usize, f64)> = Vec::new();
    let mut segments = vec![(0, values.len())];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    while let Some((from, to)) = segments.pop() {
        let segment = &values[from..to];
        let Some((tau, q)) = best_split(segment) else {
            continue;
        };
        if q <= f64::EPSILON {
            continue;
        }
        let mut shuffled = segment.to_vec();
        let mut as_good = 0;
        for _ in 0..PERMUTATIONS {
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.below(i + 1));
            }
            if best_split(&shuffled).is_some_and(|(_, p)| p >= q) {
                as_good += 1;
            }
        }
        let p_value = (as_good + 1) as f64 / (PERMUTATIONS + 1) as f64;
        if p_value > SIGNIFICANCE {
            continue;
        }
        found.push((from + tau, p_value));
        segments.push((from, from + tau));
        segments.push((from + tau, to));
    }
    found.sort_by_key(|(i, _)| *i);
    // Each shift compares the segments on either side of it.
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(found.iter().map(|(i, _)| *i))
        .chain(std::iter::once(values.len()))
        .collect();
    let mean = |a: usize, b: usize| values[a..b].iter().sum::<f64>() / (b - a) as f64;
    found
        .iter()
        .enumerate()
        .map(|(k, (index, p_value))| {
            let before = mean(bounds[k], bounds[k + 1]);
            let after = mean(bounds[k + 1], bounds[k + 2]);
            Shift {
                index: *index,
                before,
                after,
                change: if before.abs() > f64::EPSILON {
                    after / before - 1.0
                } else {
                    0.0
                },
                p_value: *p_value,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Noise around a level: a fixed wobble, so tests do not depend on chance.
    fn level(base: f64, n: usize, phase: usize) -> Vec<f64> {
        (0..n)
            .map(|i| base * (1.0 + 0.04 * (((i + phase) * 7 % 5) as f64 - 2.0) / 2.0))
            .collect()
    }

    #[test]
    fn a_slowdown_is_found_where_it_starts() {
        let mut series = level(100.0, 20, 0);
        series.extend(level(150.0, 15, 3));
        let found = shifts(&series);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].index, 20);
        assert!((found[0].change - 0.5).abs() < 0.05, "{found:?}");
        assert!(found[0].p_value <= SIGNIFICANCE);
    }

    #[test]
    fn two_shifts_and_none() {
        let mut series = level(100.0, 12, 0);
        series.extend(level(200.0, 12, 1));
        series.extend(level(120.0, 12, 2));
        let at: Vec<usize> = shifts(&series).iter().map(|s| s.index).collect();
        assert_eq!(at, [12, 24]);
        // Noise alone, a flat line, and too few points: no shift.
        assert!(shifts(&level(100.0, 40, 0)).is_empty());
        assert!(shifts(&[5.0; 30]).is_empty());
        assert!(shifts(&[1.0, 100.0, 1.0]).is_empty());
        assert!(shifts(&[]).is_empty());
    }
}
