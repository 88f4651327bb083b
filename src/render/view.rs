//! What `metapix-stream` shows: the skeleton alone, or the driving frame beside it.

use super::panel::{letterbox, PanelFit};
use super::stick::draw_stick_figure;
use crate::{RgbImage, Skeleton};

/// The output layout, chosen with `--view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// The stick figure on black, one square panel.
    Skeleton,
    /// The driving frame and the stick figure, two panels side by side.
    SideBySide,
}

impl View {
    /// Output frame size for panels of `size` pixels.
    pub fn frame_size(self, size: u32) -> (u32, u32) {
        match self {
            View::Skeleton => (size, size),
            View::SideBySide => (2 * size, size),
        }
    }
}

/// Composes output frames for one view and panel size.
pub struct ViewRenderer {
    view: View,
    size: u32,
}

impl ViewRenderer {
    pub fn new(view: View, size: u32) -> Self {
        Self { view, size }
    }

    /// The output frame for a source frame and the skeleton found in it (source pixels).
    pub fn render(&self, frame: &RgbImage, skeleton: &Skeleton) -> RgbImage {
        let fit = PanelFit::new(frame.width, frame.height, self.size);
        let posed = fit.skeleton(skeleton);
        let mut figure = RgbImage::filled(self.size, self.size, [0, 0, 0]);
        draw_stick_figure(&mut figure, &posed);
        match self.view {
            View::Skeleton => figure,
            View::SideBySide => {
                let (w, h) = self.view.frame_size(self.size);
                let mut out = RgbImage::filled(w, h, [0, 0, 0]);
                out.blit(&letterbox(frame, &fit), 0, 0);
                out.blit(&figure, self.size, 0);
                out
            }
        }
    }
}
