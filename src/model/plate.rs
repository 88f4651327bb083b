//! The room without the person: a background plate from a person's frames and where the
//! person is in each, for Posewarp to fill and the part warp to paste onto.

use tch::{Kind, Tensor};

/// Keeps divisions finite where no frame saw the room.
const EPS: f64 = 1e-3;

/// The room without the person, from frames (N, 3, S, S) of one person and where the
/// person is in each (N, 1, S, S) in 0..1: each pixel the mean of the frames, each weighted
/// by how far that pixel is from its person ((1 - person)^4 of the person grown by a 64th of
/// the frame: a soft edge otherwise leaves the person's outline in the plate; a hard cut
/// left smears). Where every frame has the person (one photo; someone who stays in place),
/// the room around is spread in ([`fill_holes`]): the plain mean there left a ghost of the
/// person behind the moved one, which the pose model then found.
pub fn background_plate(frames: &Tensor, person: &Tensor) -> Tensor {
    let reach = (frames.size()[3] / 64).max(1);
    let grown = person.max_pool2d([2 * reach + 1; 2], [1, 1], [reach, reach], [1, 1], false);
    let weight = (-grown + 1.0).pow_tensor_scalar(4.0);
    let total = weight.sum_dim_intlist([0i64].as_slice(), false, Kind::Float);
    let masked = (frames * &weight).sum_dim_intlist([0i64].as_slice(), false, Kind::Float)
        / total.clamp_min(EPS);
    fill_holes(&masked, &total.clamp_max(1.0))
}

/// `image` (C, H, W) where it is `known` (1, H, W, in 0..1), and elsewhere what is known
/// around, spread smoothly: push-pull over an image pyramid (each level the known-weighted
/// mean of the one below, filled from the level above).
pub fn fill_holes(image: &Tensor, known: &Tensor) -> Tensor {
    let [_, h, w] = image.size()[..] else {
        panic!("an image is (C, H, W)")
    };
    if h <= 1 && w <= 1 {
        return image.shallow_clone();
    }
    let pool = |t: &Tensor| {
        t.unsqueeze(0)
            .avg_pool2d([2, 2], [2, 2], [0, 0], true, false, None)
            .squeeze_dim(0)
    };
    let weight = pool(known);
    let coarse = pool(&(image * known)) / weight.clamp_min(1e-6);
    let filled = fill_holes(&coarse, &(weight * 4.0).clamp_max(1.0));
    let up = filled
        .unsqueeze(0)
        .upsample_bilinear2d([h, w], false, None, None)
        .squeeze_dim(0);
    image * known + up * (-known + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    const SIZE: u32 = 64;

    #[test]
    fn the_plate_leaves_out_what_the_segmentation_calls_the_person() {
        // Two frames of a grey room, each with a white square where the person stands: a
        // plate from masks of exactly those squares has no white in it.
        let s = SIZE as i64;
        let room = Tensor::full([2, 3, s, s], -0.2, (Kind::Float, Device::Cpu));
        let person = Tensor::zeros([2, 1, s, s], (Kind::Float, Device::Cpu));
        let _ = person.get(0).narrow(1, 0, 20).narrow(2, 0, 20).fill_(1.0);
        let _ = person.get(1).narrow(1, 30, 20).narrow(2, 30, 20).fill_(1.0);
        let frames = &room * (-&person + 1.0) + &person;
        let plate = background_plate(&frames, &person);
        assert!(plate.allclose(&room.get(0), 0.0, 1e-4, false));
    }

    #[test]
    fn a_room_seen_only_around_the_person_is_filled_from_around() {
        // One frame: a left half at -0.5 and a right half at 0.5, with the person covering
        // the middle. The plate there comes from the room beside it, not from the person.
        let s = SIZE as i64;
        let columns = Tensor::arange(s, (Kind::Float, Device::Cpu)).view([1, 1, 1, s]);
        let room = (columns.ge(s / 2).to_kind(Kind::Float) - 0.5).expand([1, 3, s, s], false);
        let person = columns
            .ge(s / 2 - 8)
            .logical_and(&columns.lt(s / 2 + 8))
            .to_kind(Kind::Float)
            .expand([1, 1, s, s], false);
        let frame = &room * (-&person + 1.0) + &person; // the person is white
        let plate = background_plate(&frame, &person);
        let middle = plate.narrow(2, s / 2 - 8, 16);
        let (low, high) = (
            middle.min().double_value(&[]),
            middle.max().double_value(&[]),
        );
        assert!(low >= -0.5 - 1e-4 && high <= 0.5 + 1e-4, "{low} .. {high}");
        // Left of the middle it leans to the left half, right of it to the right half.
        let at = |x: i64| plate.double_value(&[0, s / 2, x]);
        assert!(at(s / 2 - 7) < 0.0 && at(s / 2 + 6) > 0.0);
        // Where the room was seen, the plate is the room.
        assert!(plate.narrow(2, 0, s / 2 - 10).allclose(
            &room.get(0).narrow(2, 0, s / 2 - 10),
            0.0,
            1e-5,
            false
        ));
    }
}
