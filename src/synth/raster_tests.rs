//! The tch rasterizer draws the same person, in the same place, as the tiny-skia painter.

use tch::{Device, Kind, Tensor};

use super::*;
use crate::base::skeleton::idx;

/// Frame `i` of a batch as an RGB image.
fn image(batch: &Tensor, i: i64) -> RgbImage {
    let (h, w) = (batch.size()[2], batch.size()[3]);
    let bytes = (batch.get(i) * 255.0)
        .round()
        .clamp(0.0, 255.0)
        .to_kind(Kind::Uint8)
        .permute([1, 2, 0])
        .contiguous()
        .to_device(Device::Cpu);
    let mut data = vec![0u8; (h * w * 3) as usize];
    let n = data.len();
    bytes.copy_data(&mut data, n);
    RgbImage::from_raw(w as u32, h as u32, data)
}

fn people() -> Vec<SyntheticPerson> {
    std::iter::once(SyntheticPerson::demo())
        .chain((1..6).map(SyntheticPerson::random))
        .collect()
}

/// Pixel by pixel against tiny-skia on the CPU: nearly all pixels agree to a few levels
/// (the rest are anti-aliased edges and flattened curves), and so do the skeletons.
#[test]
fn tch_frames_match_the_cpu_painter() {
    let times = [0.0f32, 1.3, 4.1];
    for p in people() {
        let (batch, skeletons) = p.render_tensor(&times, 128, 96, Device::Cpu);
        assert_eq!(batch.size(), [3, 3, 96, 128]);
        for (i, &t) in times.iter().enumerate() {
            let (cpu, truth) = p.render(t, 128, 96);
            assert_eq!(skeletons[i], truth);
            let gpu = image(&batch, i as i64);
            let diffs: Vec<u8> = cpu
                .data
                .iter()
                .zip(&gpu.data)
                .map(|(a, b)| a.abs_diff(*b))
                .collect();
            let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
            let far = diffs.iter().filter(|&&d| d > 24).count() as f64 / diffs.len() as f64;
            assert!(mean < 2.0, "t={t}: mean difference {mean:.2} levels");
            assert!(
                far < 0.02,
                "t={t}: {:.2}% of values differ by > 24",
                100.0 * far
            );
        }
    }
}

/// The person is drawn where the ground truth says: skin under the nose and wrists.
#[test]
fn tch_frames_put_the_person_on_the_skeleton() {
    let p = SyntheticPerson::demo();
    let (batch, skeletons) = p.render_tensor(&[0.5, 2.5], 256, 256, Device::Cpu);
    for (i, s) in skeletons.iter().enumerate() {
        let img = image(&batch, i as i64);
        for k in [idx::NOSE, 15, 16] {
            let l = &s.landmarks[k];
            // Within a pixel: the nose tip is a few pixels across at this size.
            let (c, d) = (0..9)
                .map(|j| {
                    let x = (l.x.round() as i32 + j % 3 - 1) as u32;
                    let y = (l.y.round() as i32 + j / 3 - 1) as u32;
                    let c = img.pixel(x, y);
                    (c, super::identity::distance(c, p.identity.skin))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            assert!(d < 0.2, "frame {i}: landmark {k} on {c:?}");
        }
    }
}

/// A batch is the frames drawn one by one; no frames gives an empty batch.
#[test]
fn batches_equal_single_frames() {
    let p = SyntheticPerson::random(9);
    let (both, _) = p.render_tensor(&[0.7, 3.3], 96, 96, Device::Cpu);
    let (a, _) = p.render_tensor(&[0.7], 96, 96, Device::Cpu);
    let (b, _) = p.render_tensor(&[3.3], 96, 96, Device::Cpu);
    let single = Tensor::cat(&[a, b], 0);
    let diff = (both - single).abs().max().double_value(&[]);
    assert!(diff < 1e-6, "batch differs by {diff}");
    let (none, skeletons) = p.render_tensor(&[], 64, 64, Device::Cpu);
    assert_eq!((none.size(), skeletons.len()), (vec![0, 3, 64, 64], 0));
}

/// Per-frame cost: `cargo test --release --lib synth::raster_tests::raster_time -- --ignored --nocapture`
/// (on CUDA too when there is one).
#[test]
#[ignore]
fn raster_time() {
    let p = SyntheticPerson::random(2);
    // CUDA first: libtorch must find it before any other call.
    let gpu = crate::model::device::select(crate::model::DeviceChoice::Auto);
    let mut devices = vec![Device::Cpu];
    if let Ok(gpu @ Device::Cuda(_)) = gpu {
        devices.push(gpu);
    }
    for device in devices {
        for (size, n) in [(128u32, 16usize), (256, 16), (256, 64)] {
            let times: Vec<f32> = (0..n).map(|i| i as f32 / 30.0).collect();
            let _ = p.render_tensor(&times[..2], size, size, device);
            let start = std::time::Instant::now();
            let (batch, _) = p.render_tensor(&times, size, size, device);
            let _ = batch.sum(Kind::Float).double_value(&[]);
            let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
            println!("{device:?} {size}x{size}, batch {n}: {ms:.2} ms/frame");
        }
    }
    let start = std::time::Instant::now();
    for i in 0..16 {
        let _ = p.render(i as f32 / 30.0, 256, 256);
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / 16.0;
    println!("tiny-skia 256x256: {ms:.2} ms/frame");
}
