//! The benchmark protocol's choice of frames (which K to learn from, which to hold out),
//! and the figures personalization reports.

use tch::{Kind, Tensor};

/// The protocol's K frames out of `n`: the pool is the first 85%, its first 100 frames (a
/// quarter for short clips) are skipped, and K are spread evenly over the rest.
pub fn choose_shots(n: usize, k: usize) -> Vec<usize> {
    let pool = (n * 85 / 100).max(1);
    let skip = 100.min(pool / 4);
    let span = pool - skip;
    if k <= 1 || span <= 1 {
        return vec![skip; k.min(1)];
    }
    (0..k)
        .map(|i| skip + ((i * (span - 1)) as f64 / (k - 1) as f64).round() as usize)
        .collect()
}

/// Up to `max` of `items`, spread evenly from the first (every ceil(n / max)-th): the
/// training frames per person, the test frames, a target scored whole.
pub fn spread<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    if max == 0 {
        return Vec::new();
    }
    let step = items.len().div_ceil(max).max(1);
    items.iter().step_by(step).copied().collect()
}

/// The held-out test frames: the last 15%.
pub fn held_out(n: usize) -> std::ops::Range<usize> {
    (n * 85 / 100).max(1).min(n)..n
}

/// Mean L1 and PSNR (dB, on 0..1 images) of `fake` against `real`, both in -1..1.
pub fn l1_psnr(fake: &Tensor, real: &Tensor) -> (f64, f64) {
    let l1 = (fake - real).abs().mean(Kind::Float).double_value(&[]);
    let mse = ((fake - real) / 2.0)
        .square()
        .mean(Kind::Float)
        .double_value(&[]);
    (l1, -10.0 * mse.max(1e-12).log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shots_follow_the_protocol() {
        // 1000 frames: pool 850, skip 100, 5 evenly over 100..849.
        assert_eq!(choose_shots(1000, 5), vec![100, 287, 475, 662, 849]);
        // 65 frames (the squats clip): pool 55, skip 13.
        assert_eq!(choose_shots(65, 5), vec![13, 23, 34, 44, 54]);
        assert_eq!(held_out(65), 55..65);
        assert_eq!(choose_shots(1000, 1), vec![100]);
    }

    #[test]
    fn spread_takes_at_most_max_evenly_from_the_first() {
        let items: Vec<usize> = (0..10).collect();
        assert_eq!(spread(&items, 4), vec![0, 3, 6, 9]);
        assert_eq!(spread(&items, 5), vec![0, 2, 4, 6, 8]);
        assert_eq!(spread(&items, 20), items);
        assert!(spread(&items, 0).is_empty());
        assert!(spread::<usize>(&[], 3).is_empty());
    }
}
