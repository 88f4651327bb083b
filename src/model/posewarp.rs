//! Posewarp (Balakrishnan et al., "Synthesizing Images of Humans in Unseen Poses", CVPR
//! 2018), the second generator MetaPix personalizes: the person's own pixels moved into the
//! target pose.
//!
//! 1. A mask U-Net splits the source frame into ten limb layers and a background, a softmax
//!    over its logits plus the log of the limbs' soft masks (the prior).
//! 2. Each limb layer is moved by its limb's similarity transform from the source pose to
//!    the target pose (grid sampling; [`limb_grids`]).
//! 3. A foreground U-Net over the moved layers and the target pose corrects their
//!    composite: colour, and where the person is.
//! 4. A background U-Net fills the room where the person was, over a background plate.
//! 5. The two are blended by the foreground's mask.
//!
//! Every U-Net starts at zero output ([`super::unet`]) and adds to a fixed computation, so
//! an untrained Posewarp is the part warp (limbs cut by their prior masks, composited,
//! pasted over the plate): learning starts where no learning already is.
//!
//! Steps 1 and 4 depend only on the source: [`Posewarp::prepare`] runs them once per source
//! frame, and a driving frame costs the warps and one U-Net ([`Posewarp::render`]).

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use super::examples::limbs_of;
use super::layers::{conv_layout, leaky};
use super::unet::{UNet, UNetConfig};
use super::{Batch, Condition};
use crate::base::rng::SplitMix64;
use crate::render::joints::{limb_transform, Joints, NUM_LIMBS};

const LIMBS: i64 = NUM_LIMBS as i64;
/// Step 1's layers: the limbs, then the room.
pub const LAYERS: i64 = LIMBS + 1;
/// Keeps logs and divisions finite where a mask is zero.
const EPS: f64 = 1e-3;

/// Posewarp's shape: its three U-Nets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosewarpConfig {
    /// Channels of an encoded pose ([`super::InputFormat::JointMaps24`]).
    pub pose_channels: i64,
    pub mask: UNetConfig,
    pub foreground: UNetConfig,
    pub background: UNetConfig,
    /// The foreground U-Net sees the moved layers and the pose shrunk by this factor (area
    /// averaging), and its corrections are enlarged back (bilinear): the person's pixels are
    /// still moved and composited at full resolution, and the U-Net's work falls by its
    /// square. 1: full resolution. Checkpoints from before it was a choice are 1.
    #[serde(default = "one")]
    pub foreground_scale: i64,
    /// Channels of the full-resolution refinement after a shrunk foreground U-Net (two 3x3
    /// convolutions over the composite person, its coverage and the enlarged corrections,
    /// adding to those corrections): edges the enlarging blurred. 0: none.
    #[serde(default)]
    pub refine_channels: i64,
    /// Bounds the mask U-Net's corrections of the layer logits to +-this (`b tanh(c / b)`),
    /// below the prior's log where a limb is absent (-6.9): a layer the prior rules out stays
    /// out. Unbounded, the paper preset at lite's rate put the whole frame, room included,
    /// in one limb and trained no further (docs/RESULTS.md). 0: unbounded, as checkpoints
    /// from before it was a choice are.
    #[serde(default)]
    pub mask_bound: i64,
}

fn one() -> i64 {
    1
}

impl PosewarpConfig {
    /// The paper's U-Nets: 64 channels after the first of five downsamplings, up to 512.
    pub fn paper(pose_channels: i64) -> Self {
        let unet = UNetConfig {
            ngf: 64,
            depth: 5,
            max_channels: 512,
            edge_kernel: 3,
        };
        Self {
            pose_channels,
            mask: unet,
            foreground: unet,
            background: unet,
            foreground_scale: 1,
            refine_channels: 0,
            mask_bound: 3,
        }
    }

    /// Small enough to run at 256x256 on a 2-core CPU: 16 channels after the first of four
    /// downsamplings, up to 64 (the background's half that: it runs once per source).
    pub fn lite(pose_channels: i64) -> Self {
        let unet = UNetConfig {
            ngf: 16,
            depth: 4,
            max_channels: 64,
            edge_kernel: 3,
        };
        Self {
            pose_channels,
            mask: unet,
            foreground: unet,
            background: UNetConfig {
                ngf: 8,
                max_channels: 32,
                ..unet
            },
            foreground_scale: 1,
            refine_channels: 0,
            mask_bound: 0,
        }
    }

