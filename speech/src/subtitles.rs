//! A transcript as timed segments of text with their words, and the files people take away:
//! SubRip (`.srt`), WebVTT (`.vtt`) and JSON. The SRT and VTT writers live in core (the editor
//! offers them beside an exported clip); JSON is written here.

use serde::{Deserialize, Serialize};

pub use reelsmith_core::subtitles::{format_timestamp, to_srt, to_vtt};
pub use reelsmith_core::transcript::{Segment, Word};

/// Why a transcript could not be written or read as JSON.
#[derive(Debug, thiserror::Error)]
pub enum SubtitleError {
    #[error("The transcript JSON could not be read: {0}. Pick a file Reelsmith saved.")]
    Json(#[from] serde_json::Error),
}

/// The JSON document: an object so that fields can be added later without breaking readers.
#[derive(Debug, Serialize, Deserialize)]
struct TranscriptJson<S> {
    segments: S,
}

/// The segments with their words as pretty-printed JSON: `{"segments": [...]}`.
pub fn to_json(segments: &[Segment]) -> Result<String, SubtitleError> {
    let mut json = serde_json::to_string_pretty(&TranscriptJson { segments })?;
    json.push('\n');
    Ok(json)
}

/// Reads what [`to_json`] wrote.
pub fn from_json(json: &str) -> Result<Vec<Segment>, SubtitleError> {
    let transcript: TranscriptJson<Vec<Segment>> = serde_json::from_str(json)?;
    Ok(transcript.segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start_secs: f64, end_secs: f64, text: &str, probability: f32) -> Word {
        Word {
            start_secs,
            end_secs,
            text: text.into(),
            probability,
        }
    }

    /// Whisper-like segments (leading spaces, word lists) with the awkward cases: a time past
    /// an hour, half-millisecond rounding, an arrow and markup in the text, a blank line, an
    /// empty segment and an end before its start.
    fn transcript() -> Vec<Segment> {
        vec![
            Segment {
                start_secs: 0.0,
                end_secs: 2.5,
                text: " The quick brown fox".into(),
                words: vec![
                    word(0.0, 0.4, " The", 0.98),
                    word(0.4, 0.9, " quick", 0.875),
                    word(0.9, 1.5, " brown", 0.5),
                    word(1.5, 2.5, " fox", 0.25),
                ],
            },
            Segment {
                start_secs: 2.5,
                end_secs: 4.0625,
                text: " jumps --> over <b>the</b> lazy dog & cat.".into(),
                words: vec![],
            },
            Segment {
                start_secs: 5.0,
                end_secs: 6.0,
                text: "   ".into(),
                words: vec![],
            },
            Segment {
                start_secs: 3_661.000_5,
                end_secs: 3_662.001_5,
                text: " Reelsmith turns long videos\n\n into short clips.".into(),
                words: vec![word(3_661.000_5, 3_661.5, " Reelsmith", 1.0)],
            },
            Segment {
                start_secs: 3_700.0,
                end_secs: 3_699.0,
                text: "Backwards.".into(),
                words: vec![],
            },
        ]
    }

    #[test]
    fn srt_matches_the_golden_file() {
        assert_eq!(
            to_srt(&transcript()),
            include_str!("../tests/golden/transcript.srt")
        );
    }

    #[test]
    fn vtt_matches_the_golden_file() {
        assert_eq!(
            to_vtt(&transcript()),
            include_str!("../tests/golden/transcript.vtt")
        );
    }

    #[test]
    fn json_matches_the_golden_file_and_reads_back() {
        let json = to_json(&transcript()).unwrap();
        assert_eq!(json, include_str!("../tests/golden/transcript.json"));
        assert_eq!(from_json(&json).unwrap(), transcript());
    }

    #[test]
    fn json_without_words_reads_as_no_words() {
        let segments =
            from_json(r#"{"segments":[{"start_secs":1.0,"end_secs":2.0,"text":" Hi"}]}"#).unwrap();
        assert_eq!(segments[0].words, vec![]);
        let err = from_json("[1, 2]").unwrap_err();
        assert!(
            err.to_string().contains("Pick a file Reelsmith saved"),
            "{err}"
        );
    }

    #[test]
    fn timestamps_round_like_python_and_never_go_negative() {
        assert_eq!(format_timestamp(0.0, ','), "00:00:00,000");
        assert_eq!(format_timestamp(1.234, ','), "00:00:01,234");
        assert_eq!(format_timestamp(59.9996, '.'), "00:01:00.000");
        // 0.0625 s = 62.5 ms exactly: half to even.
        assert_eq!(format_timestamp(0.0625, ','), "00:00:00,062");
        assert_eq!(format_timestamp(0.0635, ','), "00:00:00,064");
        assert_eq!(format_timestamp(100.0 * 3_600.0, ','), "100:00:00,000");
        assert_eq!(format_timestamp(-3.0, ','), "00:00:00,000");
        assert_eq!(format_timestamp(f64::NAN, ','), "00:00:00,000");
    }

    #[test]
    fn nothing_to_say_gives_empty_files() {
        assert_eq!(to_srt(&[]), "");
        assert_eq!(to_vtt(&[]), "WEBVTT\n");
        assert_eq!(to_json(&[]).unwrap(), "{\n  \"segments\": []\n}\n");
    }
}
