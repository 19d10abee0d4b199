//! The timeline's arithmetic: which stretch of the video it shows (zoom and scroll), where a
//! time falls across its width and back, and where a dragged clip edge lands — on the nearest
//! word boundary when one is close, so a clip does not start or end inside a word.

use crate::edit::Span;
use crate::transcript::Word;

/// The stretch of the video the timeline shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeView {
    pub start_secs: f64,
    pub secs: f64,
}

/// The timeline never shows less than this (a few words across its width).
pub const MIN_VISIBLE_SECS: f64 = 2.0;

impl TimeView {
    /// The whole of a video `duration` seconds long.
    pub fn whole(duration: f64) -> Self {
        Self {
            start_secs: 0.0,
            secs: duration.max(0.0),
        }
    }

    /// The end of the stretch shown.
    pub fn end_secs(&self) -> f64 {
        self.start_secs + self.secs
    }

    /// Where `t` falls across a timeline `width` pixels wide (outside `0..width` when `t` is not
    /// shown).
    pub fn x_of(&self, t: f64, width: f64) -> f64 {
        if self.secs <= 0.0 {
            return 0.0;
        }
        (t - self.start_secs) / self.secs * width
    }

    /// The time at `x` pixels across a timeline `width` pixels wide.
    pub fn secs_at(&self, x: f64, width: f64) -> f64 {
        if width <= 0.0 {
            return self.start_secs;
        }
        self.start_secs + x / width * self.secs
    }

    /// This view zoomed by `factor` (2 shows half as much) keeping `anchor` where it is on
    /// screen, kept inside the video and no narrower than `MIN_VISIBLE_SECS`.
    pub fn zoomed(&self, factor: f64, anchor: f64, duration: f64) -> Self {
        if duration <= 0.0 || factor <= 0.0 || self.secs <= 0.0 {
            return Self::whole(duration);
        }
        let secs = (self.secs / factor).clamp(MIN_VISIBLE_SECS.min(duration), duration);
        let share = ((anchor - self.start_secs) / self.secs).clamp(0.0, 1.0);
        Self {
            start_secs: anchor - share * secs,
            secs,
        }
        .kept_inside(duration)
    }

    /// This view moved by `delta` seconds, kept inside the video.
    pub fn scrolled(&self, delta: f64, duration: f64) -> Self {
        Self {
            start_secs: self.start_secs + delta,
            secs: self.secs,
        }
        .kept_inside(duration)
    }

    /// This view as the timeline follows the playhead: unchanged while `t` is shown (so it
    /// never slides under a pointer dragging inside it), else moved just enough to show `t`
    /// with a tenth of the view as margin.
    pub fn following(&self, t: f64, duration: f64) -> Self {
        let margin = self.secs * 0.1;
        let start = if t < self.start_secs {
            t - margin
        } else if t > self.end_secs() {
            t + margin - self.secs
        } else {
            self.start_secs
        };
        Self {
            start_secs: start,
            secs: self.secs,
        }
        .kept_inside(duration)
    }

    fn kept_inside(self, duration: f64) -> Self {
        let secs = self.secs.min(duration.max(0.0));
        Self {
            start_secs: self.start_secs.clamp(0.0, (duration - secs).max(0.0)),
            secs,
        }
    }
}

/// Which end of a clip is dragged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    In,
    Out,
}

/// The shortest clip a drag leaves.
pub const MIN_CLIP_SECS: f64 = 0.5;

/// The word boundary (a word's start for an in point, its end for an out point) nearest to
/// `t` within `tolerance` seconds, else `t` itself.
pub fn snap(t: f64, edge: Edge, words: &[&Word], tolerance: f64) -> f64 {
    words
        .iter()
        .map(|w| match edge {
            Edge::In => w.start_secs,
            Edge::Out => w.end_secs,
        })
        .filter(|b| (b - t).abs() <= tolerance)
        .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()))
        .unwrap_or(t)
}

/// The clip's span after its `edge` is dragged to `t`: snapped to a word boundary within
/// `tolerance`, inside the video and at least `MIN_CLIP_SECS` long.
pub fn drag_edge(
    span: Span,
    edge: Edge,
    t: f64,
    words: &[&Word],
    tolerance: f64,
    duration: f64,
) -> Span {
    let t = snap(t.clamp(0.0, duration), edge, words, tolerance);
    match edge {
        Edge::In => Span::new(t.min(span.end_secs - MIN_CLIP_SECS).max(0.0), span.end_secs),
        Edge::Out => Span::new(
            span.start_secs,
            t.max(span.start_secs + MIN_CLIP_SECS).min(duration),
        ),
    }
}

