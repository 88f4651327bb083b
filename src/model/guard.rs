//! libtorch failures as errors. tch's tensor operations panic when libtorch throws (CUDA out
//! of memory, a shape nobody validated), so the calls that can meet one (a generator's
//! forward pass, a training step) run inside [`torch`], which turns such a panic into a
//! one-line [`TorchError`]. Sizes and counts are validated before these calls; this is the
//! net under them. The binaries install a panic hook that prints nothing, so the message
//! reaches the user once, as the error.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::base::panic_text;

/// What libtorch said, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("libtorch failed: {0}")]
pub struct TorchError(pub String);

impl From<tch::TchError> for TorchError {
    fn from(e: tch::TchError) -> Self {
        TorchError(first_line(&e.to_string()))
    }
}

/// Runs `f`, returning a libtorch failure inside it as an error instead of a panic.
pub fn torch<T>(f: impl FnOnce() -> T) -> Result<T, TorchError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        TorchError::from_panic(payload.as_ref())
            .unwrap_or_else(|| TorchError(first_line(panic_text(payload.as_ref()))))
    })
}

impl TorchError {
    /// The libtorch failure a panic carries, if it is one (tch's `Torch("…")`): a panic
    /// caught elsewhere (the binaries' last net) is then reported as this error, not as a
    /// defect.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Option<Self> {
        let text = panic_text(payload);
        text.contains("Torch(\"")
            .then(|| TorchError(first_line(text)))
    }
}

/// The useful line of a libtorch message: tch wraps it as `Torch("…")` inside a panic's
/// `unwrap` text, and libtorch appends a C++ backtrace after a newline (escaped as `\n`
/// inside the quotes). Out of memory, it also appends a paragraph of allocator advice:
/// what failed is said in its first two sentences.
fn first_line(text: &str) -> String {
    let text = text.split_once("Torch(\"").map_or(text, |(_, inner)| inner);
    let mut end = [text.find("\\n"), text.find('\n'), text.find("\")")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(text.len());
    if text.starts_with("CUDA out of memory") {
        end = end.min(text.find(". GPU").unwrap_or(end));
    }
    text[..end].trim().trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn a_libtorch_failure_becomes_one_line() {
        let a = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
        let err = torch(|| a.matmul(&a)).unwrap_err();
        println!("{err}");
        assert!(err.0.contains("cannot be multiplied"), "{err}");
        assert!(!err.to_string().contains('\n') && !err.0.contains("Exception raised"));
        assert_eq!(torch(|| 2 + 2), Ok(4));
    }

    #[test]
    fn wrapped_messages_are_cut_to_their_first_line() {
        // As an H200 said it, backtrace and all (shortened).
        let panic_text = "called `Result::unwrap()` on an `Err` value: Torch(\"CUDA out of \
            memory. Tried to allocate 292.97 GiB. GPU 0 has a total capacity of 139.80 GiB \
            of which 139.07 GiB is free. If reserved but unallocated memory is large try \
            setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True\\nException raised \
            from malloc at CUDACachingAllocator.cpp:1574\\nframe #0: c10::Error\")";
        assert_eq!(
            first_line(panic_text),
            "CUDA out of memory. Tried to allocate 292.97 GiB"
        );
        let payload: Box<dyn std::any::Any + Send> = Box::new(panic_text.to_string());
        let err = TorchError::from_panic(payload.as_ref()).unwrap();
        assert_eq!(
            err.to_string(),
            "libtorch failed: CUDA out of memory. Tried to allocate 292.97 GiB"
        );
        let other: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        assert!(TorchError::from_panic(other.as_ref()).is_none());
        assert_eq!(first_line("plain message.\nmore"), "plain message");
    }
}