    /// Lite with its foreground U-Net at half size and an 8-channel refinement at full
    /// size: a frame takes a third of lite's time on the CPU (the full-size U-Net was 80
    /// of its 90 ms on one core), for 0.2 dB in the person's region on real targets
    /// (docs/RESULTS.md).
    pub fn lite_fast(pose_channels: i64) -> Self {
        Self {
            foreground_scale: 2,
            refine_channels: 8,
            ..Self::lite(pose_channels)
        }
    }

    /// Input sides must be multiples of this.
    pub fn size_multiple(&self) -> i64 {
        [
            self.mask.size_multiple(),
            self.foreground.size_multiple() * self.foreground_scale,
            self.background.size_multiple(),
        ]
        .into_iter()
        .max()
        .unwrap_or(1)
    }

    /// Whether this is the paper's size (it trains beside the paper's discriminator).
    pub fn is_paper(&self) -> bool {
        self.foreground.ngf >= 64
    }
}

/// What Posewarp keeps of a source frame: its layers, ready to be moved, and the room
/// filled where the person was. Depends only on the source.
#[derive(Debug)]
pub struct PreparedSource {
    /// (N, L, 4, S, S): each limb's pixels (premultiplied) and its mask, f32.
    layers: Tensor,
    /// (N, 3, S, S) in -1..1, f32: the room where the person is not.
    fill: Tensor,
}

impl PreparedSource {
    /// Each limb's pixels (premultiplied) and its mask: (N, L, 4, S, S), f32.
    pub fn layers(&self) -> &Tensor {
        &self.layers
    }

    /// The room where the person is not: (N, 3, S, S) in -1..1, f32.
    pub fn fill(&self) -> &Tensor {
        &self.fill
    }
}

#[derive(Debug)]
pub struct Posewarp {
    pub config: PosewarpConfig,
    mask: UNet,
    foreground: UNet,
    background: UNet,
    /// With `refine_channels`: (hidden, head), the head starting at zero.
    refine: Option<(nn::Conv2D, nn::Conv2D)>,
}

impl Posewarp {
    pub fn new(p: &nn::Path, config: PosewarpConfig) -> Self {
        let pose = config.pose_channels;
        Self {
            config,
            // The source frame and its pose -> corrections of L + 1 layer logits.
            mask: UNet::new(&(p / "mask"), config.mask, 3 + pose, LIMBS + 1),
            // The moved layers (colour and mask) and the target pose -> colour and mask.
            foreground: UNet::new(&(p / "foreground"), config.foreground, 4 * LIMBS + pose, 4),
            // The room around the person, its mask and the plate -> the fill's correction.
            background: UNet::new(&(p / "background"), config.background, 7, 3),
            // The person, its coverage and the corrections -> more correction.
            refine: (config.refine_channels > 0).then(|| {
                let (c, q) = (config.refine_channels, p / "refine");
                let same = |init| nn::ConvConfig {
                    padding: 1,
                    ws_init: init,
                    bs_init: nn::Init::Const(0.0),
                    ..Default::default()
                };
                let kaiming = nn::ConvConfig::default().ws_init;
                (
                    nn::conv2d(&q / "hidden", 8, c, 3, same(kaiming)),
                    nn::conv2d(&q / "head", c, 4, 3, same(nn::Init::Const(0.0))),
                )
            }),
        }
    }

    /// Frames (N, 3, S, S) in -1..1: the condition's sources moved into its poses.
    ///
    /// # Panics
    /// When the condition has no source: Posewarp has nothing to move.
    pub fn forward(&self, condition: &Condition) -> Tensor {
        let source = source_of(condition);
        let person = source.person.as_ref();
        let prepared = self.prepare(&source.image, &source.pose, &source.background, person);
        self.render(&prepared, &source.grids, &condition.pose)
    }

