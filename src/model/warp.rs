//! Posewarp's step 2 on the CPU for inference: each limb layer moved by its own affine map,
//! written directly, without the (L, S, S, 2) grid libtorch's grid sampler reads.
//!
//! The result is the grid sampler's (bilinear, zeros outside the frame, `align_corners`
//! false) for the grid [`super::posewarp::limb_grids`] builds, to float rounding. It exists
//! for speed: in the live stream on one core the grid sampler took 7-9 ms of a posewarp-fast
//! frame (40 planes of 256x256), most of the frame after the U-Net. Here a layer's four
//! channels sit side by side ([`Interleaved`]), so each of a sample's four corners is one
//! read of four floats, and a fading frame's two sources are mixed as they are sampled.
//! What it writes is only what the composition reads of the moved layers
//! ([`MovedLayers`]): their sums at full size and their block means at the foreground
//! U-Net's size, not the 40 planes themselves (10 MB a frame at 256, copied and shrunk
//! again after the warp when they were). Training keeps the grid sampler: it has the
//! gradient.

use tch::{Kind, Tensor};

use super::posewarp::MovedLayers;

/// A source frame's layers with each pixel's four channels (premultiplied colour, mask)
/// side by side, (L, S, S, 4) f32 on the host: what [`warp`] samples. Made once per source
/// frame.
pub struct Interleaved {
    data: Vec<[f32; 4]>,
    /// L, S, S.
    shape: [usize; 3],
}

impl Interleaved {
    /// From one frame's layers (1, L, 4, S, S), on any device.
    pub fn new(layers: &Tensor) -> Self {
        let t = layers
            .to_device(tch::Device::Cpu)
            .to_kind(Kind::Float)
            .squeeze_dim(0)
            .permute([0, 2, 3, 1])
            .contiguous();
        let [l, h, w, 4] = t.size()[..] else {
            panic!("layers are (1, L, 4, S, S)")
        };
        let flat = Vec::<f32>::try_from(t.flatten(0, -1)).expect("f32 layers");
        Self {
            data: flat
                .chunks_exact(4)
                .map(|p| [p[0], p[1], p[2], p[3]])
                .collect(),
            shape: [l as usize, h as usize, w as usize],
        }
    }
}

/// One source's layers and how much of the result it is.
pub struct Sampled<'a> {
    pub layers: &'a Interleaved,
    /// Per layer, the 2x3 map from a frame pixel's normalized coordinates to where it is
    /// found in the source (grid sampling's convention: -1 and 1 at the outer edges).
    pub thetas: &'a [[f32; 6]],
    pub weight: f32,
}

/// The weighted sum of `sources` (all of one shape), each moved layer by layer, as steps 3
/// and 5 read it ([`super::posewarp::summarize`] of the moved layers): summed over the
/// layers at full size, and each layer's block means at 1/`scale` of it. Each moved layer
/// lives only in a scratch plane while it is added to the sum and shrunk: the 40 planes
/// of a frame at 256 are never written out together.
pub fn warp(sources: &[Sampled], scale: usize) -> MovedLayers {
    let [l, h, w] = sources[0].layers.shape;
    let (hs, ws) = (h / scale, w / scale);
    let mut scratch = vec![[0f32; 4]; h * w];
    let mut sum = vec![[0f32; 4]; h * w];
    let mut shrunk = vec![0f32; 4 * l * hs * ws];
    for source in sources {
        assert_eq!(source.layers.shape, [l, h, w], "sources of one shape");
        assert_eq!(source.thetas.len(), l, "a map per layer");
    }
    for layer in 0..l {
        scratch.fill([0.0; 4]);
        for source in sources {
            let plane = &source.layers.data[layer * h * w..(layer + 1) * h * w];
            sample_layer(
                plane,
                (h, w),
                &source.thetas[layer],
                source.weight,
                &mut scratch,
            );
        }
        for (s, v) in sum.iter_mut().zip(&scratch) {
            for (s, v) in s.iter_mut().zip(v) {
                *s += v;
            }
        }
        shrink_into(
            &scratch,
            w,
            scale,
            [3 * layer, 3 * layer + 1, 3 * layer + 2, 3 * l + layer],
            &mut shrunk,
        );
    }
    MovedLayers {
        sum: Tensor::from_slice(sum.as_flattened())
            .view([1, h as i64, w as i64, 4])
            .permute([0, 3, 1, 2])
            .contiguous(),
        shrunk: Tensor::from_slice(&shrunk).view([1, 4 * l as i64, hs as i64, ws as i64]),
    }
}

/// Writes the block means at 1/`scale` of `layer` (rows of `w` pixels, four channels) into
/// the four `planes` of `shrunk` (planar, each of the shrunk size).
fn shrink_into(layer: &[[f32; 4]], w: usize, scale: usize, planes: [usize; 4], shrunk: &mut [f32]) {
    let ws = w / scale;
    let hs = layer.len() / w / scale;
    let share = 1.0 / (scale * scale) as f32;
    let mut blocks = vec![[0f32; 4]; ws];
    for (bi, band) in layer.chunks_exact(scale * w).enumerate().take(hs) {
        blocks.fill([0.0; 4]);
        for row in band.chunks_exact(w) {
            for (block, pixels) in blocks.iter_mut().zip(row.chunks_exact(scale)) {
                for v in pixels {
                    for (b, v) in block.iter_mut().zip(v) {
                        *b += v;
                    }
                }
            }
        }
        for (k, &plane) in planes.iter().enumerate() {
            let out = &mut shrunk[plane * hs * ws + bi * ws..][..ws];
            for (o, block) in out.iter_mut().zip(&blocks) {
                *o = share * block[k];
            }
        }
    }
}

