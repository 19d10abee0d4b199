//! Playback's arithmetic: where each decoded stretch of sound goes on the audio clock, and
//! when a picture is due, held back or late. The sound is the master clock: an [`Anchor`] ties
//! one media time to one audio-context time, sound is scheduled from it and pictures are shown
//! when the audio heard reaches them. Times in µs on the media side, seconds on the audio side
//! (as Web Audio counts them).

/// Sound decoded and scheduled ahead of what is heard.
pub const SOUND_AHEAD_MICROS: i64 = 1_000_000;
/// However short a video's frames, a picture is held for only when it is later than this.
pub const MIN_HOLD_LATE_MICROS: i64 = 20_000;
/// Sound shorter than this is not worth scheduling (under one sample at 8 kHz).
const MIN_SLOT_MICROS: i64 = 100;

/// Media time `from_micros` plays at audio-context time `ctx_secs`; nothing at or after
/// `until_micros` plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub ctx_secs: f64,
    pub from_micros: i64,
    pub until_micros: Option<i64>,
}

/// Where a decoded buffer plays: from `offset_secs` into it, for `duration_secs`, starting at
/// audio-context time `when_secs` (the arguments of `AudioBufferSourceNode.start`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub when_secs: f64,
    pub offset_secs: f64,
    pub duration_secs: f64,
}

impl Anchor {
    /// The media time heard at audio-context time `ctx_secs`.
    pub fn media_micros(&self, ctx_secs: f64) -> i64 {
        self.from_micros + ((ctx_secs - self.ctx_secs) * 1e6).round() as i64
    }

    /// The audio-context time at which media time `micros` is heard.
    pub fn ctx_secs_of(&self, micros: i64) -> f64 {
        self.ctx_secs + (micros - self.from_micros) as f64 / 1e6
    }

    /// The part of a decoded buffer covering media `start_micros..start_micros +
    /// duration_micros` that is to be played: inside `from..until`, and not before the
    /// audio-context time `earliest_ctx_secs` (what has already been rendered cannot be
    /// scheduled). `None` when nothing of it is left.
    pub fn slot(
        &self,
        start_micros: i64,
        duration_micros: i64,
        earliest_ctx_secs: f64,
    ) -> Option<Slot> {
        let earliest = self.media_micros(earliest_ctx_secs);
        let begin = start_micros.max(self.from_micros).max(earliest);
        let end = (start_micros + duration_micros).min(self.until_micros.unwrap_or(i64::MAX));
        (end - begin >= MIN_SLOT_MICROS).then(|| Slot {
            when_secs: self.ctx_secs_of(begin),
            offset_secs: (begin - start_micros) as f64 / 1e6,
            duration_secs: (end - begin) as f64 / 1e6,
        })
    }
}

/// What to do with the next picture, given the media time the clock reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Not yet due: look again after this long.
    Wait { micros: i64 },
    /// Due: show it.
    Show,
    /// Due, and later than `hold_after`: show it and hold the clock until a picture is early
    /// again.
    ShowAndHold,
    /// The clock is held and this picture is not yet due at the time it holds: the pictures
    /// have caught up, let the clock run again (then ask again).
    Release,
}