    /// [`Self::forward`], and where the sources carry part labels, the cross-entropy of the
    /// segmentation (step 1) against them: what teaches it the parts. (Only training with a
    /// part weight asks: the loss is not computed for nothing.)
    pub fn forward_with_parts(&self, condition: &Condition) -> (Tensor, Option<Tensor>) {
        let source = source_of(condition);
        let logits = self.layer_logits(&source.image, &source.pose, source.person.as_ref());
        let part_loss = source.parts.as_ref().map(|labels| {
            logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
                &labels.squeeze_dim(1).to_kind(Kind::Int64),
                None,
                tch::Reduction::Mean,
                -100,
                0.0,
            )
        });
        let prepared = self.prepare_from(&logits, &source.image, &source.background);
        let frame = self.render(&prepared, &source.grids, &condition.pose);
        (frame, part_loss)
    }

    /// Steps 1 and 4 for source frames `image` (N, 3, S, S) in -1..1 in poses `pose` (N, C,
    /// S, S), with the room's plates `background` (N, 3, S, S) and, where known, where the
    /// person is (`person`, N x 1 x S x S): their layers and filled backgrounds.
    pub fn prepare(
        &self,
        image: &Tensor,
        pose: &Tensor,
        background: &Tensor,
        person: Option<&Tensor>,
    ) -> PreparedSource {
        let logits = self.layer_logits(image, pose, person);
        self.prepare_from(&logits, image, background)
    }

    /// Which layer step 1 puts each pixel of source frames `image` in (N, S, S): the index
    /// of its largest mask, the limbs first and the room last.
    pub fn layer_labels(&self, image: &Tensor, pose: &Tensor, person: Option<&Tensor>) -> Tensor {
        self.layer_logits(image, pose, person).argmax(1, false)
    }

    /// Step 1's logits (N, L + 1, S, S): the log of the layers' prior plus the mask U-Net's
    /// corrections, bounded by `mask_bound`.
    fn layer_logits(&self, image: &Tensor, pose: &Tensor, person: Option<&Tensor>) -> Tensor {
        let log_prior = (layer_prior(&limbs_of(pose), person) + EPS).log();
        let correction = self.mask.forward(&Tensor::cat(&[image, pose], 1));
        log_prior + bounded(&correction, self.config.mask_bound)
    }

    /// Steps 1 and 4 from the layers' `logits` of source frames `image`.
    fn prepare_from(&self, logits: &Tensor, image: &Tensor, background: &Tensor) -> PreparedSource {
        let masks = logits.softmax(1, Kind::Float);
        let limbs = masks.narrow(1, 0, LIMBS).unsqueeze(2);
        let room = masks.narrow(1, LIMBS, 1);
        let layers = Tensor::cat(
            &[image.to_kind(Kind::Float).unsqueeze(1) * &limbs, limbs],
            2,
        );
        let around = image * &room;
        let correction = self.background.forward(
            &Tensor::cat(&[&around, &room, &background.to_kind(Kind::Float)], 1)
                .to_kind(image.kind()),
        );
        PreparedSource {
            layers,
            fill: (background + correction).to_kind(Kind::Float),
        }
    }

    /// Steps 2, 3 and 5: `prepared` moved by `grids` (N, L, S, S, 2) into `pose` (N, C, S,
    /// S): [`Self::move_layers`], then [`Self::compose`] over the source's fill.
    pub fn render(&self, prepared: &PreparedSource, grids: &Tensor, pose: &Tensor) -> Tensor {
        self.compose(&self.move_layers(prepared, grids), &prepared.fill, pose)
    }

    /// Step 2: the prepared layers moved by `grids` (N, L, S, S, 2), (N, L, 4, S, S) in f32
    /// (bf16 grid coordinates lie a 128th of the half-frame apart near its edges, a whole
    /// pixel at 256). Linear in the layers: a mix of two sources' moved layers is a mix of
    /// their premultiplied pixels and masks.
    pub fn move_layers(&self, prepared: &PreparedSource, grids: &Tensor) -> Tensor {
        move_layers(&prepared.layers, grids)
    }

    /// [`Self::render`] from a source's `layers` (1, L, 4, S, S) and `fill` (1, 3, S, S) and
    /// the limbs' 2x3 maps `theta` ([`limb_thetas`], concatenated, on the device): every
    /// input a tensor, so that a CUDA graph can capture the whole frame.
    pub fn render_by_maps(
        &self,
        theta: &Tensor,
        layers: &Tensor,
        fill: &Tensor,
        pose: &Tensor,
    ) -> Tensor {
        let size = layers.size()[4] as u32;
        let moved = move_layers(layers, &grids_of(theta, size).unsqueeze(0));
        self.compose(&moved, fill, pose)
    }

    /// Steps 3 and 5: the moved layers (N, L, 4, S, S) composed, corrected by the foreground
    /// U-Net for `pose` (N, C, S, S), and blended over `fill` (N, 3, S, S):
    /// [`Self::summarize`], then [`Self::compose_summary`].
    pub fn compose(&self, moved: &Tensor, fill: &Tensor, pose: &Tensor) -> Tensor {
        self.compose_summary(&self.summarize(moved), fill, pose)
    }

    /// What steps 3 and 5 read of the moved layers (N, L, 4, S, S): [`summarize`] at the
    /// foreground U-Net's scale.
    pub fn summarize(&self, moved: &Tensor) -> MovedLayers {
        summarize(moved, self.config.foreground_scale)
    }

    /// Steps 3 and 5 from the moved layers' summary. The U-Net runs in the pose's kind
    /// (bf16 on CUDA); the blend runs in f32, and so does the frame returned: 1 - 1e-3 is 1
    /// in bf16.
    pub fn compose_summary(&self, moved: &MovedLayers, fill: &Tensor, pose: &Tensor) -> Tensor {
        let [_, _, h, w] = moved.sum.size()[..] else {
            panic!("layer sums are (N, 4, S, S)")
        };
        let total = moved.sum.narrow(1, 3, 1);
        let person = moved.sum.narrow(1, 0, 3) / total.clamp_min(EPS);
        let coverage = total.clamp(EPS, 1.0 - EPS);
        let correction = self.correction(&moved.shrunk, pose).to_kind(Kind::Float);
        let correction = if correction.size()[2] == h {
            correction
        } else {
            correction.upsample_bilinear2d([h, w], false, None, None)
        };
        let correction = match &self.refine {
            Some((hidden, head)) => {
                let x = Tensor::cat(&[&person, &coverage, &correction], 1);
                let x = conv_layout(&x.to_kind(pose.kind()));
                let more = leaky(&x.apply(hidden)).apply(head);
                correction + more.to_kind(Kind::Float)
            }
            None => correction,
        };
        let foreground = person + correction.narrow(1, 0, 3);
        let alpha = (coverage.logit(None) + correction.narrow(1, 3, 1)).sigmoid();
        clamp_passing_gradient(&(&alpha * foreground + (-&alpha + 1.0) * fill))
    }

    /// Step 3's U-Net over the shrunk moved layers (N, 4L, S / scale, S / scale) and the
    /// pose (N, C, S, S), shrunk to their size.
    fn correction(&self, shrunk: &Tensor, pose: &Tensor) -> Tensor {
        let shrunk_pose = block_mean(&pose.to_kind(Kind::Float), self.config.foreground_scale);
        let input = Tensor::cat(&[shrunk, &shrunk_pose], 1);
        self.foreground.forward(&input.to_kind(pose.kind()))
    }
}

