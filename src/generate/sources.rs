//! Posewarp in the stream: the person's frames a personalized checkpoint carries, each
//! prepared once at load ([`Posewarp::prepare`]), and for each driving pose the one to move.
//!
//! The nearest frame in pose is the best source, but driving poses hover between two
//! frames: switching on every small move would flicker between their lighting and
//! clothes folds. The current source is kept until another is clearly nearer
//! ([`SWITCH_MARGIN`]), and a switch cross-fades from the old source to the new one over
//! [`FADE_FRAMES`] frames, so that what differs between them (lighting, folds, where the
//! mask cut) does not pop. The fade mixes the two sources' moved layers, so the foreground
//! U-Net, most of a frame's cost, still runs once.

use tch::{Device, Kind, Tensor};

use crate::model::checkpoint::Sources;
use crate::model::cuda_graph::Graphed;
use crate::model::examples::{pose_distance, ExamplesError};
use crate::model::io::{draw_joint_maps, image_bytes, joint_gaussians, tensor_image};
use crate::model::posewarp::{limb_grids, limb_thetas, MovedLayers, PreparedSource};
use crate::model::warp::{self, Interleaved, Sampled};
use crate::model::{Examples, InputFormat, Posewarp};
use crate::render::joints::{joints, Joints};
use crate::Skeleton;

/// Another frame takes over when it is this much nearer (its distance over the current
/// one's) to the driving pose.
const SWITCH_MARGIN: f64 = 0.8;
/// Frames a switch of source takes: each moves both sources' layers (an eighth of a second
/// at 30 fps; four extra warps per switch).
const FADE_FRAMES: u32 = 4;

pub(super) struct SourcePicker {
    skeletons: Vec<Skeleton>,
    joints: Vec<Joints>,
    prepared: Vec<PreparedSource>,
    /// On the CPU, each source's layers for [`warp::warp`], faster there than the grid
    /// sampler.
    interleaved: Option<Vec<Interleaved>>,
    current: usize,
    /// The source being faded out, and how many frames of the fade are left.
    fading: Option<(usize, u32)>,
    /// Frames a switch takes ([`FADE_FRAMES`]; 0 cuts).
    pub(super) fade_frames: u32,
    /// How often the source has changed.
    pub(super) switches: u64,
    /// One source's frame (all but fades) as a CUDA graph, on CUDA.
    pub(super) graph: Graphed,
    size: u32,
    device: Device,
    kind: Kind,
}

impl SourcePicker {
    /// The checkpoint's frames `shots` prepared by `generator` on `device` as `kind`.
    pub(super) fn new(
        generator: &Posewarp,
        shots: &Sources,
        size: u32,
        device: Device,
        kind: Kind,
    ) -> Result<Self, ExamplesError> {
        let frames: Vec<_> = (0..shots.skeletons.len() as i64)
            .map(|i| tensor_image(&shots.frames.get(i)))
            .zip(shots.skeletons.iter().cloned())
            .collect();
        let mut examples = Examples::new(InputFormat::JointMaps24, &frames)?;
        if let Some(masks) = &shots.masks {
            examples = examples.with_masks(masks.shallow_clone());
        }
        let examples = examples.to_device(device);
        let plate = examples.plates.as_ref().expect("joint maps give a plate");
        let prepared = tch::no_grad(|| {
            (0..examples.len() as i64)
                .map(|i| {
                    let one = |t: &Tensor| t.narrow(0, i, 1).to_kind(kind);
                    generator.prepare(
                        &one(&examples.frames),
                        &one(&examples.poses),
                        &plate.to_kind(kind),
                        examples.masks.as_ref().map(one).as_ref(),
                    )
                })
                .collect::<Vec<_>>()
        });
        let interleaved = (device == Device::Cpu).then(|| {
            prepared
                .iter()
                .map(|p| Interleaved::new(p.layers()))
                .collect()
        });
        Ok(Self {
            interleaved,
            joints: examples.skeletons.iter().map(joints).collect(),
            skeletons: examples.skeletons,
            prepared,
            current: 0,
            fading: None,
            fade_frames: FADE_FRAMES,
            switches: 0,
            graph: Graphed::default(),
            size,
            device,
            kind,
        })
    }

