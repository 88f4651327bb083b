//! Layers the architectures share.

use tch::Tensor;

/// Instance norm without learned affine parameters, as pix2pixHD's `norm='instance'`
/// (the discriminator uses it too).
pub(super) fn instance_norm(x: &Tensor) -> Tensor {
    x.instance_norm(
        None::<Tensor>,
        None::<Tensor>,
        None::<Tensor>,
        None::<Tensor>,
        true,
        0.1,
        1e-5,
        true,
    )
}