/// The moved layers as steps 3 and 5 read them ([`Posewarp::summarize`]); the CPU's direct
/// warp writes them without the layers themselves ([`super::warp`]).
#[derive(Debug)]
pub struct MovedLayers {
    /// (N, 4, S, S) f32: the layers' premultiplied colours and their masks, each summed
    /// over the layers.
    pub sum: Tensor,
    /// (N, 4L, S / f, S / f) f32, f the foreground scale: each layer's colour, then each
    /// layer's mask, as block means. The foreground U-Net's input before the pose.
    pub shrunk: Tensor,
}

/// `x` clamped to -1..1, with the gradient of `x` itself. A plain clamp passes no gradient
/// where `x` is outside, so nothing pulls an overshooting pixel back: the paper preset's
/// background U-Net drifted to -84 that way and every pixel ended at -1, out of reach of
/// the loss (docs/RESULTS.md, "The Posewarp paper preset"). Without gradients (every
/// frame a stream renders) it is the plain clamp.
fn clamp_passing_gradient(x: &Tensor) -> Tensor {
    let clamped = x.clamp(-1.0, 1.0);
    if x.requires_grad() {
        x + (clamped - x).detach()
    } else {
        clamped
    }
}

/// `x` squashed smoothly into -bound..bound (`bound tanh(x / bound)`, the identity near
/// zero); unchanged where `bound` is 0.
fn bounded(x: &Tensor, bound: i64) -> Tensor {
    if bound == 0 {
        return x.shallow_clone();
    }
    let bound = bound as f64;
    (x / bound).tanh() * bound
}

