//! Pose2Im: the pose-to-image generator MetaPix personalizes, the pix2pixHD "global"
//! generator (Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with
//! Conditional GANs", CVPR 2018) that Everybody Dance Now and MetaPix (Lee et al., ICLR 2020)
//! use: a reflection-padded 7x7 stem, strided 3x3 downsampling, residual blocks, transposed
//! 3x3 upsampling, instance norm without affine parameters, and a tanh image head.
//!
//! Parameter names are explicit and stable (`stem`, `down.N`, `blocks.N.conv1|conv2`,
//! `up.N`, `head`, each with `weight` and `bias`): checkpoints depend on them.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

use super::layers::instance_norm;

/// The generator's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pose2ImConfig {
    /// Input channels: the pose map's.
    pub in_channels: i64,
    /// Output channels (RGB).
    pub out_channels: i64,
    /// Filters after the stem; doubled at each downsampling.
    pub ngf: i64,
    pub downsamplings: i64,
    pub blocks: i64,
    /// Kernel of the full-resolution stem and head convolutions (pix2pixHD: 7). At full
    /// resolution they dominate the cost of small generators.
    pub edge_kernel: i64,
    /// Side of the pixel blocks folded into channels before the stem and unfolded after the
    /// head (1: none). With 2, everything between runs at half resolution, about a third of
    /// the cost of the small preset, while the output keeps full-resolution detail.
    #[serde(default = "no_space_to_depth")]
    pub space_to_depth: i64,
}

fn no_space_to_depth() -> i64 {
    1
}

impl Pose2ImConfig {
    /// MetaPix's Pose2Im: ngf 64, 4 downsamplings, 9 residual blocks (about 182 M parameters).
    pub fn paper(in_channels: i64) -> Self {
        Self {
            in_channels,
            out_channels: 3,
            ngf: 64,
            downsamplings: 4,
            blocks: 9,
            edge_kernel: 7,
            space_to_depth: 1,
        }
    }

    /// Small enough to run live at 256x256 on a 2-core CPU: 2x2 pixel blocks folded into
    /// channels, 1x1 edge convolutions, ngf 16, 3 downsamplings, 3 blocks: 26 ms a frame on
    /// one core against 88 ms for the unfolded shape with 3x3 edges and 4 blocks
    /// (docs/BENCHMARKS.md).
    pub fn lite(in_channels: i64) -> Self {
        Self {
            in_channels,
            out_channels: 3,
            ngf: 16,
            downsamplings: 3,
            blocks: 3,
            edge_kernel: 1,
            space_to_depth: 2,
        }
    }

    /// Input sides must be multiples of this.
    pub fn size_multiple(&self) -> i64 {
        self.space_to_depth << self.downsamplings
    }
}

/// Channel counts are per model; with `groups` > 1 the layer holds that many independent
/// models side by side (weights stacked along the output dimension).
fn conv(p: nn::Path, cin: i64, cout: i64, k: i64, stride: i64, groups: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: if stride > 1 { 1 } else { 0 },
        groups,
        ..Default::default()
    };
    nn::conv2d(p, cin * groups, cout * groups, k, cfg)
}

/// Reflection padding of `pad` pixels on each side (none for 1x1 edge convolutions).
fn reflect(x: &Tensor, pad: i64) -> Tensor {
    if pad > 0 {
        x.reflection_pad2d([pad; 4])
    } else {
        x.shallow_clone()
    }
}

/// conv3x3 -> norm -> relu -> conv3x3 -> norm, added to the input.
#[derive(Debug)]
struct ResBlock {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
}

impl ResBlock {
    fn new(p: nn::Path, channels: i64, groups: i64) -> Self {
        Self {
            conv1: conv(&p / "conv1", channels, channels, 3, 1, groups),
            conv2: conv(&p / "conv2", channels, channels, 3, 1, groups),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let y = instance_norm(&x.reflection_pad2d([1, 1, 1, 1]).apply(&self.conv1)).relu();
        let y = instance_norm(&y.reflection_pad2d([1, 1, 1, 1]).apply(&self.conv2));
        x + y
    }
}

/// The generator: pose map (N, C, H, W) in 0..1 -> image (N, 3, H, W) in -1..1.
///
/// [`Pose2Im::grouped`] builds G independent generators as one: every convolution is
/// grouped, inputs and outputs are the G models' channels side by side (N, G*C, H, W), and
/// instance norm, reflection padding and pixel (un)shuffling keep each model's channels
/// apart. Reptile personalizes a meta-batch of G people with it in one pass per step.
#[derive(Debug)]
pub struct Pose2Im {
    pub config: Pose2ImConfig,
    /// Independent models held side by side (1: an ordinary generator).
    pub groups: i64,
    stem: nn::Conv2D,
    down: Vec<nn::Conv2D>,
    blocks: Vec<ResBlock>,
    up: Vec<nn::ConvTranspose2D>,
    head: nn::Conv2D,
}

impl Pose2Im {
    pub fn new(p: &nn::Path, config: Pose2ImConfig) -> Self {
        Self::grouped(p, config, 1)
    }

    /// `groups` independent generators of shape `config` in one module. Each variable is
    /// the G models' variables stacked along dimension 0, under the ordinary names.
    pub fn grouped(p: &nn::Path, config: Pose2ImConfig, groups: i64) -> Self {
        let ngf = config.ngf;
        let k = config.edge_kernel;
        let fold = config.space_to_depth * config.space_to_depth;
        let stem = conv(p / "stem", config.in_channels * fold, ngf, k, 1, groups);
        let down = (0..config.downsamplings)
            .map(|i| {
                let c = ngf << i;
                conv(p / "down" / i, c, 2 * c, 3, 2, groups)
            })
            .collect();
        let deep = ngf << config.downsamplings;
        let blocks = (0..config.blocks)
            .map(|i| ResBlock::new(p / "blocks" / i, deep, groups))
            .collect();
        let up = (0..config.downsamplings)
            .map(|i| {
                let c = deep >> i;
                let cfg = nn::ConvTransposeConfig {
                    stride: 2,
                    padding: 1,
                    output_padding: 1,
                    groups,
                    ..Default::default()
                };
                // Transposed weights are (in, out / groups, k, k): also stacked on dim 0.
                nn::conv_transpose2d(p / "up" / i, c * groups, c / 2 * groups, 3, cfg)
            })
            .collect();
        let head = conv(p / "head", ngf, config.out_channels * fold, k, 1, groups);
        Self {
            config,
            groups,
            stem,
            down,
            blocks,
            up,
            head,
        }
    }
}

/// A grouped model's variable `t` seen as (groups, ordinary shape...): entry g is model g's.
pub fn split_groups(t: &Tensor, groups: i64) -> Tensor {
    let mut shape = t.size();
    shape[0] /= groups;
    shape.insert(0, groups);
    t.view(shape.as_slice())
}

impl Module for Pose2Im {
    fn forward(&self, x: &Tensor) -> Tensor {
        let pad = self.config.edge_kernel / 2;
        let s = self.config.space_to_depth;
        let x = if s > 1 {
            x.pixel_unshuffle(s)
        } else {
            x.shallow_clone()
        };
        let mut y = instance_norm(&reflect(&x, pad).apply(&self.stem)).relu();
        for d in &self.down {
            y = instance_norm(&y.apply(d)).relu();
        }
        for b in &self.blocks {
            y = b.forward(&y);
        }
        for u in &self.up {
            y = instance_norm(&y.apply(u)).relu();
        }
        let y = reflect(&y, pad).apply(&self.head);
        let y = if s > 1 { y.pixel_shuffle(s) } else { y };
        y.tanh()
    }
}
