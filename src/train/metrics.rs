//! Image quality against ground truth, as the MetaPix benchmark reports it: MSE, PSNR and
//! SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03), on images in
//! 0..1, and the paper's temporal coherence (the standard deviation over time of each
//! frame's mean intensity, next to the real frames'); inputs are generator-range tensors
//! (N, 3, H, W) in -1..1, N frames in time order.

use tch::{Kind, Tensor};

/// Per-frame figures of a batch of generated frames against the real ones.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quality {
    pub mse: f64,
    pub psnr: f64,
    pub ssim: f64,
    /// Temporal coherence: std over the frames of their mean intensity (0..1), generated
    /// and real. Flicker raises the first above the second.
    pub temporal_std: f64,
    pub temporal_std_real: f64,
}

/// Mean MSE, PSNR (dB, the mean of per-frame PSNRs) and SSIM over the batch.
pub fn quality(fake: &Tensor, real: &Tensor) -> Quality {
    let (fake, real) = (to_unit(fake), to_unit(real));
    let per_frame_mse = (&fake - &real)
        .square()
        .mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
    let psnr = (per_frame_mse.clamp_min(1e-12).log10() * -10.0)
        .mean(Kind::Float)
        .double_value(&[]);
    Quality {
        mse: per_frame_mse.mean(Kind::Float).double_value(&[]),
        psnr,
        ssim: ssim(&fake, &real),
        temporal_std: temporal_std(&fake),
        temporal_std_real: temporal_std(&real),
    }
}

/// Standard deviation over the batch (time) of each frame's mean intensity.
fn temporal_std(frames: &Tensor) -> f64 {
    let means = frames.mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
    if means.size()[0] < 2 {
        return 0.0;
    }
    means.std(false).double_value(&[])
}

fn to_unit(t: &Tensor) -> Tensor {
    ((t.to_kind(Kind::Float) + 1.0) / 2.0).clamp(0.0, 1.0)
}

/// The person's region of a frame of `size` x `size` pixels: the box around the visible
/// landmarks of `skeleton`, 15% of its size larger on each side, within the frame and at
/// least 11 pixels a side (SSIM's window); the whole frame when nobody is visible.
/// `[x0, y0, x1, y1]`, pixel edges.
pub fn person_box(skeleton: &crate::Skeleton, size: i64) -> [i64; 4] {
    let visible: Vec<(f32, f32)> = skeleton
        .landmarks
        .iter()
        .filter(|l| l.is_visible())
        .map(|l| (l.x, l.y))
        .collect();
    if visible.is_empty() {
        return [0, 0, size, size];
    }
    let fold = |f: fn(f32, f32) -> f32, init: f32, pick: fn(&(f32, f32)) -> f32| {
        visible.iter().map(pick).fold(init, f)
    };
    let (x0, x1) = (
        fold(f32::min, f32::MAX, |p| p.0),
        fold(f32::max, f32::MIN, |p| p.0),
    );
    let (y0, y1) = (
        fold(f32::min, f32::MAX, |p| p.1),
        fold(f32::max, f32::MIN, |p| p.1),
    );
    let (mx, my) = ((x1 - x0) * 0.15, (y1 - y0) * 0.15);
    let side = |lo: f32, hi: f32| {
        let (mut a, mut b) = (
            (lo.floor() as i64).clamp(0, size),
            (hi.ceil() as i64).clamp(0, size),
        );
        // Grow to SSIM's window, inside the frame.
        while b - a < 11.min(size) {
            if a > 0 {
                a -= 1;
            }
            if b - a < 11.min(size) && b < size {
                b += 1;
            }
        }
        (a, b)
    };
    let (ax, bx) = side(x0 - mx, x1 + mx);
    let (ay, by) = side(y0 - my, y1 + my);
    [ax, ay, bx, by]
}