/// The source a Posewarp condition carries.
///
/// # Panics
/// When it has none: Posewarp has nothing to move.
fn source_of(condition: &Condition) -> &super::Source {
    condition
        .source
        .as_ref()
        .expect("Posewarp is conditioned on a source frame")
}

/// Layers (N, L, 4, S, S) moved by `grids` (N, L, S, S, 2): [`Posewarp::move_layers`].
fn move_layers(layers: &Tensor, grids: &Tensor) -> Tensor {
    let [n, l, c, h, w] = layers.size()[..] else {
        panic!("layers are (N, L, 4, S, S)")
    };
    layers
        .reshape([n * l, c, h, w])
        .grid_sampler(
            &grids.reshape([n * l, h, w, 2]).to_kind(Kind::Float),
            0,
            0,
            false,
        )
        .reshape([n, l, c, h, w])
}

/// The moved layers (N, L, 4, S, S) as steps 3 and 5 read them: summed over the layers,
/// and as block means at 1/`scale` of their size.
pub fn summarize(moved: &Tensor, scale: i64) -> MovedLayers {
    let [n, l, c, h, w] = moved.size()[..] else {
        panic!("moved layers are (N, L, 4, S, S)")
    };
    let sum = moved.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    let shrunk = block_mean(&moved.reshape([n, l * c, h, w]), scale);
    let (h, w) = (shrunk.size()[2], shrunk.size()[3]);
    let shrunk = shrunk.view([n, l, c, h, w]);
    let shrunk = Tensor::cat(
        &[
            shrunk.narrow(2, 0, 3).reshape([n, l * 3, h, w]),
            shrunk.narrow(2, 3, 1).reshape([n, l, h, w]),
        ],
        1,
    );
    MovedLayers { sum, shrunk }
}

/// `x` (N, C, H, W) shrunk by `scale`: each `scale` x `scale` block its mean. A sum of the
/// blocks' strided views: libtorch's average pooling took 5 ms on one core for what this
/// does in under 2 (24 channels at 256).
fn block_mean(x: &Tensor, scale: i64) -> Tensor {
    if scale == 1 {
        return x.shallow_clone();
    }
    let [n, c, h, w] = x.size()[..] else {
        panic!("an image batch is (N, C, H, W)")
    };
    let blocks = x.reshape([n, c, h / scale, scale, w / scale, scale]);
    // `a + b`, never `+=`: tch's `+=` adds in place, and the first view is `x`'s memory.
    let sum = (0..scale)
        .flat_map(|i| (0..scale).map(move |j| (i, j)))
        .map(|(i, j)| blocks.select(3, i).select(4, j))
        .reduce(|a, b| a + b)
        .expect("scale >= 1");
    sum / (scale * scale) as f64
}

/// What each pixel of a source frame is before the mask U-Net has its say: (N, L + 1, S, S),
/// the L limbs then the room, from the limbs' soft masks (N, L, S, S). Without a
/// segmentation each limb is its own mask and the room what no limb covers. With one
/// (`person`, N x 1 x S x S) the person is what it says, shared among the limbs in
/// proportion to their masks (each pixel goes mostly to its nearest bone), and the room is
/// the rest: hair, loose clothes and the gaps between limbs move with the body.
pub fn layer_prior(limbs: &Tensor, person: Option<&Tensor>) -> Tensor {
    match person {
        None => {
            let room = (-limbs.amax([1i64].as_slice(), true) + 1.0).clamp(0.0, 1.0);
            Tensor::cat(&[limbs, &room], 1)
        }
        Some(person) => {
            let total = limbs.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
            let share = limbs / total.clamp_min(1e-6);
            Tensor::cat(&[share * person, -person + 1.0], 1)
        }
    }
}

