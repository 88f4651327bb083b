//! The multi-scale PatchGAN discriminator of pix2pixHD (Wang et al., CVPR 2018): the same
//! conditional patch classifier run on the image and on 2x-downsampled copies. It sees the
//! pose map and an image together and returns every layer's features, which the generator's
//! feature-matching loss compares between real and generated frames.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

use super::layers::instance_norm;

/// The discriminator's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchGanConfig {
    /// Pose-map channels + image channels.
    pub in_channels: i64,
    pub ndf: i64,
    /// Strided layers per scale.
    pub layers: i64,
    pub scales: i64,
}

impl PatchGanConfig {
    /// pix2pixHD's: ndf 64, 3 layers, 2 scales.
    pub fn paper(in_channels: i64) -> Self {
        Self {
            in_channels,
            ndf: 64,
            layers: 3,
            scales: 2,
        }
    }

    /// A small one for the lite generator and tests.
    pub fn lite(in_channels: i64) -> Self {
        Self {
            in_channels,
            ndf: 16,
            layers: 3,
            scales: 2,
        }
    }
}

/// One scale: 4x4 convolutions, LeakyReLU 0.2, instance norm after the first.
#[derive(Debug)]
struct Patch {
    convs: Vec<nn::Conv2D>,
}

impl Patch {
    fn new(p: nn::Path, cfg: &PatchGanConfig) -> Self {
        let conv = |p: nn::Path, cin, cout, stride| {
            let c = nn::ConvConfig {
                stride,
                padding: 2,
                ..Default::default()
            };
            nn::conv2d(p, cin, cout, 4, c)
        };
        let mut convs = vec![conv(&p / 0, cfg.in_channels, cfg.ndf, 2)];
        let mut ch = cfg.ndf;
        for i in 1..=cfg.layers {
            let next = (ch * 2).min(cfg.ndf * 8);
            let stride = if i == cfg.layers { 1 } else { 2 };
            convs.push(conv(&p / i, ch, next, stride));
            ch = next;
        }
        convs.push(conv(&p / (cfg.layers + 1), ch, 1, 1));
        Self { convs }
    }

    /// Every layer's output; the last is the patch map of real/fake scores.
    fn features(&self, x: &Tensor) -> Vec<Tensor> {
        let n = self.convs.len();
        let mut out = Vec::with_capacity(n);
        let mut y = x.shallow_clone();
        for (i, conv) in self.convs.iter().enumerate() {
            y = y.apply(conv);
            if i + 1 < n {
                if i > 0 {
                    y = instance_norm(&y);
                }
                y = y.maximum(&(&y * 0.2)); // LeakyReLU 0.2
            }
            out.push(y.shallow_clone());
        }
        out
    }
}

/// The discriminator: one [`Patch`] per scale.
#[derive(Debug)]
pub struct PatchGan {
    pub config: PatchGanConfig,
    scales: Vec<Patch>,
}

impl PatchGan {
    pub fn new(p: &nn::Path, config: PatchGanConfig) -> Self {
        let scales = (0..config.scales)
            .map(|s| Patch::new(p / "scale" / s, &config))
            .collect();
        Self { config, scales }
    }

    /// Features per scale for the pose map and image concatenated on channels.
    pub fn features(&self, pose: &Tensor, image: &Tensor) -> Vec<Vec<Tensor>> {
        let mut x = Tensor::cat(&[pose, image], 1);
        let mut out = Vec::with_capacity(self.scales.len());
        for (i, patch) in self.scales.iter().enumerate() {
            if i > 0 {
                x = x.avg_pool2d([3, 3], [2, 2], [1, 1], false, false, None::<i64>);
            }
            out.push(patch.features(&x));
        }
        out
    }
}