/// Mean PSNR (dB) and SSIM over the frames of `fake` and `real` (N, 3, S, S) in -1..1,
/// each frame scored inside its `boxes[i]` alone: full-frame figures mostly measure a
/// static background, these the person.
pub fn person_quality(fake: &Tensor, real: &Tensor, boxes: &[[i64; 4]]) -> (f64, f64) {
    let (fake, real) = (to_unit(fake), to_unit(real));
    let (mut psnr, mut ssim_sum) = (0.0, 0.0);
    for (i, &[x0, y0, x1, y1]) in boxes.iter().enumerate() {
        let crop = |t: &Tensor| {
            t.narrow(0, i as i64, 1)
                .narrow(2, y0, y1 - y0)
                .narrow(3, x0, x1 - x0)
        };
        let (f, r) = (crop(&fake), crop(&real));
        let mse = (&f - &r).square().mean(Kind::Float).double_value(&[]);
        psnr += -10.0 * mse.max(1e-12).log10();
        ssim_sum += ssim(&f, &r);
    }
    let n = boxes.len().max(1) as f64;
    (psnr / n, ssim_sum / n)
}

/// Mean SSIM of two (N, C, H, W) batches in 0..1 (valid windows only, as scikit-image's
/// `gaussian_weights=True` and the original MATLAB code).
/// Images under 11 pixels a side have no window: NaN.
pub fn ssim(a: &Tensor, b: &Tensor) -> f64 {
    let size = a.size();
    if size[2] < 11 || size[3] < 11 {
        return f64::NAN;
    }
    ssim_map(a, b).mean(Kind::Float).double_value(&[])
}

/// The SSIM of every valid 11x11 window of two (N, C, H, W) batches in 0..1, differentiable:
/// [`ssim`] scores with it, and training's SSIM term learns from it.
pub fn ssim_map(a: &Tensor, b: &Tensor) -> Tensor {
    let channels = a.size()[1];
    let x = Tensor::arange(11, (a.kind(), a.device())) - 5.0;
    let g = (-(&x * &x) / (2.0 * 1.5 * 1.5)).exp();
    let g = &g / g.sum(a.kind());
    let window = g
        .unsqueeze(1)
        .matmul(&g.unsqueeze(0))
        .expand([channels, 1, 11, 11], false)
        .contiguous();
    let blur = |t: &Tensor| t.conv2d(&window, None::<Tensor>, [1, 1], [0, 0], [1, 1], channels);
    let (mu_a, mu_b) = (blur(a), blur(b));
    let var_a = blur(&(a * a)) - &mu_a * &mu_a;
    let var_b = blur(&(b * b)) - &mu_b * &mu_b;
    let cov = blur(&(a * b)) - &mu_a * &mu_b;
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    ((&mu_a * &mu_b * 2.0 + c1) * (cov * 2.0 + c2))
        / ((&mu_a * &mu_a + &mu_b * &mu_b + c1) * (var_a + var_b + c2))
}

