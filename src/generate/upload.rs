//! Pose2Im's part maps on their way to a GPU. They are drawn as coverage bytes, a quarter of
//! f32's, and the model's input (bytes / 255 in f32, as
//! [`crate::render::PoseMapRenderer::render`] gives) is made on the device. (Streams on the
//! CPU make f32 maps where they draw them: cheaper there.)
//!
//! On CUDA the bytes are drawn straight into pinned host memory and copied without blocking
//! on the stream's own CUDA stream. A copy from pageable memory goes through the driver's
//! staging buffers and holds the thread until it is done, so in `serve` each stream's 4.7 MB
//! a frame queued behind the others'. From pinned memory a copy engine moves it while other
//! streams compute.

use tch::{Device, Kind, Tensor};

use super::GenerateError;
use crate::model::{cuda_graph, guard};
use crate::render::{PoseMapRenderer, NUM_PARTS};
use crate::Skeleton;

pub(super) struct PoseMapUpload {
    renderer: PoseMapRenderer,
    /// A (1, parts, size, size) u8 tensor: pinned on CUDA, the bytes' only holder.
    host: Tensor,
    /// Byte b's value, b / 255 in f32 as the CPU computes it, on the device: a GPU divides
    /// by a scalar as a multiplication by its reciprocal, a bit off for some bytes.
    levels: Tensor,
    device: Device,
}

impl PoseMapUpload {
    /// Uploads of `size` px maps to `device`.
    pub(super) fn new(size: u32, device: Device) -> Result<Self, GenerateError> {
        let s = size as i64;
        let shape = [1, NUM_PARTS as i64, s, s];
        let pinned = match device.is_cuda() {
            true => match cuda_graph::pinned_bytes(shape.iter().product::<i64>() as usize) {
                Ok(pinned) => Some(pinned),
                Err(e) => {
                    tracing::warn!("{e}: pose maps go to the GPU from pageable memory, slower");
                    None
                }
            },
            false => None,
        };
        let values: Vec<f32> = (0..=255u8).map(|b| b as f32 / 255.0).collect();
        let (host, levels) = guard::torch(|| {
            let host = match pinned {
                Some(pinned) => pinned.view(shape),
                None => Tensor::zeros(shape, (Kind::Uint8, Device::Cpu)),
            };
            (host, Tensor::from_slice(&values).to_device(device))
        })?;
        Ok(Self {
            renderer: PoseMapRenderer::new(size),
            host,
            levels,
            device,
        })
    }

    /// `skeleton`'s maps as (1, parts, size, size) bytes on the device; on CUDA the copy is
    /// queued on the thread's current stream and may still run when this returns.
    pub(super) fn bytes(&mut self, skeleton: &Skeleton) -> Result<Tensor, GenerateError> {
        // The last frame's copy out of `host` is done before the host draws over it.
        cuda_graph::sync_current_stream(self.device)?;
        let n = self.host.numel();
        // SAFETY: `host` is a contiguous u8 tensor of n elements that nothing else views
        // (made above, only copied from), and no copy still reads it (synchronized above).
        let out = unsafe { std::slice::from_raw_parts_mut(self.host.data_ptr() as *mut u8, n) };
        self.renderer.render_bytes(skeleton, out);
        if !self.device.is_cuda() {
            return Ok(self.host.shallow_clone());
        }
        Ok(guard::torch(|| {
            self.host.to_device_(self.device, Kind::Uint8, true, false)
        })?)
    }

    /// What [`as_maps`] reads bytes' values from.
    pub(super) fn levels(&self) -> Tensor {
        self.levels.shallow_clone()
    }
}

/// Uploaded map bytes as the model's input in `kind`: each byte's value from `levels`
/// ([`PoseMapUpload::levels`]), then `kind`.
pub(super) fn as_maps(bytes: &Tensor, levels: &Tensor, kind: Kind) -> Tensor {
    levels.take(&bytes.to_kind(Kind::Int64)).to_kind(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::device::{self, DeviceChoice};
    use crate::model::io::PoseEncoder;
    use crate::model::InputFormat;

    /// The maps that reach the device are the ones the CPU encoder draws, to the bit, frame
    /// after frame through the same buffer: on a GPU where there is one (what streams use),
    /// and on the CPU.
    #[test]
    fn uploaded_maps_are_the_encoders_to_the_bit() {
        let mut devices = vec![Device::Cpu];
        match device::select(DeviceChoice::Auto) {
            Ok(gpu @ Device::Cuda(_)) => devices.push(gpu),
            _ => println!("skipped on CUDA: no CUDA"),
        }
        let person = crate::synth::SyntheticPerson::random(4);
        let poses: Vec<Skeleton> = [0.1, 0.6]
            .iter()
            .map(|&t| person.render(t, 96, 96).1)
            .chain([Skeleton::default()])
            .collect();
        for device in devices {
            let mut upload = PoseMapUpload::new(96, device).unwrap();
            let mut encoder = PoseEncoder::new(InputFormat::PartMaps18, 96);
            for (i, pose) in poses.iter().enumerate() {
                let bytes = upload.bytes(pose).unwrap();
                let on_device = as_maps(&bytes, &upload.levels(), Kind::Float);
                let drawn = encoder.encode(pose).unsqueeze(0);
                assert_eq!(on_device.size(), drawn.size());
                let same = on_device.to_device(Device::Cpu).equal(&drawn);
                assert!(same, "{device:?}, pose {i}: the maps differ");
            }
        }
    }
}
