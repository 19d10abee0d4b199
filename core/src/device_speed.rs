//! What this device measured of each speech model, and the defaults that follow: the model
//! (base, accurate and in every language, wherever it transcribes at least [`MIN_REAL_TIME`]
//! times real time; tiny.en otherwise) and the decoding (a beam search of [`BEAM_SIZE`] where
//! the model keeps that pace with it, greedy otherwise).
//!
//! A first visit knows nothing of the device, so it starts with tiny.en: the small download
//! and the fast start. Its first window tells how fast base would be ([`BASE_SPEED_RATIO`]);
//! once base has run here, its own measurement decides.
//!
//! A model's speed is measured once per device, on its first window of at least
//! [`MIN_MEASURED_SECS`] with words in it, decoded greedily (no measurement, no beam): seconds
//! of audio over the seconds the worker spent on it, times the workers the editor runs (one
//! per core but one). The worker's time includes the retries of a window it found hard, so
//! a device is measured on the safe side. A shorter window would make the
//! device look slow: the encoder works on 30 s whatever the window holds. It
//! is kept with the browser's other settings and never re-measured, so the defaults do not
//! swing with a busy moment; removing the browser's data measures again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The accurate, multilingual model.
pub const BASE: &str = "whisper-base";
/// The fast, English-only model.
pub const TINY_EN: &str = "whisper-tiny.en";
/// The pace (× real time) a default must keep on this device.
pub const MIN_REAL_TIME: f64 = 2.0;
/// Hypotheses the beam search keeps where the device is fast enough (whisper's CLI default).
pub const BEAM_SIZE: u8 = 5;
/// Base's speed over tiny.en's on the same device (BENCHMARKS.md: 0.52 in the tab with one
/// worker, 0.44–0.47 natively; the lower end, so a device is not promised a pace it lacks).
pub const BASE_SPEED_RATIO: f64 = 0.45;
/// How many times longer a window takes with the beam search than greedily (BENCHMARKS.md,
/// "Beam search"): a model measured at `r` keeps `r / BEAM_COST` with the beam.
pub const BEAM_COST: f64 = 2.5;

/// Each model's measured pace on this device (× real time, all workers, greedy).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceSpeeds(BTreeMap<String, f64>);

impl DeviceSpeeds {
    /// What was kept; anything unreadable counts as nothing measured yet.
    pub fn parse(json: &str) -> Self {
        let mut speeds: Self = serde_json::from_str(json).unwrap_or_default();
        speeds.0.retain(|_, r| r.is_finite() && *r > 0.0);
        speeds
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The model's speed, if measured.
    pub fn get(&self, model: &str) -> Option<f64> {
        self.0.get(model).copied()
    }

    /// Keeps a first measurement of `model`, to a hundredth (it reads back exactly); a model
    /// already measured keeps its speed, and a speed that is not a positive number is no
    /// measurement. Whether it was kept.
    pub fn record(&mut self, model: &str, real_time: f64) -> bool {
        let kept = (real_time * 100.0).round() / 100.0;
        if self.0.contains_key(model) || !kept.is_finite() || kept <= 0.0 {
            return false;
        }
        self.0.insert(model.to_string(), kept);
        true
    }

    /// The model to use when the user has not chosen one: base where it was measured at
    /// [`MIN_REAL_TIME`] or more, or, before it ran here, where tiny.en's speed promises that
    /// much; tiny.en otherwise (and while nothing is measured).
    pub fn default_model(&self) -> &'static str {
        let base = self
            .get(BASE)
            .or_else(|| self.get(TINY_EN).map(|r| r * BASE_SPEED_RATIO));
        match base {
            Some(r) if r >= MIN_REAL_TIME => BASE,
            _ => TINY_EN,
        }
    }

    /// The beam to decode `model` with: [`BEAM_SIZE`] once the model was measured fast
    /// enough to keep [`MIN_REAL_TIME`] with it, greedy (1) until then.
    pub fn beam_size(&self, model: &str) -> u8 {
        match self.get(model) {
            Some(r) if r / BEAM_COST >= MIN_REAL_TIME => BEAM_SIZE,
            _ => 1,
        }
    }
}

/// The shortest window whose speed counts as the device's.
pub const MIN_MEASURED_SECS: f64 = 20.0;

/// The editor's pace on this device from one window: its seconds of audio over the seconds
/// the worker took for it, times the workers sharing the windows (each has a core of its
/// own); `None` for a window shorter than [`MIN_MEASURED_SECS`] (or a time that is no time).
pub fn real_time(audio_secs: f64, took_secs: f64, workers: usize) -> Option<f64> {
    (audio_secs >= MIN_MEASURED_SECS && took_secs > 0.0)
        .then(|| audio_secs / took_secs * workers.max(1) as f64)
}

