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
        format!(
            "{}{:.0}px \"{}\", sans-serif",
            if self.bold { "bold " } else { "" },
            self.size_px,
            self.family
        )
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
            "bold 84px \"Anton\", sans-serif"
        );
    }
}
