//! Subtitle files people take away beside a clip: SubRip (`.srt`) and WebVTT (`.vtt`).
//!
//! Cue text is cleaned so that it cannot break the file: trimmed, blank lines dropped (a blank
//! line ends a cue), `-->` written as `->` (as whisper's writers do), and in WebVTT `&`, `<`
//! and `>` escaped. Segments with no text left are skipped; cues are numbered 1, 2, … in SRT.
//! Times are rounded to milliseconds half to even, like whisper's Python `round`.

use crate::transcript::Segment;

/// SubRip: `1\n00:00:01,234 --> 00:00:02,000\ntext\n`, cues separated by a blank line.
pub fn to_srt(segments: &[Segment]) -> String {
    cues(segments, ',', false)
        .enumerate()
        .map(|(i, (start, end, text))| format!("{}\n{start} --> {end}\n{text}\n", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// WebVTT: a `WEBVTT` header, then `00:00:01.234 --> 00:00:02.000\ntext\n` cues separated by a
/// blank line.
pub fn to_vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n");
    for (start, end, text) in cues(segments, '.', true) {
        out.push_str(&format!("\n{start} --> {end}\n{text}\n"));
    }
    out
}

/// `HH:MM:SS,mmm` (or with `.`): hours always present and never wrapped; negative and NaN
/// times read as 0.
pub fn format_timestamp(secs: f64, decimal_marker: char) -> String {
    let millis = (secs * 1000.0).round_ties_even();
    let millis = if millis.is_nan() || millis < 0.0 {
        0
    } else {
        millis as u64
    };
    let (hours, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let (seconds, millis) = (rest / 1_000, rest % 1_000);
    format!("{hours:02}:{minutes:02}:{seconds:02}{decimal_marker}{millis:03}")
}

/// Start, end and cleaned text of each segment that has text.
fn cues(
    segments: &[Segment],
    decimal_marker: char,
    escape_html: bool,
) -> impl Iterator<Item = (String, String, String)> + '_ {
    segments.iter().filter_map(move |segment| {
        let text = cue_text(&segment.text, escape_html);
        if text.is_empty() {
            return None;
        }
        let start = format_timestamp(segment.start_secs, decimal_marker);
        // An end before the start would be an invalid cue: show it for no time instead.
        let end = format_timestamp(segment.end_secs.max(segment.start_secs), decimal_marker);
        Some((start, end, text))
    })
}

fn cue_text(text: &str, escape_html: bool) -> String {
    let text = text.replace("-->", "->");
    let text = if escape_html {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_are_numbered_and_escaped() {
        let segments = [
            Segment {
                start_secs: 0.0,
                end_secs: 1.5,
                text: " a --> b ".into(),
                words: vec![],
            },
            Segment {
                start_secs: 2.0,
                end_secs: 3.0,
                text: "x < y & z".into(),
                words: vec![],
            },
        ];
        assert_eq!(
            to_srt(&segments),
            "1\n00:00:00,000 --> 00:00:01,500\na -> b\n\n2\n00:00:02,000 --> 00:00:03,000\nx < y & z\n"
        );
        assert_eq!(
            to_vtt(&segments),
            "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\na -&gt; b\n\n00:00:02.000 --> 00:00:03.000\nx &lt; y &amp; z\n"
        );
    }
}