/// The pace of the picture at `pts_micros` when the clock reads `clock_micros` and is held
/// or not. A picture later than `hold_after_micros` (one frame: the decoder fell behind)
/// holds the clock, so that pictures neither pile up to be shown at once nor drift from the
/// sound; a held clock is never held again, and is released by the first picture that is
/// not yet due, so a hold always ends.
pub fn pace(pts_micros: i64, clock_micros: i64, held: bool, hold_after_micros: i64) -> Pace {
    let hold_after = hold_after_micros.max(MIN_HOLD_LATE_MICROS);
    let late = clock_micros - pts_micros;
    if late < 0 {
        if held {
            Pace::Release
        } else {
            Pace::Wait { micros: -late }
        }
    } else if late > hold_after && !held {
        Pace::ShowAndHold
    } else {
        Pace::Show
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANCHOR: Anchor = Anchor {
        ctx_secs: 10.0,
        from_micros: 2_000_000,
        until_micros: Some(5_000_000),
    };

    #[test]
    fn media_and_context_times_map_both_ways() {
        assert_eq!(ANCHOR.media_micros(10.0), 2_000_000);
        assert_eq!(ANCHOR.media_micros(10.5), 2_500_000);
        assert!((ANCHOR.ctx_secs_of(3_000_000) - 11.0).abs() < 1e-9);
    }

    #[test]
    fn a_buffer_across_the_start_plays_from_the_start() {
        let slot = ANCHOR.slot(1_990_000, 21_333, 9.0).unwrap();
        assert!((slot.when_secs - 10.0).abs() < 1e-9);
        assert!((slot.offset_secs - 0.010).abs() < 1e-9);
        assert!((slot.duration_secs - 0.011_333).abs() < 1e-9);
    }

    #[test]
    fn a_buffer_across_the_end_stops_at_the_end() {
        let slot = ANCHOR.slot(4_990_000, 21_333, 9.0).unwrap();
        assert!((slot.duration_secs - 0.010).abs() < 1e-9);
        assert_eq!(ANCHOR.slot(5_000_000, 21_333, 9.0), None);
        assert_eq!(ANCHOR.slot(1_000_000, 21_333, 9.0), None);
    }

    #[test]
    fn sound_already_rendered_is_skipped_not_played_late() {
        // The context is at 10.5 s (media 2.5 s): a buffer for 2.49–2.51 s plays its second half.
        let slot = ANCHOR.slot(2_490_000, 20_000, 10.5).unwrap();
        assert!((slot.when_secs - 10.5).abs() < 1e-9);
        assert!((slot.offset_secs - 0.010).abs() < 1e-9);
        assert_eq!(ANCHOR.slot(2_400_000, 20_000, 10.5), None);
    }

    #[test]
    fn pictures_wait_show_and_hold() {
        const FRAME: i64 = 33_333;
        assert_eq!(
            pace(1_000_000, 960_000, false, FRAME),
            Pace::Wait { micros: 40_000 }
        );
        assert_eq!(pace(1_000_000, 1_000_000, false, FRAME), Pace::Show);
        assert_eq!(pace(1_000_000, 1_030_000, false, FRAME), Pace::Show);
        assert_eq!(pace(1_000_000, 1_040_000, false, FRAME), Pace::ShowAndHold);
        assert_eq!(pace(1_000_000, 1_040_000, true, FRAME), Pace::Show);
        assert_eq!(pace(1_100_000, 1_090_000, true, FRAME), Pace::Release);
        // Very short frames still allow 20 ms.
        assert_eq!(pace(1_000_000, 1_015_000, false, 4_000), Pace::Show);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// The page's clock as playback uses it: runs from a start, stands still while held, and
    /// runs on from where it stood when released.
    struct Clock {
        start_wall: i64,
        from: i64,
        held_at: Option<i64>,
    }

    impl Clock {
        fn now(&self, wall: i64) -> i64 {
            self.held_at.unwrap_or(self.from + wall - self.start_wall)
        }
    }

    proptest! {
        #[test]
        fn playback_with_a_slow_decoder_shows_every_picture_and_never_stalls(
            // Half the pictures come out together with the one before (decoders output in
            // bursts), the others up to 150 ms after it.
            decode in proptest::collection::vec((0i64..300_000).prop_map(|d| (d - 150_000).max(0)), 2..120),
        ) {
            // Pictures 33 ms apart, each ready `decode[i]` after the one before (a decoder
            // sometimes far slower than real time). Playback as the player runs it.
            const FRAME: i64 = 33_333;
            let ready: Vec<i64> = decode.iter().scan(0, |t, d| { *t += d; Some(*t) }).collect();
            let mut clock = Clock { start_wall: ready[0], from: 0, held_at: None };
            let (mut wall, mut next, mut steps) = (ready[0], 0usize, 0);
            let mut shown_at = Vec::new();
            while next < ready.len() {
                steps += 1;
                prop_assert!(steps < 10 * ready.len() + 100, "playback stalled at picture {}", next);
                if ready[next] > wall {
                    wall = ready[next]; // waiting for the decoder
                    continue;
                }
                let pts = next as i64 * FRAME;
                match pace(pts, clock.now(wall), clock.held_at.is_some(), FRAME) {
                    Pace::Wait { micros } => wall += micros,
                    Pace::Release => {
                        let at = clock.held_at.take().unwrap_or(0);
                        clock = Clock { start_wall: wall, from: at, held_at: None };
                    }
                    due => {
                        if due == Pace::ShowAndHold {
                            clock.held_at = Some(pts);
                        }
                        shown_at.push(wall);
                        next += 1;
                    }
                }
            }
            // Every picture shown, in order, and none of them more than a frame after both the
            // picture before it and its own decoding: pictures neither pile up nor idle.
            prop_assert_eq!(shown_at.len(), ready.len());
            for (i, at) in shown_at.iter().enumerate() {
                prop_assert!(*at >= ready[i]);
                if i > 0 {
                    prop_assert!(*at > shown_at[i - 1], "pictures {} and {} shown at once", i - 1, i);
                    let free = ready[i].max(shown_at[i - 1]);
                    prop_assert!(*at <= free + FRAME + 1, "picture {} shown {} µs after it could be", i, at - free);
                }
            }
        }

        #[test]
        fn slots_stay_inside_the_range_and_in_sync(
            from in 0i64..10_000_000,
            span in 0i64..10_000_000,
            ctx in 0.0f64..100.0,
            start in -1_000_000i64..25_000_000,
            duration in 1i64..200_000,
            rendered in -1.0f64..30.0,
        ) {
            let anchor = Anchor { ctx_secs: ctx, from_micros: from, until_micros: Some(from + span) };
            let earliest = ctx + rendered;
            if let Some(slot) = anchor.slot(start, duration, earliest) {
                let begin = start as f64 / 1e6 + slot.offset_secs;
                let end = begin + slot.duration_secs;
                // Inside the buffer, the range and the future.
                prop_assert!(slot.offset_secs >= 0.0 && end <= (start + duration) as f64 / 1e6 + 1e-6);
                prop_assert!(begin >= from as f64 / 1e6 - 1e-6);
                prop_assert!(end <= (from + span) as f64 / 1e6 + 1e-6);
                prop_assert!(slot.when_secs >= earliest - 1e-6);
                // In sync: the sample at `begin` is heard when the anchor says.
                prop_assert!((slot.when_secs - anchor.ctx_secs_of(0) - begin).abs() < 1e-6);
            }
        }

        #[test]
        fn buffers_end_to_end_play_end_to_end(
            from in 0i64..1_000_000,
            lengths in proptest::collection::vec(1_000i64..50_000, 1..40),
        ) {
            // Decoded buffers one after another from before the start: the slots meet (less a
            // sliver too short to schedule).
            let anchor = Anchor { ctx_secs: 5.0, from_micros: from, until_micros: None };
            let mut start = from - 30_000;
            let mut heard_until: Option<f64> = None;
            for length in lengths {
                if let Some(slot) = anchor.slot(start, length, 0.0) {
                    if let Some(until) = heard_until {
                        prop_assert!((slot.when_secs - until).abs() < 1e-4);
                    } else {
                        prop_assert!((slot.when_secs - 5.0).abs() < 1e-4);
                    }
                    heard_until = Some(slot.when_secs + slot.duration_secs);
                }
                start += length;
            }
        }
    }
}