    /// Which frame to move into `wanted`: the current one unless another is clearly nearer.
    fn pick(&mut self, wanted: &Skeleton) -> usize {
        let distance = |s: &Skeleton| pose_distance(s, wanted).unwrap_or(f64::INFINITY);
        let nearest = (0..self.skeletons.len())
            .min_by(|&a, &b| distance(&self.skeletons[a]).total_cmp(&distance(&self.skeletons[b])))
            .unwrap_or(0);
        let current = distance(&self.skeletons[self.current]);
        if distance(&self.skeletons[nearest]) < SWITCH_MARGIN * current {
            self.fading = (self.fade_frames > 0).then_some((self.current, self.fade_frames));
            self.current = nearest;
            self.switches += 1;
        }
        self.current
    }

    /// The person moved into `skeleton`, whose pose `encode` draws (1, C, S, S) on the
    /// CPU, as an RGB frame's bytes ([`image_bytes`]) on the device. During a fade the two
    /// sources' moved layers and fills are mixed before the one foreground U-Net: a fading
    /// frame costs one more warp, not one more frame. On CUDA a frame of one source draws
    /// its pose on the GPU and `encode` is not called.
    pub(super) fn render(
        &mut self,
        generator: &Posewarp,
        skeleton: &Skeleton,
        encode: impl FnOnce() -> Tensor,
    ) -> Tensor {
        let i = self.pick(skeleton);
        let mix = match self.fading {
            None => vec![(i, 1.0)],
            Some((old, left)) => {
                self.fading = (left > 1).then_some((old, left - 1));
                let weight = f64::from(left) / f64::from(self.fade_frames + 1);
                vec![(old, weight), (i, 1.0 - weight)]
            }
        };
        if let ([(s, _)], true) = (&mix[..], self.device.is_cuda()) {
            return self.render_one(generator, *s, skeleton);
        }
        let pose = encode().to_device(self.device).to_kind(self.kind);
        let fill = match mix[..] {
            [(s, _)] => self.prepared[s].fill().shallow_clone(),
            _ => mix
                .iter()
                .map(|&(s, weight)| self.prepared[s].fill() * weight)
                .reduce(|a, b| a + b)
                .expect("a source"),
        };
        let frame = generator.compose_summary(&self.moved(generator, &mix, skeleton), &fill, &pose);
        image_bytes(&frame.get(0))
    }

    /// Source `s` moved into `skeleton` on the GPU, through a CUDA graph where one can be
    /// captured: its inputs are the limbs' maps, the Gaussians the pose is drawn from
    /// ([`draw_joint_maps`]) and the source's layers and fill (copied in on the device each
    /// frame, a few microseconds).
    fn render_one(&mut self, generator: &Posewarp, s: usize, skeleton: &Skeleton) -> Tensor {
        let theta = limb_thetas(&self.joints[s], &joints(skeleton), self.size).concat();
        let theta = Tensor::from_slice(&theta).to_device(self.device);
        let gaussians = joint_gaussians(skeleton, self.size).to_device(self.device);
        let source = &self.prepared[s];
        let inputs = [&theta, source.layers(), source.fill(), &gaussians];
        let (size, kind) = (i64::from(self.size), self.kind);
        self.graph.run(&inputs, |x| {
            let pose = draw_joint_maps(&x[3], size).unsqueeze(0).to_kind(kind);
            image_bytes(&generator.render_by_maps(&x[0], &x[1], &x[2], &pose).get(0))
        })
    }

    /// The sources `mix` (index, weight) moved into `skeleton`, layer by layer, summed, as
    /// the composition reads them.
    fn moved(
        &self,
        generator: &Posewarp,
        mix: &[(usize, f64)],
        skeleton: &Skeleton,
    ) -> MovedLayers {
        let to = joints(skeleton);
        if let Some(interleaved) = &self.interleaved {
            let thetas: Vec<_> = mix
                .iter()
                .map(|&(s, _)| limb_thetas(&self.joints[s], &to, self.size))
                .collect();
            let sampled: Vec<_> = mix
                .iter()
                .zip(&thetas)
                .map(|(&(s, weight), thetas)| Sampled {
                    layers: &interleaved[s],
                    thetas,
                    weight: weight as f32,
                })
                .collect();
            let scale = generator.config.foreground_scale as usize;
            return warp::warp(&sampled, scale);
        }
        let moved = mix
            .iter()
            .map(|&(s, weight)| {
                let grids = limb_grids(&self.joints[s], &to, self.size, self.device).unsqueeze(0);
                generator.move_layers(&self.prepared[s], &grids) * weight
            })
            .reduce(|a, b| a + b)
            .expect("a source");
        generator.summarize(&moved)
    }
}
