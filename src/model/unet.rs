//! The U-Net Posewarp's three networks are made of (Balakrishnan et al., CVPR 2018): strided
//! 3x3 convolutions down to 1/2^depth of the input, LeakyReLU 0.2, and on the way up a
//! nearest-neighbour doubling, the skip connection of that level concatenated, and a 3x3
//! convolution. The last level concatenates the input itself, so full-resolution detail
//! (the warped person's pixels) reaches the head unchanged.
//!
//! At full resolution the last up convolution and the head may be 1x1 (`edge_kernel`): the
//! 3x3 ones there cost most of a lite U-Net's work (80 channels at every pixel of a 256
//! frame), and the levels below already bring the neighbourhood.
//!
//! The head starts at zero: a new U-Net outputs zeros, and a model that adds its output to
//! a fixed computation (Posewarp's corrections) starts as that computation.
//!
//! Parameter names (`down.N`, `up.N`, `head`, each with `weight` and `bias`) are stable:
//! checkpoints depend on them.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

use super::layers::{conv_layout, leaky};

/// A U-Net's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Channels after the first downsampling; doubled at each one after it, up to `max_channels`.
    pub ngf: i64,
    /// Stride-2 levels: inputs must be multiples of 2^depth.
    pub depth: i64,
    pub max_channels: i64,
    /// Kernel of the full-resolution up convolution and the head: 3, or 1 for speed.
    /// Checkpoints from before it was a choice are 3.
    #[serde(default = "three")]
    pub edge_kernel: i64,
}

fn three() -> i64 {
    3
}

impl UNetConfig {
    /// Channels at level `level` (1: after the first downsampling).
    fn channels(&self, level: i64) -> i64 {
        (self.ngf << (level - 1)).min(self.max_channels)
    }

    pub fn size_multiple(&self) -> i64 {
        1 << self.depth
    }
}

#[derive(Debug)]
pub struct UNet {
    down: Vec<nn::Conv2D>,
    /// Deepest first: `up[i]` makes level `depth - 1 - i` from the level below it.
    up: Vec<nn::Conv2D>,
    head: nn::Conv2D,
}

/// A `kernel` x `kernel` convolution that keeps the size (halves it at stride 2).
fn conv(p: nn::Path, cin: i64, cout: i64, kernel: i64, stride: i64) -> nn::Conv2D {
    let cfg = nn::ConvConfig {
        stride,
        padding: kernel / 2,
        ..Default::default()
    };
    nn::conv2d(p, cin, cout, kernel, cfg)
}

impl UNet {
    /// `in_channels` in, `out_channels` out, its variables under `p`.
    pub fn new(p: &nn::Path, config: UNetConfig, in_channels: i64, out_channels: i64) -> Self {
        let depth = config.depth;
        let width = |level: i64| {
            if level == 0 {
                in_channels
            } else {
                config.channels(level)
            }
        };
        let down = (1..=depth)
            .map(|l| conv(p / "down" / (l - 1), width(l - 1), width(l), 3, 2))
            .collect();
        // Up to level l from level l + 1: the upsampled level l + 1 beside level l's skip.
        // Level 0 is the input; its conv keeps level 1's width before the head.
        let up = (0..depth)
            .rev()
            .map(|l| {
                let out = config.channels(l.max(1));
                let below = if l + 1 == depth {
                    width(depth)
                } else {
                    config.channels((l + 1).max(1))
                };
                let kernel = if l == 0 { config.edge_kernel } else { 3 };
                conv(p / "up" / (depth - 1 - l), below + width(l), out, kernel, 1)
            })
            .collect();
        let edge = config.edge_kernel;
        let zero = nn::ConvConfig {
            padding: edge / 2,
            ws_init: nn::Init::Const(0.0),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        };
        let head = nn::conv2d(p / "head", config.channels(1), out_channels, edge, zero);
        Self { down, up, head }
    }

    /// (N, in, H, W) -> (N, out, H, W); H and W multiples of 2^depth. On the CPU the
    /// activations are channels-last ([`conv_layout`]); the output is in that layout too.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut levels = vec![conv_layout(x)];
        for d in &self.down {
            let y = leaky(&levels.last().expect("a level").apply(d));
            levels.push(y);
        }
        let mut y = levels.pop().expect("the deepest level");
        for (conv, skip) in self.up.iter().zip(levels.iter().rev()) {
            let up = y.upsample_nearest2d([skip.size()[2], skip.size()[3]], None, None);
            y = leaky(&Tensor::cat(&[&up, skip], 1).apply(conv));
        }
        y.apply(&self.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::OptimizerConfig;
    use tch::{Device, Kind};

    #[test]
    fn a_new_unet_outputs_zeros_of_the_input_size_and_learns() {
        for edge_kernel in [3, 1] {
            let vs = nn::VarStore::new(Device::Cpu);
            let config = UNetConfig {
                ngf: 4,
                depth: 3,
                max_channels: 8,
                edge_kernel,
            };
            let net = UNet::new(&vs.root(), config, 5, 2);
            let x = Tensor::randn([2, 5, 16, 24], (Kind::Float, Device::Cpu));
            let y = net.forward(&x);
            assert_eq!(y.size(), [2, 2, 16, 24]);
            assert_eq!(y.abs().max().double_value(&[]), 0.0);
            // The zero head still passes gradient to itself, so training moves it off zero.
            let mut opt = nn::Adam::default().build(&vs, 1e-2).unwrap();
            opt.backward_step(&(net.forward(&x) - 1.0).square().mean(Kind::Float));
            assert!(net.forward(&x).abs().max().double_value(&[]) > 0.0);
        }
    }
}