/// Mean intersection over union of the labels `0..layers - 1` (the limbs; the last layer,
/// the room, is left out) between `predicted` and `truth` (both N x S x S, integer labels),
/// over the limbs either names somewhere; None when neither names any.
pub fn part_iou(predicted: &Tensor, truth: &Tensor, layers: i64) -> Option<f64> {
    let ious: Vec<f64> = (0..layers - 1)
        .filter_map(|l| {
            let (p, t) = (predicted.eq(l), truth.eq(l));
            let union = p.logical_or(&t).sum(Kind::Float).double_value(&[]);
            let both = p.logical_and(&t).sum(Kind::Float).double_value(&[]);
            (union > 0.0).then(|| both / union)
        })
        .collect();
    (!ious.is_empty()).then(|| ious.iter().sum::<f64>() / ious.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn identical_images_are_perfect_and_noise_is_not() {
        tch::manual_seed(3);
        let real = Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let same = quality(&real, &real);
        assert!(
            (same.ssim - 1.0).abs() < 1e-4 && same.mse < 1e-12,
            "{same:?}"
        );
        let noisy = &real + Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 0.2;
        let q = quality(&noisy, &real);
        assert!(q.ssim < 0.97 && q.psnr > 10.0 && q.psnr < 30.0, "{q:?}");
        assert!((same.temporal_std - same.temporal_std_real).abs() < 1e-9);
        let worse = &real + Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 0.6;
        let w = quality(&worse, &real);
        assert!(
            w.ssim < q.ssim && w.psnr < q.psnr && w.mse > q.mse,
            "{w:?} vs {q:?}"
        );
    }

    #[test]
    fn a_step_down_the_ssim_terms_gradient_raises_ssim() {
        tch::manual_seed(4);
        let real = Tensor::rand([1, 3, 32, 32], (Kind::Float, Device::Cpu));
        let noise = Tensor::randn([1, 3, 32, 32], (Kind::Float, Device::Cpu)) * 0.2;
        let fake = (&real + noise).set_requires_grad(true);
        let loss = -ssim_map(&fake, &real).mean(Kind::Float) + 1.0;
        loss.backward();
        let before = ssim(&fake.detach(), &real);
        let stepped = fake.detach() - fake.grad() * 20.0;
        let after = ssim(&stepped, &real);
        assert!(after > before + 0.01, "SSIM {before:.4} -> {after:.4}");
    }

    #[test]
    fn flicker_shows_in_temporal_coherence() {
        // A steady sequence against one whose brightness jumps from frame to frame.
        let real = Tensor::zeros([6, 3, 16, 16], (Kind::Float, Device::Cpu));
        let steps = Tensor::from_slice(&[0.0f32, 0.4, 0.0, 0.4, 0.0, 0.4]).view([6, 1, 1, 1]);
        let q = quality(&(&real + steps), &real);
        assert_eq!(q.temporal_std_real, 0.0);
        // Means 0.5 and 0.7 in 0..1, alternating: population std 0.1.
        assert!((q.temporal_std - 0.1).abs() < 1e-6, "{q:?}");
    }

    #[test]
    fn psnr_of_a_known_error() {
        // Every pixel off by 0.1 in 0..1 (0.2 in -1..1): MSE 0.01, PSNR 20 dB.
        let real = Tensor::zeros([1, 3, 16, 16], (Kind::Float, Device::Cpu));
        let fake = &real + 0.2;
        let q = quality(&fake, &real);
        assert!(
            (q.mse - 0.01).abs() < 1e-6 && (q.psnr - 20.0).abs() < 1e-3,
            "{q:?}"
        );
        // A constant shift keeps structure: SSIM only loses the luminance term.
        assert!(q.ssim > 0.9, "{q:?}");
    }

    #[test]
    fn the_person_region_sees_the_person_and_not_the_background() {
        use crate::base::skeleton::NUM_LANDMARKS;
        // A 64 px frame, the person in x 20..30, y 10..50. The generated frame gets the
        // background right and the person wrong: full-frame figures flatter it.
        let points: [[f32; 2]; NUM_LANDMARKS] =
            std::array::from_fn(|i| [20.0 + (i % 3) as f32 * 5.0, 10.0 + i as f32 * 1.25]);
        let skeleton = crate::Skeleton::from_points(&points);
        let b = person_box(&skeleton, 64);
        // 10 px wide + 15% each side -> 18.5 .. 31.5; 40 px tall + 6 each side.
        assert_eq!(b, [18, 4, 32, 56]);
        let real = Tensor::zeros([1, 3, 64, 64], (Kind::Float, Device::Cpu));
        let fake = real.copy();
        let _ = fake.narrow(2, 10, 40).narrow(3, 20, 10).fill_(0.8);
        let full = quality(&fake, &real);
        let (psnr_person, ssim_person) = person_quality(&fake, &real, &[b]);
        println!(
            "full {:.1} dB / {:.3}, person {psnr_person:.1} dB / {ssim_person:.3}",
            full.psnr, full.ssim
        );
        assert!(psnr_person < full.psnr - 5.0 && ssim_person < full.ssim);
        // Nobody visible: the whole frame.
        assert_eq!(person_box(&crate::Skeleton::none(), 64), [0, 0, 64, 64]);
    }

    #[test]
    fn part_iou_scores_each_limb_that_either_names() {
        // Three layers: limbs 0 and 1, the room 2. Truth: left half limb 0, right limb 1.
        let truth = Tensor::from_slice(&[0i64, 0, 1, 1, 0, 0, 1, 1]).view([1, 2, 4]);
        assert_eq!(part_iou(&truth, &truth, 3), Some(1.0));
        // One column of limb 1 called limb 0: limb 0 is 4 of 6, limb 1 2 of 4.
        let off = Tensor::from_slice(&[0i64, 0, 0, 1, 0, 0, 0, 1]).view([1, 2, 4]);
        let iou = part_iou(&off, &truth, 3).unwrap();
        assert!((iou - (4.0 / 6.0 + 2.0 / 4.0) / 2.0).abs() < 1e-9, "{iou}");
        // The room is not scored; with no limb anywhere there is nothing to score.
        let room = Tensor::full([1, 2, 4], 2, (Kind::Int64, tch::Device::Cpu));
        assert_eq!(part_iou(&room, &room, 3), None);
    }
}
