//! Layers the architectures share.

use tch::{Device, Tensor};

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

/// `x` (N, C, H, W) laid out for convolutions on its device. On the CPU that is
/// channels-last strides: the same values, each pixel's channels side by side in memory.
/// oneDNN runs a CPU convolution on it as it is; on a standard (N, C, H, W) tensor it
/// reorders input and output around every call, which made a lite Posewarp U-Net at 256
/// twice as slow (docs/BENCHMARKS.md). Convolutions, concatenation, upsampling and
/// elementwise ops keep the layout, so converting a network's input once is enough. On a
/// GPU, `x` as it is.
pub(super) fn conv_layout(x: &Tensor) -> Tensor {
    let strides = x.stride();
    if x.device() != Device::Cpu || x.dim() != 4 || strides[1] == 1 {
        return x.shallow_clone();
    }
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// LeakyReLU with slope 0.2 (tch's `leaky_relu` has 0.01 fixed).
pub(super) fn leaky(x: &Tensor) -> Tensor {
    x.maximum(&(x * 0.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn cpu_conv_layout_keeps_the_values_and_puts_channels_side_by_side() {
        let x = Tensor::randn([2, 5, 4, 3], (Kind::Float, Device::Cpu));
        let y = conv_layout(&x);
        assert_eq!(y.size(), x.size());
        assert_eq!(y.stride(), [60, 1, 15, 5]);
        assert!(y.equal(&x));
        // Already channels-last: the same storage, not a copy.
        assert_eq!(conv_layout(&y).data_ptr(), y.data_ptr());
    }
}