/// The next word boundary after (`forward`) or before `t` for `edge`, for moving a clip edge
/// with the arrow keys; `None` past the last (or before the first).
pub fn step_edge(t: f64, edge: Edge, words: &[&Word], forward: bool) -> Option<f64> {
    let boundaries = words.iter().map(|w| match edge {
        Edge::In => w.start_secs,
        Edge::Out => w.end_secs,
    });
    if forward {
        boundaries.filter(|b| *b > t + 1e-6).min_by(f64::total_cmp)
    } else {
        boundaries.filter(|b| *b < t - 1e-6).max_by(f64::total_cmp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<Word> {
        [(1.0, 1.4), (1.5, 2.0), (2.6, 3.1), (3.2, 3.9)]
            .iter()
            .map(|&(a, b)| Word::new(a, b, " w".to_string()))
            .collect()
    }

    #[test]
    fn zooming_in_keeps_the_anchor_still_and_stops_at_the_ends() {
        let whole = TimeView::whole(100.0);
        let z = whole.zoomed(4.0, 50.0, 100.0);
        assert_eq!(z.secs, 25.0);
        assert!((z.x_of(50.0, 1000.0) - 500.0).abs() < 1e-9);
        // Zooming out near the start: the view cannot go before 0.
        let first = TimeView {
            start_secs: 0.0,
            secs: 25.0,
        };
        assert_eq!(first.zoomed(0.5, 20.0, 100.0).start_secs, 0.0);
        // Never narrower than two seconds, never wider than the video.
        assert_eq!(whole.zoomed(1000.0, 10.0, 100.0).secs, MIN_VISIBLE_SECS);
        assert_eq!(z.zoomed(0.001, 10.0, 100.0), whole);
    }

    #[test]
    fn the_view_follows_the_playhead_only_when_it_leaves_it() {
        let v = TimeView {
            start_secs: 10.0,
            secs: 20.0,
        };
        assert_eq!(v.following(20.0, 100.0), v);
        assert_eq!(v.following(29.5, 100.0), v);
        let moved = v.following(30.5, 100.0);
        assert!((moved.end_secs() - 32.5).abs() < 1e-9);
        assert!((v.following(5.0, 100.0).start_secs - 3.0).abs() < 1e-9);
        assert_eq!(v.following(99.5, 100.0).end_secs(), 100.0);
        assert_eq!(v.scrolled(-50.0, 100.0).start_secs, 0.0);
    }

    #[test]
    fn a_dragged_edge_snaps_to_the_nearest_word_boundary_of_its_kind() {
        let words = words();
        let w: Vec<&Word> = words.iter().collect();
        let span = Span::new(1.0, 3.9);
        // An in point near the third word's start lands on it; an out point near a word's end
        // lands on that end, not on the next start.
        assert_eq!(
            drag_edge(span, Edge::In, 2.5, &w, 0.2, 10.0).start_secs,
            2.6
        );
        assert_eq!(drag_edge(span, Edge::Out, 2.1, &w, 0.2, 10.0).end_secs, 2.0);
        // Far from any word: where it was dropped.
        assert_eq!(drag_edge(span, Edge::Out, 6.0, &w, 0.2, 10.0).end_secs, 6.0);
        // Past the other end: the clip keeps its shortest length.
        let s = drag_edge(span, Edge::In, 9.0, &w, 0.2, 10.0);
        assert!((s.start_secs - (3.9 - MIN_CLIP_SECS)).abs() < 1e-9);
        assert_eq!(
            drag_edge(span, Edge::Out, 99.0, &w, 0.2, 10.0).end_secs,
            10.0
        );
    }

    #[test]
    fn arrow_keys_step_an_edge_from_word_to_word() {
        let words = words();
        let w: Vec<&Word> = words.iter().collect();
        assert_eq!(step_edge(1.0, Edge::In, &w, true), Some(1.5));
        assert_eq!(step_edge(1.5, Edge::In, &w, false), Some(1.0));
        assert_eq!(step_edge(1.0, Edge::In, &w, false), None);
        assert_eq!(step_edge(2.0, Edge::Out, &w, true), Some(3.1));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A zoomed view lies inside the video, is no narrower than the minimum, and keeps the
        /// anchor at the same place across the width unless an end of the video stops it.
        #[test]
        fn zoom_stays_inside_and_keeps_the_anchor(
            duration in 3.0f64..10_000.0,
            start in 0.0f64..1.0,
            share in 0.01f64..1.0,
            anchor in 0.0f64..1.0,
            factor in 0.1f64..10.0,
        ) {
            let secs = duration * share;
            let view = TimeView { start_secs: start * (duration - secs), secs };
            let anchor = view.start_secs + anchor * view.secs;
            let z = view.zoomed(factor, anchor, duration);
            prop_assert!(z.start_secs >= 0.0 && z.end_secs() <= duration + 1e-6);
            prop_assert!(z.secs >= MIN_VISIBLE_SECS - 1e-9);
            let (before, after) = (view.x_of(anchor, 1.0), z.x_of(anchor, 1.0));
            let stopped = z.start_secs <= 1e-9 || z.end_secs() >= duration - 1e-6;
            prop_assert!(stopped || (before - after).abs() < 1e-6);
            prop_assert!((z.secs_at(z.x_of(anchor, 800.0), 800.0) - anchor).abs() < 1e-6);
        }

        /// Snapping moves an edge only onto a boundary of its kind within the tolerance, and
        /// onto the nearest one.
        #[test]
        fn snapping_picks_the_nearest_boundary_within_reach(
            starts in proptest::collection::vec(0.0f64..60.0, 1..30),
            t in 0.0f64..60.0,
            tolerance in 0.0f64..1.0,
        ) {
            let words: Vec<Word> = starts.iter().map(|&s| Word::new(s, s + 0.3, " w".to_string())).collect();
            let w: Vec<&Word> = words.iter().collect();
            let snapped = snap(t, Edge::In, &w, tolerance);
            let nearest = starts.iter().map(|s| (s - t).abs()).fold(f64::INFINITY, f64::min);
            if nearest <= tolerance {
                prop_assert!(((snapped - t).abs() - nearest).abs() < 1e-12);
                prop_assert!(starts.contains(&snapped));
            } else {
                prop_assert_eq!(snapped, t);
            }
        }
    }
}
