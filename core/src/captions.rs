//! Caption layout: timed words → pages of at most a few lines that fit the frame's width,
//! turned by word timing (a page ends at a sentence end, a pause, a word count or a length in
//! seconds), and the caption templates (karaoke word highlight, boxed, plain subtitles, …).
//! Text width comes from a [`TextMeasure`] (the browser's canvas in the app, a fixed-width
//! stand-in in tests), so the same layout drives the preview and the export.

use serde::{Deserialize, Serialize};

use crate::transcript::Word;

/// How wide a piece of text is when drawn.
pub trait TextMeasure {
    fn width(&self, text: &str, font: &Font) -> f64;
}

/// Every character as wide as `em × size` (tests and golden files).
pub struct FixedWidth {
    pub em: f64,
}

impl TextMeasure for FixedWidth {
    fn width(&self, text: &str, font: &Font) -> f64 {
        text.chars().count() as f64 * self.em * font.size_px
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Font {
    pub family: String,
    pub size_px: f64,
    pub bold: bool,
}

impl Font {
    /// The CSS `font` shorthand for a canvas.
    pub fn css(&self) -> String {
        let bold = if self.bold { "bold " } else { "" };
        if self.family == FALLBACK_FONT {
            format!(
                "{bold}{:.0}px \"{}\", sans-serif",
                self.size_px, self.family
            )
        } else {
            format!(
                "{bold}{:.0}px \"{}\", \"{FALLBACK_FONT}\", sans-serif",
                self.size_px, self.family
            )
        }
    }
}

/// An sRGB colour with alpha, 0–255.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rgba(pub u8, pub u8, pub u8, pub u8);

impl Rgba {
    pub fn css(self) -> String {
        format!(
            "rgba({}, {}, {}, {:.3})",
            self.0,
            self.1,
            self.2,
            f64::from(self.3) / 255.0
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shadow {
    pub dx: f64,
    pub dy: f64,
    pub blur: f64,
    pub color: Rgba,
}

/// A caption look. Sizes are for a 1080 px wide frame and scale with the frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionStyle {
    pub id: String,
    pub name: String,
    pub font: Font,
    pub uppercase: bool,
    pub text: Rgba,
    /// Colour of the word being spoken (karaoke); `None` draws every word alike.
    pub highlight: Option<Rgba>,
    /// Box behind each line.
    pub background: Option<Rgba>,
    pub outline_px: f64,
    pub outline: Rgba,
    pub shadow: Option<Shadow>,
    /// Vertical centre of the caption block, 0 (top) to 1 (bottom).
    pub position_y: f64,
    /// Widest a line may be, as a fraction of the frame's width.
    pub width_fraction: f64,
    pub max_lines: usize,
    pub max_words_per_page: usize,
    pub max_page_secs: f64,
    /// An emoji after words it fits (money 💰, fire 🔥, …).
    pub emoji: bool,
}

impl CaptionStyle {
    /// The font scaled for a frame `frame_width` pixels wide.
    pub fn font_for(&self, frame_width: f64) -> Font {
        Font {
            size_px: (self.font.size_px * frame_width / 1080.0).round().max(1.0),
            ..self.font.clone()
        }
    }
}

/// What a user changed on top of a template, per clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StyleOverrides {
    /// Text size as a multiple of the template's (1 = as designed).
    #[serde(default)]
    pub size_scale: Option<f64>,
    #[serde(default)]
    pub position_y: Option<f64>,
    #[serde(default)]
    pub uppercase: Option<bool>,
    #[serde(default)]
    pub emoji: Option<bool>,
    #[serde(default)]
    pub text: Option<Rgba>,
    #[serde(default)]
    pub highlight: Option<Rgba>,
    #[serde(default)]
    pub outline_px: Option<f64>,
    #[serde(default)]
    pub font_family: Option<String>,
}

impl StyleOverrides {
    /// The template with these changes.
    pub fn apply(&self, base: &CaptionStyle) -> CaptionStyle {
        let mut style = base.clone();
        if let Some(scale) = self.size_scale {
            style.font.size_px = (base.font.size_px * scale.clamp(0.3, 3.0)).round();
        }
        if let Some(y) = self.position_y {
            style.position_y = y.clamp(0.05, 0.95);
        }
        if let Some(upper) = self.uppercase {
            style.uppercase = upper;
        }
        if let Some(emoji) = self.emoji {
            style.emoji = emoji;
        }
        if let Some(text) = self.text {
            style.text = text;
        }
        if let Some(highlight) = self.highlight {
            style.highlight = Some(highlight);
        }
        if let Some(outline) = self.outline_px {
            style.outline_px = outline.clamp(0.0, 30.0);
        }
        if let Some(family) = &self.font_family {
            style.font.family = family.clone();
        }
        style
    }
}

impl Rgba {
    /// From `#rrggbb` (as an HTML colour input gives it), opaque.
    pub fn from_hex(hex: &str) -> Option<Rgba> {
        let hex = hex.strip_prefix('#')?;
        if hex.len() != 6 {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        Some(Rgba(byte(0)?, byte(2)?, byte(4)?, 255))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// The fonts bundled with the editor (`public/fonts`).
pub const FONTS: [&str; 2] = ["Anton", "Inter"];

/// The family that fills in letters a template's own font lacks (Anton has no Greek or
/// Cyrillic); its subsets cover Latin, Greek and Cyrillic.
pub const FALLBACK_FONT: &str = "Inter";

/// One file of a bundled font: a subset of its letters (`unicode-range`, as CSS writes it).
/// The page's style sheet declares the same faces; the export worker loads these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FontFace {
    pub family: &'static str,
    /// The file's name in `public/fonts`.
    pub file: &'static str,
    pub weight: u16,
    pub unicode_range: &'static str,
}

/// Every bundled font file: Anton in Latin, Latin Extended and Vietnamese; Inter in those and
/// Greek, Greek Extended, Cyrillic and Cyrillic Extended, regular and bold.
pub const FONT_FACES: [FontFace; 17] = [
    FontFace {
        family: "Anton",
        file: "Anton-Regular.woff2",
        weight: 400,
        unicode_range: "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD",
    },
    FontFace {
        family: "Anton",
        file: "Anton-LatinExt-Regular.woff2",
        weight: 400,
        unicode_range: "U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+0304,U+0308,U+0329,U+1D00-1DBF,U+1E00-1E9F,U+1EF2-1EFF,U+2020,U+20A0-20AB,U+20AD-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF",
    },
    FontFace {
        family: "Anton",
        file: "Anton-Vietnamese-Regular.woff2",
        weight: 400,
        unicode_range: "U+0102-0103,U+0110-0111,U+0128-0129,U+0168-0169,U+01A0-01A1,U+01AF-01B0,U+0300-0301,U+0303-0304,U+0308-0309,U+0323,U+0329,U+1EA0-1EF9,U+20AB",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Regular.woff2",
        weight: 400,
        unicode_range: "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Bold.woff2",
        weight: 700,
        unicode_range: "U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+0304,U+0308,U+0329,U+2000-206F,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD",
    },
    FontFace {
        family: "Inter",
        file: "Inter-LatinExt-Regular.woff2",
        weight: 400,
        unicode_range: "U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+0304,U+0308,U+0329,U+1D00-1DBF,U+1E00-1E9F,U+1EF2-1EFF,U+2020,U+20A0-20AB,U+20AD-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF",
    },
    FontFace {
        family: "Inter",
        file: "Inter-LatinExt-Bold.woff2",
        weight: 700,
        unicode_range: "U+0100-02BA,U+02BD-02C5,U+02C7-02CC,U+02CE-02D7,U+02DD-02FF,U+0304,U+0308,U+0329,U+1D00-1DBF,U+1E00-1E9F,U+1EF2-1EFF,U+2020,U+20A0-20AB,U+20AD-20C0,U+2113,U+2C60-2C7F,U+A720-A7FF",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Vietnamese-Regular.woff2",
        weight: 400,
        unicode_range: "U+0102-0103,U+0110-0111,U+0128-0129,U+0168-0169,U+01A0-01A1,U+01AF-01B0,U+0300-0301,U+0303-0304,U+0308-0309,U+0323,U+0329,U+1EA0-1EF9,U+20AB",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Vietnamese-Bold.woff2",
        weight: 700,
        unicode_range: "U+0102-0103,U+0110-0111,U+0128-0129,U+0168-0169,U+01A0-01A1,U+01AF-01B0,U+0300-0301,U+0303-0304,U+0308-0309,U+0323,U+0329,U+1EA0-1EF9,U+20AB",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Greek-Regular.woff2",
        weight: 400,
        unicode_range: "U+0370-0377,U+037A-037F,U+0384-038A,U+038C,U+038E-03A1,U+03A3-03FF",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Greek-Bold.woff2",
        weight: 700,
        unicode_range: "U+0370-0377,U+037A-037F,U+0384-038A,U+038C,U+038E-03A1,U+03A3-03FF",
    },
    FontFace {
        family: "Inter",
        file: "Inter-GreekExt-Regular.woff2",
        weight: 400,
        unicode_range: "U+1F00-1FFF",
    },
    FontFace {
        family: "Inter",
        file: "Inter-GreekExt-Bold.woff2",
        weight: 700,
        unicode_range: "U+1F00-1FFF",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Cyrillic-Regular.woff2",
        weight: 400,
        unicode_range: "U+0301,U+0400-045F,U+0490-0491,U+04B0-04B1,U+2116",
    },
    FontFace {
        family: "Inter",
        file: "Inter-Cyrillic-Bold.woff2",
        weight: 700,
        unicode_range: "U+0301,U+0400-045F,U+0490-0491,U+04B0-04B1,U+2116",
    },
    FontFace {
        family: "Inter",
        file: "Inter-CyrillicExt-Regular.woff2",
        weight: 400,
        unicode_range: "U+0460-052F,U+1C80-1C8A,U+20B4,U+2DE0-2DFF,U+A640-A69F,U+FE2E-FE2F",
    },
    FontFace {
        family: "Inter",
        file: "Inter-CyrillicExt-Bold.woff2",
        weight: 700,
        unicode_range: "U+0460-052F,U+1C80-1C8A,U+20B4,U+2DE0-2DFF,U+A640-A69F,U+FE2E-FE2F",
    },
];

const WHITE: Rgba = Rgba(255, 255, 255, 255);
const BLACK: Rgba = Rgba(0, 0, 0, 255);

fn style(id: &str, name: &str, family: &str, size: f64, bold: bool) -> CaptionStyle {
    CaptionStyle {
        id: id.into(),
        name: name.into(),
        font: Font {
            family: family.into(),
            size_px: size,
            bold,
        },
        uppercase: false,
        text: WHITE,
        highlight: None,
        background: None,
        outline_px: 0.0,
        outline: BLACK,
        shadow: None,
        position_y: 0.72,
        width_fraction: 0.84,
        max_lines: 2,
        max_words_per_page: 8,
        max_page_secs: 3.5,
        emoji: false,
    }
}

/// The templates offered in the editor (fonts bundled in `public/fonts`).
pub fn templates() -> Vec<CaptionStyle> {
    vec![
        CaptionStyle {
            uppercase: true,
            highlight: Some(Rgba(255, 214, 0, 255)),
            outline_px: 8.0,
            max_words_per_page: 4,
            max_page_secs: 2.0,
            ..style("karaoke", "Karaoke (word highlight)", "Anton", 84.0, false)
        },
        CaptionStyle {
            text: BLACK,
            background: Some(Rgba(255, 255, 255, 235)),
            max_words_per_page: 6,
            ..style("boxed", "Boxed", "Inter", 58.0, true)
        },
        CaptionStyle {
            outline_px: 3.0,
            position_y: 0.86,
            max_words_per_page: 12,
            max_page_secs: 5.0,
            shadow: Some(Shadow {
                dx: 0.0,
                dy: 2.0,
                blur: 4.0,
                color: Rgba(0, 0, 0, 160),
            }),
            ..style("subtitle", "Plain subtitles", "Inter", 46.0, false)
        },
        CaptionStyle {
            uppercase: true,
            outline_px: 10.0,
            position_y: 0.5,
            max_lines: 1,
            max_words_per_page: 1,
            max_page_secs: 1.2,
            emoji: true,
            ..style("pop", "One word pop", "Anton", 120.0, false)
        },
        CaptionStyle {
            text: Rgba(255, 255, 255, 255),
            background: Some(Rgba(20, 20, 20, 200)),
            position_y: 0.9,
            max_lines: 1,
            max_words_per_page: 7,
            ..style("lower", "Lower third", "Inter", 44.0, true)
        },
        CaptionStyle {
            text: Rgba(120, 255, 240, 255),
            highlight: Some(Rgba(255, 80, 220, 255)),
            outline_px: 4.0,
            outline: Rgba(0, 40, 60, 255),
            shadow: Some(Shadow {
                dx: 0.0,
                dy: 0.0,
                blur: 18.0,
                color: Rgba(0, 255, 230, 200),
            }),
            emoji: true,
            max_words_per_page: 5,
            ..style("neon", "Neon", "Anton", 76.0, false)
        },
    ]
}

/// The template with this id, or the first one.
pub fn template(id: &str) -> CaptionStyle {
    let all = templates();
    all.iter()
        .find(|t| t.id == id)
        .cloned()
        .unwrap_or_else(|| all[0].clone())
}

/// A word placed on a line.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedWord {
    pub text: String,
    pub start_secs: f64,
    pub end_secs: f64,
    /// Left edge from the line's left edge, and width, in pixels.
    pub x_px: f64,
    pub width_px: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaptionLine {
    pub width_px: f64,
    pub words: Vec<PlacedWord>,
}

/// What is on screen from `start_secs` to `end_secs`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptionPage {
    pub start_secs: f64,
    pub end_secs: f64,
    pub lines: Vec<CaptionLine>,
}

impl CaptionPage {
    /// The word being spoken at `t` (for the highlight), as (line, word) indices.
    pub fn current_word(&self, t: f64) -> Option<(usize, usize)> {
        let mut found = None;
        for (l, line) in self.lines.iter().enumerate() {
            for (w, word) in line.words.iter().enumerate() {
                if word.start_secs <= t {
                    found = Some((l, w));
                }
            }
        }
        found
    }
}

/// A pause longer than this before a word starts a new page.
const PAGE_PAUSE_SECS: f64 = 0.7;
/// A page stays up this long after its last word at most (less if the next page comes).
const HOLD_SECS: f64 = 0.6;

const EMOJI: &[(&str, &str)] = &[
    ("money", "💰"),
    ("cash", "💰"),
    ("fire", "🔥"),
    ("hot", "🔥"),
    ("love", "❤️"),
    ("idea", "💡"),
    ("secret", "🤫"),
    ("time", "⏰"),
    ("win", "🏆"),
    ("best", "🏆"),
    ("food", "🍝"),
    ("pasta", "🍝"),
    ("coffee", "☕"),
    ("music", "🎵"),
    ("guitar", "🎸"),
    ("rain", "🌧️"),
    ("sunny", "☀️"),
    ("video", "🎬"),
    ("videos", "🎬"),
];

fn display_text(word: &Word, style: &CaptionStyle) -> String {
    let text = word.text.trim();
    let mut out = if style.uppercase {
        text.to_uppercase()
    } else {
        text.to_string()
    };
    if style.emoji {
        let key = text
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if let Some((_, emoji)) = EMOJI.iter().find(|(k, _)| *k == key) {
            out.push(' ');
            out.push_str(emoji);
        }
    }
    out
}

/// Lays the words out in pages for a frame `frame_width` pixels wide.
pub fn layout(
    words: &[Word],
    style: &CaptionStyle,
    frame_width: f64,
    measure: &dyn TextMeasure,
) -> Vec<CaptionPage> {
    let font = style.font_for(frame_width);
    let max_width = frame_width * style.width_fraction;
    let space = measure.width(" ", &font);
    let mut pages: Vec<CaptionPage> = Vec::new();
    let mut page: Vec<CaptionLine> = Vec::new();
    let mut page_words = 0;
    let mut page_start = 0.0;
    let mut previous: Option<&Word> = None;
    for word in words {
        let text = display_text(word, style);
        if text.is_empty() {
            continue;
        }
        let width = measure.width(&text, &font);
        let new_page = match previous {
            None => true,
            Some(prev) => {
                page_words >= style.max_words_per_page
                    || word.end_secs - page_start > style.max_page_secs
                    || word.start_secs - prev.end_secs > PAGE_PAUSE_SECS
                    || prev.text.trim_end().ends_with(['.', '!', '?'])
            }
        };
        let fits_line = page
            .last()
            .is_some_and(|line| line.width_px + space + width <= max_width);
        let needs_line = !new_page && !fits_line;
        if new_page || (needs_line && page.len() >= style.max_lines.max(1)) {
            if !page.is_empty() {
                pages.push(finish_page(std::mem::take(&mut page), page_start));
            }
            page_start = word.start_secs;
            page_words = 0;
        }
        let start_line = page.is_empty()
            || !page
                .last()
                .is_some_and(|line| line.width_px + space + width <= max_width);
        if start_line {
            page.push(CaptionLine {
                width_px: 0.0,
                words: Vec::new(),
            });
        }
        if let Some(line) = page.last_mut() {
            let x = if line.words.is_empty() {
                0.0
            } else {
                line.width_px + space
            };
            line.words.push(PlacedWord {
                text,
                start_secs: word.start_secs,
                end_secs: word.end_secs,
                x_px: x,
                width_px: width,
            });
            line.width_px = x + width;
        }
        page_words += 1;
        previous = Some(word);
    }
    if !page.is_empty() {
        pages.push(finish_page(page, page_start));
    }
    // Each page holds a little after its last word, but never over the next page.
    for i in 0..pages.len() {
        let next = pages.get(i + 1).map_or(f64::INFINITY, |p| p.start_secs);
        let page = &mut pages[i];
        page.end_secs = (page.end_secs + HOLD_SECS)
            .min(next)
            .max(page.end_secs.min(next));
    }
    pages
}

fn finish_page(lines: Vec<CaptionLine>, start_secs: f64) -> CaptionPage {
    let end_secs = lines
        .iter()
        .flat_map(|l| &l.words)
        .map(|w| w.end_secs)
        .fold(start_secs, f64::max);
    CaptionPage {
        start_secs,
        end_secs,
        lines,
    }
}

/// The page on screen at `t`, if any.
pub fn page_at(pages: &[CaptionPage], t: f64) -> Option<&CaptionPage> {
    let index = pages
        .partition_point(|p| p.start_secs <= t)
        .checked_sub(1)?;
    let page = &pages[index];
    (t < page.end_secs).then_some(page)
}

/// The pages as text, one line each (`[start–end] line | line`), for golden files and logs.
pub fn describe(pages: &[CaptionPage]) -> String {
    let mut out = String::new();
    for page in pages {
        let lines: Vec<String> = page
            .lines
            .iter()
            .map(|l| {
                let words: Vec<&str> = l.words.iter().map(|w| w.text.as_str()).collect();
                format!("{} ({:.0}px)", words.join(" "), l.width_px)
            })
            .collect();
        out.push_str(&format!(
            "[{:.2}-{:.2}] {}\n",
            page.start_secs,
            page.end_secs,
            lines.join(" | ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words at 0.3 s each, 0.05 s apart; `|` in the text marks a 1 s pause.
    fn words(text: &str) -> Vec<Word> {
        let mut t = 0.0;
        let mut out = Vec::new();
        for token in text.split_whitespace() {
            if token == "|" {
                t += 1.0;
                continue;
            }
            out.push(Word::new(t, t + 0.3, format!(" {token}")));
            t += 0.35;
        }
        out
    }

    const SPEECH: &str = "Why do most home cooks ruin their pasta? The secret is salting the \
        water until it tastes like the sea. | Then cook it two minutes less than the packet \
        says, and finish it in the pan with the sauce. Extraordinarily simple.";

    fn golden_path(id: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(format!("captions_{id}.txt"))
    }

    #[test]
    fn every_bundled_font_file_is_there_and_declared_by_the_style_sheet() {
        let public = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
        let css = std::fs::read_to_string(public.join("style.css")).unwrap();
        for face in FONT_FACES {
            assert!(public.join("fonts").join(face.file).is_file(), "{face:?}");
            let declared = format!(
                "@font-face {{ font-family: \"{}\"; src: url(\"fonts/{}\") format(\"woff2\"); font-weight: {}; unicode-range: {}; }}",
                face.family, face.file, face.weight, face.unicode_range
            );
            assert!(css.contains(&declared), "style.css lacks {declared}");
        }
        assert_eq!(css.matches("@font-face").count(), FONT_FACES.len());
        // Every template's font is bundled, and the fallback has Greek and Cyrillic.
        for style in templates() {
            assert!(FONTS.contains(&style.font.family.as_str()), "{}", style.id);
        }
        let covers = |family: &str, ch: char| {
            FONT_FACES
                .iter()
                .any(|f| f.family == family && in_range(f.unicode_range, ch))
        };
        for ch in ['a', 'ñ', 'ł', 'ạ', 'Ω', 'ж', 'ї'] {
            assert!(covers(FALLBACK_FONT, ch), "{ch}");
        }
        assert!(covers("Anton", 'ł') && !covers("Anton", 'ж'));
    }

    /// Whether a CSS unicode-range ("U+0000-00FF,U+0131") holds `ch`.
    fn in_range(range: &str, ch: char) -> bool {
        range.split(',').any(|part| {
            let part = part.trim().trim_start_matches("U+");
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let (lo, hi) = (
                u32::from_str_radix(lo, 16).unwrap(),
                u32::from_str_radix(hi, 16).unwrap(),
            );
            (lo..=hi).contains(&(ch as u32))
        })
    }

    #[test]
    fn every_template_matches_its_golden_file() {
        let measure = FixedWidth { em: 0.55 };
        for style in templates() {
            let pages = layout(&words(SPEECH), &style, 1080.0, &measure);
            let text = describe(&pages);
            let path = golden_path(&style.id);
            if std::env::var_os("REELSMITH_BLESS").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let golden = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("missing {}", path.display()));
            assert_eq!(text, golden, "template {}", style.id);
        }
    }

    #[test]
    fn lines_fit_pages_respect_their_limits_and_every_word_appears_once_in_order() {
        let measure = FixedWidth { em: 0.55 };
        let input = words(SPEECH);
        for style in templates() {
            for frame_width in [720.0, 1080.0] {
                let pages = layout(&input, &style, frame_width, &measure);
                let max_width = frame_width * style.width_fraction;
                let mut placed = Vec::new();
                for page in &pages {
                    assert!(page.lines.len() <= style.max_lines, "{}", style.id);
                    let count: usize = page.lines.iter().map(|l| l.words.len()).sum();
                    assert!(count <= style.max_words_per_page, "{}", style.id);
                    assert!(page.end_secs > page.start_secs);
                    for line in &page.lines {
                        assert!(
                            line.width_px <= max_width + 1e-9 || line.words.len() == 1,
                            "{}: {} px > {max_width}",
                            style.id,
                            line.width_px
                        );
                        placed.extend(line.words.iter().map(|w| w.start_secs));
                    }
                }
                let expected: Vec<f64> = input.iter().map(|w| w.start_secs).collect();
                assert_eq!(placed, expected, "{}", style.id);
                for pair in pages.windows(2) {
                    assert!(pair[0].end_secs <= pair[1].start_secs);
                }
            }
        }
    }

    #[test]
    fn pages_turn_at_sentence_ends_and_pauses() {
        let style = template("subtitle");
        let pages = layout(&words(SPEECH), &style, 1080.0, &FixedWidth { em: 0.55 });
        let firsts: Vec<&str> = pages
            .iter()
            .map(|p| p.lines[0].words[0].text.as_str())
            .collect();
        assert!(firsts.contains(&"The"), "{firsts:?}"); // after "pasta?"
        assert!(firsts.contains(&"Then"), "{firsts:?}"); // after the pause
        assert!(firsts.contains(&"Extraordinarily"), "{firsts:?}");
    }

    #[test]
    fn the_highlighted_word_follows_time_and_pages_show_when_due() {
        let style = template("karaoke");
        let pages = layout(&words(SPEECH), &style, 1080.0, &FixedWidth { em: 0.55 });
        let first = &pages[0];
        assert_eq!(first.current_word(0.0), Some((0, 0)));
        assert_eq!(first.current_word(0.36), Some((0, 1)));
        assert!(page_at(&pages, -0.1).is_none());
        assert_eq!(page_at(&pages, 0.1), Some(first));
        assert_eq!(page_at(&pages, pages[1].start_secs + 0.01), Some(&pages[1]));
        assert!(page_at(&pages, 1000.0).is_none());
    }

    #[test]
    fn overrides_change_a_template_within_limits() {
        let base = template("karaoke");
        let changed = StyleOverrides {
            size_scale: Some(1.5),
            position_y: Some(2.0),
            uppercase: Some(false),
            text: Rgba::from_hex("#102030"),
            font_family: Some("Inter".into()),
            ..StyleOverrides::default()
        }
        .apply(&base);
        assert_eq!(changed.font.size_px, 126.0);
        assert_eq!(changed.position_y, 0.95);
        assert!(!changed.uppercase);
        assert_eq!(changed.text, Rgba(16, 32, 48, 255));
        assert_eq!(changed.text.hex(), "#102030");
        assert_eq!(changed.font.family, "Inter");
        assert_eq!(changed.highlight, base.highlight);
        assert_eq!(StyleOverrides::default().apply(&base), base);
        assert_eq!(Rgba::from_hex("102030"), None);
        assert_eq!(Rgba::from_hex("#1020"), None);
    }

    #[test]
    fn uppercase_and_emoji_change_only_what_is_drawn() {
        let pop = template("pop");
        let pages = layout(
            &words("I love pasta"),
            &pop,
            1080.0,
            &FixedWidth { em: 0.55 },
        );
        let texts: Vec<&str> = pages
            .iter()
            .flat_map(|p| &p.lines)
            .flat_map(|l| &l.words)
            .map(|w| w.text.as_str())
            .collect();
        assert_eq!(texts, vec!["I", "LOVE ❤️", "PASTA 🍝"]);
        assert_eq!(template("nope").id, "karaoke");
        assert_eq!(
            Font {
                family: "Anton".into(),
                size_px: 84.0,
                bold: true
            }
            .css(),
            "bold 84px \"Anton\", \"Inter\", sans-serif"
        );
    }
}
