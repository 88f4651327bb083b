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

/// Mean SSIM of two (N, C, H, W) batches in 0..1 (valid windows only, as scikit-image's
/// `gaussian_weights=True` and the original MATLAB code).
/// Images under 11 pixels a side have no window: NaN.
pub fn ssim(a: &Tensor, b: &Tensor) -> f64 {
    let size = a.size();
    if size[2] < 11 || size[3] < 11 {
        return f64::NAN;
    }
    let channels = size[1];
    let x = Tensor::arange(11, (Kind::Float, a.device())) - 5.0;
    let g = (-(&x * &x) / (2.0 * 1.5 * 1.5)).exp();
    let g = &g / g.sum(Kind::Float);
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
    let map = ((&mu_a * &mu_b * 2.0 + c1) * (cov * 2.0 + c2))
        / ((&mu_a * &mu_a + &mu_b * &mu_b + c1) * (var_a + var_b + c2));
    map.mean(Kind::Float).double_value(&[])
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
}
