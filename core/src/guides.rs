//! Safe-zone guides for the preview: the part of a short that the platforms' own buttons,
//! names and descriptions leave uncovered in the feed, as fractions of the output frame, and
//! whether a caption template's block lies inside it.
//!
//! The margins are the ones the platforms' creator guides draw for 1080×1920 (TikTok, Reels
//! and Shorts put the account name and description along the bottom, the like/comment/share
//! column on the right and the tabs at the top); square and landscape posts keep the common
//! 5 % action-safe margin. They are guides, not rules: the export never uses them.

use crate::captions::CaptionStyle;
use crate::edit::{Aspect, Crop};

/// Margins of the safe area, each a fraction of the output's width (left, right) or height
/// (top, bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafeArea {
    pub top: f64,
    pub bottom: f64,
    pub left: f64,
    pub right: f64,
}

/// The safe area of an output shape.
pub fn safe_area(aspect: Aspect) -> SafeArea {
    match aspect {
        Aspect::Portrait9x16 => SafeArea {
            top: 0.07,
            bottom: 0.20,
            left: 0.05,
            right: 0.13,
        },
        Aspect::Square1x1 | Aspect::Landscape16x9 => SafeArea {
            top: 0.05,
            bottom: 0.05,
            left: 0.05,
            right: 0.05,
        },
    }
}

impl SafeArea {
    /// The safe rectangle in pixels of a `width`×`height` output.
    pub fn rect(&self, width: f64, height: f64) -> Crop {
        Crop {
            x: self.left * width,
            y: self.top * height,
            width: (1.0 - self.left - self.right) * width,
            height: (1.0 - self.top - self.bottom) * height,
        }
    }

    /// Whether a horizontal band from `top` to `bottom` (fractions of the height) is inside.
    pub fn holds_band(&self, top: f64, bottom: f64) -> bool {
        top >= self.top - 1e-9 && bottom <= 1.0 - self.bottom + 1e-9
    }
}

/// The rows a page of captions at its fullest (every line used) takes in an output of this
/// shape, as fractions of its height: the block is centred on the template's position and each
/// line is 1.25 font sizes tall, as the captions are drawn.
pub fn caption_band(style: &CaptionStyle, aspect: Aspect) -> (f64, f64) {
    let width = 1080.0;
    let height = width / aspect.ratio();
    let block = style.max_lines as f64 * style.font_for(width).size_px * 1.25;
    let centre = style.position_y * height;
    (
        (centre - block / 2.0) / height,
        (centre + block / 2.0) / height,
    )
}

/// A note for the user when the captions would be covered in the feed, else `None`.
pub fn caption_warning(style: &CaptionStyle, aspect: Aspect) -> Option<String> {
    let (top, bottom) = caption_band(style, aspect);
    let safe = safe_area(aspect);
    if safe.holds_band(top, bottom) {
        return None;
    }
    let place = if bottom > 1.0 - safe.bottom {
        "low"
    } else {
        "high"
    };
    Some(format!(
        "In {} the captions sit {place}, where the app's own buttons and text cover them; move them with “Position”.",
        aspect.label()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::captions::{templates, StyleOverrides};

    fn template(id: &str) -> CaptionStyle {
        templates().into_iter().find(|t| t.id == id).unwrap()
    }

    #[test]
    fn the_safe_area_is_inside_the_frame_and_leaves_most_of_it() {
        for aspect in [
            Aspect::Portrait9x16,
            Aspect::Square1x1,
            Aspect::Landscape16x9,
        ] {
            let r = safe_area(aspect).rect(1080.0, 1080.0 / aspect.ratio());
            assert!(r.x > 0.0 && r.y > 0.0);
            assert!(r.x + r.width < 1080.0 && r.y + r.height < 1080.0 / aspect.ratio());
            assert!(r.width * r.height > 0.5 * 1080.0 * 1080.0 / aspect.ratio());
        }
        // 9:16: the bottom (name and description) and right (buttons) lose most.
        let s = safe_area(Aspect::Portrait9x16);
        assert!(s.bottom > s.top && s.right > s.left);
    }

    #[test]
    fn a_karaoke_block_of_two_lines_is_measured_around_its_position() {
        // 84 px at 1080 wide, two lines of 105 px = 210 px of 1920, centred at 72 %.
        let (top, bottom) = caption_band(&template("karaoke"), Aspect::Portrait9x16);
        assert!((top - (0.72 - 105.0 / 1920.0)).abs() < 1e-9);
        assert!((bottom - (0.72 + 105.0 / 1920.0)).abs() < 1e-9);
    }

    #[test]
    fn captions_low_in_a_tall_frame_are_reported_and_moving_them_up_clears_it() {
        let lower = template("lower");
        let note = caption_warning(&lower, Aspect::Portrait9x16).unwrap();
        assert!(note.contains("9:16") && note.contains("low"), "{note}");
        // The same template in a landscape frame is inside the 5 % margin.
        assert_eq!(caption_warning(&lower, Aspect::Landscape16x9), None);
        let moved = StyleOverrides {
            position_y: Some(0.7),
            ..Default::default()
        }
        .apply(&lower);
        assert_eq!(caption_warning(&moved, Aspect::Portrait9x16), None);
        // Near the top it says so.
        let high = StyleOverrides {
            position_y: Some(0.02),
            ..Default::default()
        }
        .apply(&lower);
        assert!(caption_warning(&high, Aspect::Portrait9x16)
            .unwrap()
            .contains("high"));
    }

    #[test]
    fn the_centred_templates_are_safe_in_every_shape() {
        for id in ["karaoke", "boxed", "pop"] {
            for aspect in [
                Aspect::Portrait9x16,
                Aspect::Square1x1,
                Aspect::Landscape16x9,
            ] {
                assert_eq!(
                    caption_warning(&template(id), aspect),
                    None,
                    "{id} {aspect:?}"
                );
            }
        }
    }
}
