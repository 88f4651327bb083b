//! What `metapix-stream` shows: the skeleton alone, or the driving frame beside it.

use super::panel::{letterbox, PanelFit};
use super::stick::draw_stick_figure;
use crate::{RgbImage, Skeleton};

/// The output layout, chosen with `--view`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The generated person, one square panel (needs a model).
    Gen,
    /// The stick figure on black, one square panel.
    Skeleton,
    /// The driving frame and the stick figure (and the generated person, with a model),
    /// panels side by side.
    SideBySide,
}

impl View {
    /// Output frame size for panels of `size` pixels, with or without a generator.
    pub fn frame_size(self, size: u32, generating: bool) -> (u32, u32) {
        match self {
            View::Gen | View::Skeleton => (size, size),
            View::SideBySide if generating => (3 * size, size),
            View::SideBySide => (2 * size, size),
        }
    }
}

/// Composes output frames for one view and panel size.
pub struct ViewRenderer {
    view: View,
    size: u32,
    /// A generator runs: its panel is part of the layout, black for frames it skipped.
    generating: bool,
}

impl ViewRenderer {
    pub fn new(view: View, size: u32, generating: bool) -> Self {
        Self {
            view,
            size,
            generating,
        }
    }

    /// The output frame for a source frame, the skeleton found in it (source pixels) and
    /// the generated person, if any (none for a frame without a person: a black panel).
    pub fn render(
        &self,
        frame: &RgbImage,
        skeleton: &Skeleton,
        generated: Option<&RgbImage>,
    ) -> RgbImage {
        let panel = |image: &RgbImage| {
            let fit = PanelFit::new(image.width, image.height, self.size);
            letterbox(image, &fit)
        };
        let figure = || {
            let fit = PanelFit::new(frame.width, frame.height, self.size);
            let mut figure = RgbImage::filled(self.size, self.size, [0, 0, 0]);
            draw_stick_figure(&mut figure, &fit.skeleton(skeleton));
            figure
        };
        match (self.view, generated) {
            (View::Gen, Some(g)) => panel(g),
            (View::Gen, None) => RgbImage::filled(self.size, self.size, [0, 0, 0]),
            (View::Skeleton, _) => figure(),
            (View::SideBySide, g) => {
                let (w, h) = self.view.frame_size(self.size, self.generating);
                let mut out = RgbImage::filled(w, h, [0, 0, 0]);
                out.blit(&panel(frame), 0, 0);
                out.blit(&figure(), self.size, 0);
                if let Some(g) = g.filter(|_| self.generating) {
                    out.blit(&panel(g), 2 * self.size, 0);
                }
                out
            }
        }
    }
}