/// Adds `weight` times `plane` (S, S) sampled through `theta` to `out` (S, S).
fn sample_layer(
    plane: &[[f32; 4]],
    (h, w): (usize, usize),
    theta: &[f32; 6],
    weight: f32,
    out: &mut [[f32; 4]],
) {
    // Pixel centres in normalized coordinates, and back to source pixels, in f32 and in
    // the order the grid and the grid sampler compute them.
    let centre = |i: usize, side: usize| -1.0 + (2 * i + 1) as f32 / side as f32;
    let unnormalize = |g: f32, side: usize| ((g + 1.0) * side as f32 - 1.0) / 2.0;
    let (wf, hf) = (w as f32, h as f32);
    let at = |x: usize, y: usize| plane[y * w + x];
    // Tile by tile: a rotated limb reads the source along slanted lines, and a tile's
    // corners stay in the core's first-level cache where a whole row's would not.
    let tiles = (0..h)
        .step_by(TILE)
        .flat_map(|i| (0..w).step_by(TILE).map(move |j| (i, j)));
    for (i0, j0) in tiles {
        for i in i0..(i0 + TILE).min(h) {
            let y = centre(i, h);
            let (row_x, row_y) = (theta[1] * y + theta[2], theta[4] * y + theta[5]);
            for j in j0..(j0 + TILE).min(w) {
                let x = centre(j, w);
                let ix = unnormalize(theta[0] * x + row_x, w);
                let iy = unnormalize(theta[3] * x + row_y, h);
                // Wholly outside (a corner at -1 or at the side still half counts).
                if !(ix > -1.0 && ix < wf && iy > -1.0 && iy < hf) {
                    continue;
                }
                // ix + 1 > 0 here: truncation is floor, without a libm call.
                let (x0, y0) = ((ix + 1.0) as usize, (iy + 1.0) as usize);
                let (fx, fy) = (ix + 1.0 - x0 as f32, iy + 1.0 - y0 as f32);
                // x0 and y0 are the left and top corners plus one.
                let mut sum = [0f32; 4];
                let mut add = |x: usize, y: usize, k: f32| {
                    let v = at(x, y);
                    for (s, v) in sum.iter_mut().zip(v) {
                        *s += k * v;
                    }
                };
                let (left, top) = (x0 >= 1, y0 >= 1);
                let (right, bottom) = (x0 < w, y0 < h);
                if top && left {
                    add(x0 - 1, y0 - 1, (1.0 - fx) * (1.0 - fy));
                }
                if top && right {
                    add(x0, y0 - 1, fx * (1.0 - fy));
                }
                if bottom && left {
                    add(x0 - 1, y0, (1.0 - fx) * fy);
                }
                if bottom && right {
                    add(x0, y0, fx * fy);
                }
                for (o, s) in out[i * w + j].iter_mut().zip(sum) {
                    *o += weight * s;
                }
            }
        }
    }
}

/// Side of the square blocks of output pixels [`sample_layer`] fills one at a time.
const TILE: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::posewarp::{limb_grids, limb_thetas, summarize};
    use crate::render::joints::joints;
    use crate::synth::SyntheticPerson;

    #[test]
    fn warp_summarizes_what_the_grid_sampler_moves_and_mixes_sources() {
        let size = 48u32;
        let s = i64::from(size);
        let person = SyntheticPerson::random(3);
        let (from, other, to) = (
            joints(&person.skeleton(0.0, size, size)),
            joints(&person.skeleton(0.7, size, size)),
            joints(&person.skeleton(1.9, size, size)),
        );
        tch::manual_seed(5);
        let layers = Tensor::rand([1, 10, 4, s, s], (Kind::Float, tch::Device::Cpu));
        let second = Tensor::rand([1, 10, 4, s, s], (Kind::Float, tch::Device::Cpu));
        let by_grid = |layers: &Tensor, from| {
            let grids = limb_grids(from, &to, size, tch::Device::Cpu);
            layers
                .reshape([10, 4, s, s])
                .grid_sampler(&grids, 0, 0, false)
                .reshape([1, 10, 4, s, s])
        };
        let moved = by_grid(&layers, &from) * 0.25 + by_grid(&second, &other) * 0.75;
        let (a, b) = (
            limb_thetas(&from, &to, size),
            limb_thetas(&other, &to, size),
        );
        let (li, si) = (Interleaved::new(&layers), Interleaved::new(&second));
        let sources = [
            Sampled {
                layers: &li,
                thetas: &a,
                weight: 0.25,
            },
            Sampled {
                layers: &si,
                thetas: &b,
                weight: 0.75,
            },
        ];
        for scale in [1, 2] {
            let got = warp(&sources, scale);
            let expected = summarize(&moved, scale as i64);
            for (got, expected) in [(&got.sum, &expected.sum), (&got.shrunk, &expected.shrunk)] {
                assert_eq!(got.size(), expected.size());
                // Values are at most 10 (ten layers' sums of values in 0..1), each a sum of
                // products: float rounding is about 1e-6 of them; a wrong corner or weight,
                // or a layer in the wrong plane, is off by a tenth.
                let gap = (got - expected).abs().max().double_value(&[]);
                assert!(gap < 1e-5 * 10.0, "scale {scale}: largest difference {gap}");
            }
            // The limbs moved something: not all zeros, and not the layers as they were.
            assert!(got.sum.abs().sum(Kind::Float).double_value(&[]) > 1.0);
            let unmoved = summarize(&(&layers * 0.25 + &second * 0.75), scale as i64);
            let still = (&got.shrunk - unmoved.shrunk).abs().mean(Kind::Float);
            assert!(still.double_value(&[]) > 0.01);
        }
    }
}