/// Whether a transcription that ran base because it was the default hands over to tiny.en:
/// base kept less than [`MIN_REAL_TIME`], and the video is in English or its language is not
/// known (tiny.en knows English only; a video in another language stays with base).
pub fn hands_over_to_tiny(model: &str, real_time: f64, language: Option<&str>) -> bool {
    model == BASE && real_time < MIN_REAL_TIME && language.is_none_or(|code| code == "en")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_first_then_base_where_the_device_keeps_its_pace() {
        let mut speeds = DeviceSpeeds::default();
        assert_eq!(speeds.default_model(), TINY_EN);
        assert_eq!(speeds.beam_size(TINY_EN), 1);
        // tiny.en at 6.4× promises base at 2.9×: base from now on.
        assert!(speeds.record(TINY_EN, 6.4));
        assert_eq!(speeds.default_model(), BASE);
        // Base's own measurement decides once it has run.
        assert!(speeds.record(BASE, 1.4));
        assert_eq!(speeds.default_model(), TINY_EN);
        // Measured once: a later, faster window does not change it.
        assert!(!speeds.record(BASE, 9.0));
        assert_eq!(speeds.get(BASE), Some(1.4));
        // A slow device stays with tiny.en; base measured fast wins over a slow tiny.en.
        assert_eq!(
            DeviceSpeeds::parse(r#"{"whisper-tiny.en":3.0}"#).default_model(),
            TINY_EN
        );
        let fast = DeviceSpeeds::parse(r#"{"whisper-base":3.3,"whisper-tiny.en":3.0}"#);
        assert_eq!(fast.default_model(), BASE);
    }

    #[test]
    fn the_beam_needs_room_for_its_cost() {
        let speeds = DeviceSpeeds::parse(r#"{"whisper-base":3.3,"whisper-tiny.en":6.4}"#);
        assert_eq!(speeds.beam_size(BASE), 1);
        assert_eq!(speeds.beam_size(TINY_EN), BEAM_SIZE);
        assert_eq!(speeds.beam_size("whisper-other"), 1);
    }

    #[test]
    fn unreadable_or_impossible_speeds_are_no_measurement() {
        assert_eq!(DeviceSpeeds::parse("not json"), DeviceSpeeds::default());
        assert_eq!(
            DeviceSpeeds::parse(r#"{"whisper-base":"fast"}"#),
            DeviceSpeeds::default()
        );
        let speeds = DeviceSpeeds::parse(r#"{"whisper-base":-1,"whisper-tiny.en":0}"#);
        assert_eq!(speeds, DeviceSpeeds::default());
        let mut speeds = DeviceSpeeds::default();
        assert!(!speeds.record(BASE, f64::NAN));
        assert!(!speeds.record(BASE, f64::INFINITY));
        assert_eq!(real_time(30.0, 0.0, 1), None);
        assert_eq!(real_time(30.0, 10.0, 1), Some(3.0));
        // Three workers each at 3× transcribe at 9× together.
        assert_eq!(real_time(30.0, 10.0, 3), Some(9.0));
        // A short window pays a whole window's encoder pass: it says nothing of the device.
        assert_eq!(real_time(8.0, 4.0, 1), None);
    }

    #[test]
    fn a_slow_base_hands_over_only_where_tiny_en_can_follow() {
        assert!(hands_over_to_tiny(BASE, 1.4, None));
        assert!(hands_over_to_tiny(BASE, 1.4, Some("en")));
        assert!(!hands_over_to_tiny(BASE, 1.4, Some("de")));
        assert!(!hands_over_to_tiny(BASE, 2.0, None));
        assert!(!hands_over_to_tiny(TINY_EN, 0.5, None));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn what_is_kept_reads_back(base in 0.01f64..100.0, tiny in 0.01f64..100.0) {
            let mut speeds = DeviceSpeeds::default();
            speeds.record(BASE, base);
            speeds.record(TINY_EN, tiny);
            prop_assert_eq!(DeviceSpeeds::parse(&speeds.to_json()), speeds);
        }

        #[test]
        fn faster_never_means_a_smaller_model_or_beam(r in 0.01f64..100.0, more in 0.0f64..50.0) {
            for model in [BASE, TINY_EN] {
                let at = |r: f64| DeviceSpeeds::parse(&format!(r#"{{"{model}":{r}}}"#));
                let (slow, fast) = (at(r), at(r + more));
                prop_assert!(slow.default_model() == TINY_EN || fast.default_model() == BASE);
                prop_assert!(fast.beam_size(model) >= slow.beam_size(model));
            }
        }
    }
}