/// `batch` with black bars drawn at the sides of each pair (its target, source and plate
/// alike), each side barred on half the pairs, up to a third of the frame. A prepared real
/// target is letterboxed wherever its square crop leaves the video; synthetic people never
/// are, and a model trained on them alone smeared the bars' edges.
pub(crate) fn letterboxed(mut batch: Batch, rng: &mut SplitMix64) -> Batch {
    let [n, _, _, s] = batch.real.size()[..] else {
        panic!("frames are (N, 3, S, S)")
    };
    let mut bar = || {
        if rng.unit() < 0.5 {
            0
        } else {
            (rng.unit() * s as f32 / 3.0) as i64
        }
    };
    let keep: Vec<f32> = (0..n)
        .flat_map(|_| {
            let (left, right) = (bar(), bar());
            (0..s).map(move |x| f32::from(u8::from(x >= left && x < s - right)))
        })
        .collect();
    let keep = Tensor::from_slice(&keep)
        .view([n, 1, 1, s])
        .to_device(batch.real.device());
    let bars = |t: &Tensor| t * &keep - (-&keep + 1.0);
    batch.real = bars(&batch.real);
    if let Some(source) = batch.condition.source.as_mut() {
        source.image = bars(&source.image);
        source.background = bars(&source.background);
        source.person = source.person.as_ref().map(|p| p * &keep);
        // Under a bar is the room.
        let inside = keep.gt(0.5);
        source.parts = source
            .parts
            .as_ref()
            .map(|p| p.where_scalarother(&inside, LIMBS));
    }
    batch
}

/// For each limb, where every pixel of a frame in pose `to` is found in a frame in pose
/// `from`: (L, S, S, 2) in grid sampling's coordinates (-1 and 1 at the frame's outer
/// edges). A limb with a joint missing in either pose samples far outside, so it moves
/// nothing.
///
/// The ten transforms are built on the host as one (L, 2, 3) tensor; each grid is then
/// one broadcast sum, the transform's x column times the pixel centres' x plus its y column
/// times their y plus the shift. Building each grid from pixel coordinates took about 80
/// small ops per frame, a cost of its own on a GPU at batch 1; libtorch's affine-grid op
/// took three times as long as the sum on the CPU (7 against 2.3 ms at 256).
pub fn limb_grids(from: &Joints, to: &Joints, size: u32, device: Device) -> Tensor {
    let theta: Vec<f32> = limb_thetas(from, to, size).concat();
    let theta = Tensor::from_slice(&theta).to_device(device);
    grids_of(&theta, size)
}

/// The grids of [`limb_grids`] from the limbs' 2x3 maps ([`limb_thetas`], concatenated:
/// `LIMBS` x 6 floats on the grids' device). Apart so that a CUDA graph can take the maps as
/// its input ([`Posewarp::render_by_maps`]).
fn grids_of(theta: &Tensor, size: u32) -> Tensor {
    let s = f64::from(size);
    let theta = theta.view([LIMBS, 2, 3]);
    let side = i64::from(size);
    let centres = Tensor::linspace(
        -1.0 + 1.0 / s,
        1.0 - 1.0 / s,
        side,
        (Kind::Float, theta.device()),
    );
    let column = |i: i64| theta.select(2, i).view([LIMBS, 1, 1, 2]);
    column(0) * centres.view([1, 1, side, 1])
        + (column(1) * centres.view([1, side, 1, 1]) + column(2))
}

/// For each limb, the 2x3 map of [`limb_grids`]: from a frame pixel's normalized
/// coordinates in pose `to` to where it is found in pose `from`.
pub fn limb_thetas(from: &Joints, to: &Joints, size: u32) -> Vec<[f32; 6]> {
    let s = f64::from(size);
    (0..NUM_LIMBS)
        .map(|limb| affine_theta(limb_transform(from, to, limb), s))
        .collect()
}

/// A limb's transform in pixels (`u = a x - b y + tx` at pixel centres) as an affine
/// grid's 2x3 matrix over normalized coordinates (`x = (xn + 1) s / 2`, and `un = 2 u / s -
/// 1`); a missing limb maps every pixel to (10, 10), far outside the frame.
fn affine_theta(transform: Option<[f32; 4]>, s: f64) -> [f32; 6] {
    let Some([a, b, tx, ty]) = transform.map(|t| t.map(f64::from)) else {
        return [0.0, 0.0, 10.0, 0.0, 0.0, 10.0];
    };
    [
        a,
        -b,
        a - b + 2.0 * tx / s - 1.0,
        b,
        a,
        b + a + 2.0 * ty / s - 1.0,
    ]
    .map(|v| v as f32)
}

#[cfg(test)]
mod tests;
