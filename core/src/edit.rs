//! The editing model: a project (which file, its transcript, the clips cut from it) and the
//! edits a user makes — clips with in/out points, split, delete, reorder; words deleted from a
//! clip (cuts); misheard words fixed without moving their timing; silences and filler words
//! removed in one go; reframing with pan keyframes — plus undo/redo over whole snapshots.
//! Serialisable, so it is what autosave stores and what "export project" writes.

use serde::{Deserialize, Serialize};

use crate::captions::{template, CaptionStyle, StyleOverrides};
use crate::transcript::{Segment, Word};

/// Shortest clip the editor keeps (trims and splits never go below it).
pub const MIN_CLIP_SECS: f64 = 0.5;

/// A stretch of the source, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start_secs: f64,
    pub end_secs: f64,
}

impl Span {
    pub fn new(start_secs: f64, end_secs: f64) -> Self {
        Self {
            start_secs: start_secs.min(end_secs),
            end_secs: start_secs.max(end_secs),
        }
    }

    pub fn duration(&self) -> f64 {
        self.end_secs - self.start_secs
    }

    fn intersect(&self, other: &Span) -> Option<Span> {
        let start = self.start_secs.max(other.start_secs);
        let end = self.end_secs.min(other.end_secs);
        (end > start).then_some(Span::new(start, end))
    }
}

/// The picked file, to recognise it when the project is reopened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub name: String,
    pub bytes: u64,
    pub last_modified_ms: f64,
    /// A digest of the file's first and last 64 KiB (`core::projects::fingerprint_text`), to
    /// recognise the video when a project is reopened even if it was renamed or copied.
    /// Projects saved before it was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Output shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Aspect {
    #[default]
    Portrait9x16,
    Square1x1,
    Landscape16x9,
}

impl Aspect {
    /// Width over height.
    pub fn ratio(self) -> f64 {
        match self {
            Aspect::Portrait9x16 => 9.0 / 16.0,
            Aspect::Square1x1 => 1.0,
            Aspect::Landscape16x9 => 16.0 / 9.0,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Aspect::Portrait9x16 => "9:16",
            Aspect::Square1x1 => "1:1",
            Aspect::Landscape16x9 => "16:9",
        }
    }
}

/// Where the crop window's centre is at a time of the clip (0 = left edge of the source,
/// 1 = right edge; vertical position follows the same way for sources taller than the crop).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PanKey {
    /// Seconds from the clip's start.
    pub at_secs: f64,
    pub center_x: f64,
    pub center_y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Reframe {
    pub aspect: Aspect,
    /// Sorted by time; empty means centred.
    pub keys: Vec<PanKey>,
}

/// A crop rectangle in source pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Reframe {
    /// The crop window's centre at `t` seconds into the clip: keyframes are eased between
    /// (smoothstep), held before the first and after the last.
    pub fn center_at(&self, t: f64) -> (f64, f64) {
        let Some(first) = self.keys.first() else {
            return (0.5, 0.5);
        };
        if t <= first.at_secs {
            return (first.center_x, first.center_y);
        }
        for pair in self.keys.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if t <= b.at_secs {
                let span = (b.at_secs - a.at_secs).max(1e-9);
                let u = ((t - a.at_secs) / span).clamp(0.0, 1.0);
                let eased = u * u * (3.0 - 2.0 * u);
                return (
                    a.center_x + (b.center_x - a.center_x) * eased,
                    a.center_y + (b.center_y - a.center_y) * eased,
                );
            }
        }
        let last = self.keys[self.keys.len() - 1];
        (last.center_x, last.center_y)
    }

    /// Sets (or moves) the keyframe at `at_secs`.
    pub fn set_key(&mut self, key: PanKey) {
        self.keys.retain(|k| (k.at_secs - key.at_secs).abs() > 1e-3);
        self.keys.push(PanKey {
            center_x: key.center_x.clamp(0.0, 1.0),
            center_y: key.center_y.clamp(0.0, 1.0),
            ..key
        });
        self.keys.sort_by(|a, b| a.at_secs.total_cmp(&b.at_secs));
    }

    /// The largest window of the output aspect inside a `width`×`height` source, centred as
    /// the keyframes say at `t` and kept inside the picture.
    pub fn crop_at(&self, width: f64, height: f64, t: f64) -> Crop {
        let (w, h) = self.crop_size(width, height);
        let (cx, cy) = self.center_at(t);
        Crop {
            x: (cx * width - w / 2.0).clamp(0.0, width - w),
            y: (cy * height - h / 2.0).clamp(0.0, height - h),
            width: w,
            height: h,
        }
    }
}

impl Reframe {
    /// The crop window's size in pixels of a `width`×`height` source: as large as fits.
    pub fn crop_size(&self, width: f64, height: f64) -> (f64, f64) {
        let ratio = self.aspect.ratio();
        if width / height > ratio {
            (height * ratio, height)
        } else {
            (width, width / ratio)
        }
    }

    /// The centre a drag on the output picture moves the window to. The drag started with the
    /// window centred at `start` and has moved the pointer by (`dx`, `dy`), as fractions of the
    /// output frame: the picture follows the pointer, so the window moves the other way. The
    /// centre stays where the whole window fits the source, so dragging back responds at once.
    pub fn dragged_center(
        &self,
        width: f64,
        height: f64,
        start: (f64, f64),
        dx: f64,
        dy: f64,
    ) -> (f64, f64) {
        let (w, h) = self.crop_size(width, height);
        let (fw, fh) = (w / width, h / height);
        let fit = |c: f64, f: f64| c.clamp(f / 2.0, 1.0 - f / 2.0);
        (
            fit(fit(start.0, fw) - dx * fw, fw),
            fit(fit(start.1, fh) - dy * fh, fh),
        )
    }
}

/// One clip cut from the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    pub id: u32,
    pub name: String,
    pub span: Span,
    /// Stretches removed from inside the clip (deleted words, silences, fillers): sorted,
    /// non-overlapping, within `span`.
    pub cuts: Vec<Span>,
    pub template: String,
    /// The user's changes to the template's look.
    #[serde(default)]
    pub style: StyleOverrides,
    pub reframe: Reframe,
}

impl Clip {
    /// The caption look: the template with the clip's changes (`None`: no captions).
    pub fn caption_style(&self) -> Option<CaptionStyle> {
        (self.template != "none").then(|| self.style.apply(&template(&self.template)))
    }

    /// What plays, in order: the clip minus its cuts.
    pub fn kept(&self) -> Vec<Span> {
        let mut kept = Vec::new();
        let mut at = self.span.start_secs;
        for cut in &self.cuts {
            if cut.start_secs > at {
                kept.push(Span::new(at, cut.start_secs));
            }
            at = at.max(cut.end_secs);
        }
        if self.span.end_secs > at {
            kept.push(Span::new(at, self.span.end_secs));
        }
        kept
    }

    /// Length of the finished clip.
    pub fn output_secs(&self) -> f64 {
        self.kept().iter().map(Span::duration).sum()
    }

    fn add_cuts(&mut self, spans: impl IntoIterator<Item = Span>) {
        self.cuts
            .extend(spans.into_iter().filter_map(|s| s.intersect(&self.span)));
        self.cuts = merge(std::mem::take(&mut self.cuts));
    }
}

/// Sorts and merges overlapping or touching spans.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| a.start_secs.total_cmp(&b.start_secs));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match out.last_mut() {
            Some(last) if span.start_secs <= last.end_secs + 1e-6 => {
                last.end_secs = last.end_secs.max(span.end_secs);
            }
            _ => out.push(span),
        }
    }
    out
}

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("there is no clip {0}")]
    NoClip(u32),
    #[error("a clip must be at least {MIN_CLIP_SECS} s long")]
    TooShort,
    #[error("there is no word {0} in the transcript")]
    NoWord(usize),
    #[error("a correction needs some text (to remove words, cut them)")]
    EmptyCorrection,
}

/// Everything the user made: saved on every change, exported and imported as a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Project {
    pub version: u32,
    pub source: Option<SourceRef>,
    pub duration_secs: f64,
    pub transcript: Vec<Segment>,
    pub clips: Vec<Clip>,
    pub selected: Option<u32>,
    next_id: u32,
}

pub const PROJECT_VERSION: u32 = 1;

impl Project {
    pub fn new(source: SourceRef, duration_secs: f64) -> Self {
        Self {
            version: PROJECT_VERSION,
            source: Some(source),
            duration_secs,
            ..Self::default()
        }
    }

    /// Every word of the transcript, in order (indices used by the edits below).
    pub fn words(&self) -> Vec<&Word> {
        self.transcript.iter().flat_map(|s| &s.words).collect()
    }

    fn word(&self, index: usize) -> Result<&Word, EditError> {
        self.transcript
            .iter()
            .flat_map(|s| &s.words)
            .nth(index)
            .ok_or(EditError::NoWord(index))
    }

    pub fn clip(&self, id: u32) -> Result<&Clip, EditError> {
        self.clips
            .iter()
            .find(|c| c.id == id)
            .ok_or(EditError::NoClip(id))
    }

    fn clip_mut(&mut self, id: u32) -> Result<&mut Clip, EditError> {
        self.clips
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(EditError::NoClip(id))
    }

    fn clamp(&self, span: Span) -> Result<Span, EditError> {
        let end_limit = if self.duration_secs > 0.0 {
            self.duration_secs
        } else {
            f64::INFINITY
        };
        let span = Span::new(span.start_secs.max(0.0), span.end_secs.min(end_limit));
        if span.duration() < MIN_CLIP_SECS {
            return Err(EditError::TooShort);
        }
        Ok(span)
    }

    /// Adds a clip and selects it.
    pub fn add_clip(&mut self, name: &str, span: Span, template: &str) -> Result<u32, EditError> {
        let span = self.clamp(span)?;
        self.next_id += 1;
        let id = self.next_id;
        self.clips.push(Clip {
            id,
            name: name.to_string(),
            span,
            cuts: Vec::new(),
            template: template.to_string(),
            style: StyleOverrides::default(),
            reframe: Reframe::default(),
        });
        self.selected = Some(id);
        Ok(id)
    }

    /// Moves a clip's in and out points; cuts outside the new span are dropped.
    pub fn trim(&mut self, id: u32, span: Span) -> Result<(), EditError> {
        let span = self.clamp(span)?;
        let clip = self.clip_mut(id)?;
        clip.span = span;
        let cuts = std::mem::take(&mut clip.cuts);
        clip.add_cuts(cuts);
        Ok(())
    }

    /// Splits a clip at `at_secs` into two; returns the new (second) clip's id.
    pub fn split(&mut self, id: u32, at_secs: f64) -> Result<u32, EditError> {
        let clip = self.clip(id)?.clone();
        if at_secs - clip.span.start_secs < MIN_CLIP_SECS
            || clip.span.end_secs - at_secs < MIN_CLIP_SECS
        {
            return Err(EditError::TooShort);
        }
        self.next_id += 1;
        let new_id = self.next_id;
        let mut second = clip.clone();
        second.id = new_id;
        second.name = format!("{} (2)", clip.name);
        second.span = Span::new(at_secs, clip.span.end_secs);
        second.cuts = Vec::new();
        second.add_cuts(clip.cuts.clone());
        let first = self.clip_mut(id)?;
        first.span = Span::new(clip.span.start_secs, at_secs);
        let cuts = std::mem::take(&mut first.cuts);
        first.add_cuts(cuts);
        let index = self.clips.iter().position(|c| c.id == id).unwrap_or(0);
        self.clips.insert(index + 1, second);
        Ok(new_id)
    }

    pub fn delete_clip(&mut self, id: u32) -> Result<(), EditError> {
        let before = self.clips.len();
        self.clips.retain(|c| c.id != id);
        if self.clips.len() == before {
            return Err(EditError::NoClip(id));
        }
        if self.selected == Some(id) {
            self.selected = self.clips.first().map(|c| c.id);
        }
        Ok(())
    }

    /// Moves a clip to position `to` in the list.
    pub fn move_clip(&mut self, id: u32, to: usize) -> Result<(), EditError> {
        let from = self
            .clips
            .iter()
            .position(|c| c.id == id)
            .ok_or(EditError::NoClip(id))?;
        let clip = self.clips.remove(from);
        self.clips.insert(to.min(self.clips.len()), clip);
        Ok(())
    }

    /// Cuts words `first..=last` (transcript indices) out of a clip.
    pub fn delete_words(&mut self, id: u32, first: usize, last: usize) -> Result<(), EditError> {
        let (first, last) = (first.min(last), first.max(last));
        let span = Span::new(self.word(first)?.start_secs, self.word(last)?.end_secs);
        self.clip_mut(id)?.add_cuts([span]);
        Ok(())
    }

    /// Cuts the given stretches (silences, fillers) out of a clip.
    pub fn cut(&mut self, id: u32, spans: Vec<Span>) -> Result<(), EditError> {
        self.clip_mut(id)?.add_cuts(spans);
        Ok(())
    }

    /// Puts back everything cut from a clip.
    pub fn restore_cuts(&mut self, id: u32) -> Result<(), EditError> {
        self.clip_mut(id)?.cuts.clear();
        Ok(())
    }

    /// Corrects a word's text; its timing stays.
    /// Replaces the run of words `first..=last` (in either order) with `text`, keeping the
    /// run's timing: as many words as before keep their own times; otherwise the run's time
    /// is shared among the new words by their length. The new words go in the segment of the
    /// run's first word.
    pub fn fix_words(&mut self, first: usize, last: usize, text: &str) -> Result<(), EditError> {
        let (first, last) = (first.min(last), first.max(last));
        let new: Vec<&str> = text.split_whitespace().collect();
        if new.is_empty() {
            return Err(EditError::EmptyCorrection);
        }
        let count = self.words().len();
        if last >= count {
            return Err(EditError::NoWord(last));
        }
        if new.len() == last - first + 1 {
            for (offset, word) in new.iter().enumerate() {
                self.fix_word(first + offset, word)?;
            }
            return Ok(());
        }
        let old: Vec<Word> = self.words()[first..=last]
            .iter()
            .map(|w| (*w).clone())
            .collect();
        let leading = if old[0].text.starts_with(' ') {
            " "
        } else {
            ""
        };
        let probability = old.iter().map(|w| w.probability).fold(1.0, f32::min);
        let replacement = share_time(old[0].start_secs, old[old.len() - 1].end_secs, &new)
            .into_iter()
            .enumerate()
            .map(|(i, (start_secs, end_secs))| Word {
                start_secs,
                end_secs,
                text: format!("{}{}", if i == 0 { leading } else { " " }, new[i]),
                probability,
            })
            .collect::<Vec<_>>();
        // Remove the run, remembering where its first word stood.
        let mut index = 0;
        let mut insert_at = None;
        for (s, segment) in self.transcript.iter_mut().enumerate() {
            let mut kept = Vec::with_capacity(segment.words.len());
            for (w, word) in segment.words.drain(..).enumerate() {
                if index == first {
                    insert_at = Some((s, w));
                }
                if index < first || index > last {
                    kept.push(word);
                }
                index += 1;
            }
            segment.words = kept;
        }
        let Some((s, w)) = insert_at else {
            return Err(EditError::NoWord(first));
        };
        self.transcript[s].words.splice(w..w, replacement);
        self.transcript.retain(|segment| !segment.words.is_empty());
        for segment in &mut self.transcript {
            segment.text = segment.words.iter().map(|w| w.text.as_str()).collect();
            if let (Some(a), Some(b)) = (segment.words.first(), segment.words.last()) {
                segment.start_secs = segment.start_secs.min(a.start_secs);
                segment.end_secs = segment.end_secs.max(b.end_secs);
            }
        }
        Ok(())
    }

    pub fn fix_word(&mut self, index: usize, text: &str) -> Result<(), EditError> {
        let word = self
            .transcript
            .iter_mut()
            .flat_map(|s| &mut s.words)
            .nth(index)
            .ok_or(EditError::NoWord(index))?;
        let leading = if word.text.starts_with(' ') { " " } else { "" };
        word.text = format!("{leading}{}", text.trim());
        for segment in &mut self.transcript {
            segment.text = segment.words.iter().map(|w| w.text.as_str()).collect();
        }
        Ok(())
    }

    pub fn set_template(&mut self, id: u32, template: &str) -> Result<(), EditError> {
        self.clip_mut(id)?.template = template.to_string();
        Ok(())
    }

    pub fn set_style(&mut self, id: u32, style: StyleOverrides) -> Result<(), EditError> {
        self.clip_mut(id)?.style = style;
        Ok(())
    }

    pub fn set_aspect(&mut self, id: u32, aspect: Aspect) -> Result<(), EditError> {
        self.clip_mut(id)?.reframe.aspect = aspect;
        Ok(())
    }

    pub fn set_pan_key(&mut self, id: u32, key: PanKey) -> Result<(), EditError> {
        self.clip_mut(id)?.reframe.set_key(key);
        Ok(())
    }
}

/// Pauses between words longer than `min_secs` inside `span`, each shortened by `keep_secs`
/// on both sides so speech is not clipped.
pub fn silences(words: &[&Word], span: Span, min_secs: f64, keep_secs: f64) -> Vec<Span> {
    let inside: Vec<&&Word> = words
        .iter()
        .filter(|w| w.end_secs > span.start_secs && w.start_secs < span.end_secs)
        .collect();
    let mut edges = vec![span.start_secs];
    for w in &inside {
        edges.push(w.start_secs);
        edges.push(w.end_secs);
    }
    edges.push(span.end_secs);
    edges
        .chunks_exact(2)
        .filter(|gap| gap[1] - gap[0] > min_secs)
        .map(|gap| Span::new(gap[0] + keep_secs, gap[1] - keep_secs))
        .filter(|s| s.duration() > 0.0)
        .collect()
}

/// The filler words and phrases a user can remove in one go (editable).
pub const DEFAULT_FILLERS: &[&str] = &["um", "uh", "erm", "ah", "like", "you know", "i mean"];

/// Stretches of filler words inside `span`. Phrases of several words match consecutive words.
pub fn fillers(words: &[&Word], span: Span, fillers: &[&str]) -> Vec<Span> {
    let norm = |w: &Word| {
        w.text
            .trim()
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_lowercase()
    };
    let normalised: Vec<String> = words.iter().map(|w| norm(w)).collect();
    let mut out = Vec::new();
    for filler in fillers {
        let parts: Vec<&str> = filler.split_whitespace().collect();
        if parts.is_empty() || parts.len() > normalised.len() {
            continue;
        }
        for i in 0..=normalised.len() - parts.len() {
            if parts
                .iter()
                .enumerate()
                .all(|(k, p)| normalised[i + k] == *p)
            {
                let s = Span::new(words[i].start_secs, words[i + parts.len() - 1].end_secs);
                if let Some(s) = s.intersect(&span) {
                    out.push(s);
                }
            }
        }
    }
    merge(out)
}

/// Splits `start..end` among `words` in proportion to their length (at least one character
/// each): consecutive, covering the whole stretch.
fn share_time(start: f64, end: f64, words: &[&str]) -> Vec<(f64, f64)> {
    let weights: Vec<f64> = words
        .iter()
        .map(|w| w.chars().count().max(1) as f64)
        .collect();
    let total: f64 = weights.iter().sum();
    let mut at = start;
    let mut done = 0.0;
    weights
        .iter()
        .enumerate()
        .map(|(i, weight)| {
            done += weight;
            let until = if i + 1 == weights.len() {
                end
            } else {
                start + (end - start) * done / total
            };
            let span = (at, until);
            at = until;
            span
        })
        .collect()
}

/// What changed from `before` to `after`, in a few words a user would use for it ("Cut words
/// in “Intro”"): the name of an undo or redo step. Clips are matched by id; the first
/// difference found names the change.
pub fn describe_change(before: &Project, after: &Project) -> String {
    let name = |c: &Clip| format!("“{}”", c.name);
    if before.transcript != after.transcript {
        return "Correct words".to_string();
    }
    let added = after
        .clips
        .iter()
        .find(|c| !before.clips.iter().any(|b| b.id == c.id));
    let changed = |c: &&Clip| {
        before
            .clips
            .iter()
            .find(|b| b.id == c.id)
            .is_some_and(|b| b != *c)
    };
    if let Some(added) = added {
        // A split shortens a clip and adds its second half.
        return match after.clips.iter().find(|c| changed(c) && c.id != added.id) {
            Some(split) => format!("Split {}", name(split)),
            None => format!("Add clip {}", name(added)),
        };
    }
    let cut_secs = |c: &Clip| c.cuts.iter().map(Span::duration).sum::<f64>();
    for clip in &after.clips {
        let Some(old) = before.clips.iter().find(|c| c.id == clip.id) else {
            continue;
        };
        let what = if old.name != clip.name {
            "Rename"
        } else if old.span != clip.span {
            "Trim"
        } else if cut_secs(clip) > cut_secs(old) {
            "Cut in"
        } else if old.cuts != clip.cuts {
            "Put back cuts in"
        } else if old.template != clip.template {
            "Caption template of"
        } else if old.style != clip.style {
            "Caption style of"
        } else if old.reframe.aspect != clip.reframe.aspect {
            "Shape of"
        } else if old.reframe != clip.reframe {
            "Pan in"
        } else {
            continue;
        };
        return format!("{what} {}", name(clip));
    }
    if let Some(gone) = before
        .clips
        .iter()
        .find(|c| !after.clips.iter().any(|a| a.id == c.id))
    {
        return format!("Delete clip {}", name(gone));
    }
    let order = |p: &Project| p.clips.iter().map(|c| c.id).collect::<Vec<_>>();
    if order(before) != order(after) {
        return "Reorder clips".to_string();
    }
    if before.selected != after.selected {
        return "Select clip".to_string();
    }
    "Edit".to_string()
}

/// Undo and redo over snapshots of a value (the whole project: small, and every edit is
/// undone exactly).
#[derive(Debug, Clone)]
pub struct History<T> {
    past: Vec<T>,
    future: Vec<T>,
    limit: usize,
}

impl<T: Clone + PartialEq> History<T> {
    pub fn new(limit: usize) -> Self {
        Self {
            past: Vec::new(),
            future: Vec::new(),
            limit: limit.max(1),
        }
    }

    /// Call before changing `current`: remembers it and forgets what could be redone.
    pub fn record(&mut self, current: &T) {
        if self.past.last() == Some(current) {
            return;
        }
        self.past.push(current.clone());
        if self.past.len() > self.limit {
            self.past.remove(0);
        }
        self.future.clear();
    }

    /// The state before the last edit, if any (`current` becomes redoable).
    pub fn undo(&mut self, current: &T) -> Option<T> {
        let previous = self.past.pop()?;
        self.future.push(current.clone());
        Some(previous)
    }

    pub fn redo(&mut self, current: &T) -> Option<T> {
        let next = self.future.pop()?;
        self.past.push(current.clone());
        Some(next)
    }

    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }

    /// The state an undo would go back to.
    pub fn undo_target(&self) -> Option<&T> {
        self.past.last()
    }

    /// The state a redo would go forward to.
    pub fn redo_target(&self) -> Option<&T> {
        self.future.last()
    }

    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }

    /// Changes every remembered state, undoable and redoable: for what arrives on its own
    /// (a finished transcript) and belongs to every state, so an undo does not take it away.
    pub fn for_each_mut(&mut self, change: impl FnMut(&mut T)) {
        self.past
            .iter_mut()
            .chain(self.future.iter_mut())
            .for_each(change);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start: f64, end: f64, text: &str) -> Word {
        Word::new(start, end, format!(" {text}"))
    }

    /// "So um this is, you know, the plan." with a 2 s pause before "the".
    fn project() -> Project {
        let words = vec![
            word(1.0, 1.3, "So"),
            word(1.4, 1.6, "um"),
            word(1.7, 2.0, "this"),
            word(2.1, 2.3, "is,"),
            word(2.4, 2.6, "you"),
            word(2.6, 2.8, "know,"),
            word(4.8, 5.0, "the"),
            word(5.1, 5.5, "plan."),
        ];
        let mut p = Project::new(
            SourceRef {
                name: "talk.mp4".into(),
                bytes: 1_000,
                last_modified_ms: 0.0,
                fingerprint: None,
            },
            10.0,
        );
        p.transcript = vec![Segment {
            start_secs: 1.0,
            end_secs: 5.5,
            text: words.iter().map(|w| w.text.as_str()).collect(),
            words,
        }];
        p
    }

    #[test]
    fn deleting_words_cuts_their_span_and_the_rest_plays_in_order() {
        let mut p = project();
        let id = p.add_clip("Plan", Span::new(0.5, 6.0), "karaoke").unwrap();
        p.delete_words(id, 1, 1).unwrap(); // "um"
        p.delete_words(id, 5, 4).unwrap(); // "you know," selected backwards
        let clip = p.clip(id).unwrap();
        assert_eq!(clip.cuts, vec![Span::new(1.4, 1.6), Span::new(2.4, 2.8)]);
        assert_eq!(
            clip.kept(),
            vec![
                Span::new(0.5, 1.4),
                Span::new(1.6, 2.4),
                Span::new(2.8, 6.0)
            ]
        );
        assert!((clip.output_secs() - 4.9).abs() < 1e-9);
        assert_eq!(p.delete_words(id, 99, 99), Err(EditError::NoWord(99)));
    }

    #[test]
    fn trimming_and_splitting_keep_cuts_inside_their_clip() {
        let mut p = project();
        let id = p.add_clip("Plan", Span::new(0.0, 6.0), "plain").unwrap();
        p.delete_words(id, 1, 1).unwrap();
        p.delete_words(id, 7, 7).unwrap();
        let second = p.split(id, 3.0).unwrap();
        assert_eq!(p.clip(id).unwrap().cuts, vec![Span::new(1.4, 1.6)]);
        assert_eq!(p.clip(second).unwrap().cuts, vec![Span::new(5.1, 5.5)]);
        assert_eq!(
            p.clips.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![id, second]
        );
        p.trim(id, Span::new(1.5, 2.9)).unwrap();
        assert_eq!(p.clip(id).unwrap().cuts, vec![Span::new(1.5, 1.6)]);
        assert_eq!(p.trim(id, Span::new(1.0, 1.2)), Err(EditError::TooShort));
        assert_eq!(p.split(second, 3.1), Err(EditError::TooShort));
        // Clamped to the source.
        p.trim(second, Span::new(3.0, 50.0)).unwrap();
        assert_eq!(p.clip(second).unwrap().span.end_secs, 10.0);
    }

    #[test]
    fn reorder_and_delete_clips() {
        let mut p = project();
        let a = p.add_clip("a", Span::new(0.0, 2.0), "plain").unwrap();
        let b = p.add_clip("b", Span::new(2.0, 4.0), "plain").unwrap();
        let c = p.add_clip("c", Span::new(4.0, 6.0), "plain").unwrap();
        p.move_clip(c, 0).unwrap();
        assert_eq!(
            p.clips.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![c, a, b]
        );
        p.delete_clip(c).unwrap();
        assert_eq!(p.selected, Some(a));
        assert_eq!(p.delete_clip(c), Err(EditError::NoClip(c)));
    }

    #[test]
    fn silences_and_fillers_are_found_inside_the_clip() {
        let p = project();
        let words = p.words();
        let span = Span::new(0.5, 6.0);
        let quiet = silences(&words, span, 1.0, 0.15);
        assert_eq!(quiet.len(), 1);
        assert!(
            (quiet[0].start_secs - 2.95).abs() < 1e-9 && (quiet[0].end_secs - 4.65).abs() < 1e-9
        );
        let filler = fillers(&words, span, DEFAULT_FILLERS);
        assert_eq!(filler, vec![Span::new(1.4, 1.6), Span::new(2.4, 2.8)]);
        // Only inside the span asked about.
        assert_eq!(fillers(&words, Span::new(2.0, 6.0), &["um"]), vec![]);
    }

    #[test]
    fn fixing_a_word_keeps_its_timing() {
        let mut p = project();
        p.fix_word(7, "planet.").unwrap();
        let words = p.words();
        assert_eq!(words[7].text, " planet.");
        assert_eq!((words[7].start_secs, words[7].end_secs), (5.1, 5.5));
        assert!(p.transcript[0].text.ends_with("the planet."));
    }

    #[test]
    fn reframing_eases_between_pan_keys_and_stays_inside_the_picture() {
        let mut r = Reframe::default();
        assert_eq!(r.center_at(3.0), (0.5, 0.5));
        r.set_key(PanKey {
            at_secs: 2.0,
            center_x: 0.2,
            center_y: 0.5,
        });
        r.set_key(PanKey {
            at_secs: 0.0,
            center_x: 0.8,
            center_y: 0.5,
        });
        assert_eq!(r.center_at(-1.0).0, 0.8);
        assert!((r.center_at(1.0).0 - 0.5).abs() < 1e-9); // half way, eased
        assert!(r.center_at(0.5).0 > 0.65); // slow start
        assert_eq!(r.center_at(5.0).0, 0.2);
        // 9:16 from 1920×1080: 607.5 px wide, full height, clamped at the edge.
        let crop = r.crop_at(1920.0, 1080.0, 0.0);
        assert!((crop.width - 607.5).abs() < 1e-9 && crop.height == 1080.0);
        assert!((crop.x - (0.8 * 1920.0 - 303.75)).abs() < 1e-9);
        r.set_key(PanKey {
            at_secs: 0.0,
            center_x: 1.0,
            center_y: 0.5,
        });
        assert_eq!(r.crop_at(1920.0, 1080.0, 0.0).x, 1920.0 - 607.5);
        r.aspect = Aspect::Landscape16x9;
        let crop = r.crop_at(1080.0, 1920.0, 0.0);
        assert!((crop.height - 607.5).abs() < 1e-9 && crop.width == 1080.0);
    }

    #[test]
    fn dragging_the_picture_moves_the_window_the_other_way() {
        let r = Reframe {
            aspect: Aspect::Portrait9x16,
            keys: vec![],
        };
        // 9:16 of 1920×1080 is 607.5 px wide: a drag of half the output to the right moves
        // the window 303.75 px (0.158 of the source) to the left.
        let (cx, cy) = r.dragged_center(1920.0, 1080.0, (0.5, 0.5), 0.5, 0.0);
        assert!((cx - (0.5 - 303.75 / 1920.0)).abs() < 1e-9);
        assert_eq!(cy, 0.5); // full height: nothing to move
                             // Past the edge the centre stops where the window touches it...
        let (cx, _) = r.dragged_center(1920.0, 1080.0, (0.5, 0.5), 9.0, 0.0);
        assert!((cx - 303.75 / 1920.0).abs() < 1e-9);
        // ...and a key saved beyond it (a click at the very edge) starts from there too, so
        // the first pixels of a drag back move the picture.
        let (cx, _) = r.dragged_center(1920.0, 1080.0, (0.0, 0.5), -0.1, 0.0);
        assert!(cx > 303.75 / 1920.0);
    }

    #[test]
    fn undo_and_redo_walk_through_every_edit() {
        let mut p = project();
        let mut history = History::new(100);
        history.record(&p);
        let id = p.add_clip("Plan", Span::new(0.5, 6.0), "plain").unwrap();
        history.record(&p);
        p.delete_words(id, 1, 1).unwrap();
        let after_delete = p.clone();
        p = history.undo(&p).unwrap();
        assert!(p.clip(id).unwrap().cuts.is_empty());
        p = history.undo(&p).unwrap();
        assert!(p.clips.is_empty());
        assert!(!history.can_undo());
        p = history.redo(&p).unwrap();
        p = history.redo(&p).unwrap();
        assert_eq!(p, after_delete);
        assert!(!history.can_redo());
        // A new edit after an undo drops the redo branch.
        p = history.undo(&p).unwrap();
        history.record(&p);
        p.set_template(id, "boxed").unwrap();
        assert!(!history.can_redo());
    }

    #[test]
    fn what_arrives_on_its_own_reaches_every_remembered_state() {
        let mut p = project();
        p.transcript.clear();
        let mut history = History::new(100);
        history.record(&p);
        let id = p.add_clip("Plan", Span::new(0.5, 6.0), "plain").unwrap();
        history.record(&p);
        p.set_template(id, "boxed").unwrap();
        p = history.undo(&p).unwrap();
        // The transcript arrives now, with one step undone and one redoable.
        let transcript = project().transcript;
        assert!(!transcript.is_empty());
        p.transcript = transcript.clone();
        history.for_each_mut(|s| s.transcript = transcript.clone());
        let undone = history.undo(&p).unwrap();
        assert_eq!(undone.transcript, transcript);
        assert!(undone.clips.is_empty());
        let redone = history.redo(&undone).unwrap();
        let redone = history.redo(&redone).unwrap();
        assert_eq!(redone.transcript, transcript);
        assert_eq!(redone.clip(id).map(|c| c.template.as_str()), Ok("boxed"));
    }

    #[test]
    fn a_run_of_words_is_corrected_in_its_own_time() {
        let mut p = project();
        // "this is, you" (2, 3, 4: 1.7–2.6 s) was misheard: the same number of words keep
        // their times.
        p.fix_words(2, 4, "these are all").unwrap();
        let texts = |p: &Project| {
            p.words()
                .iter()
                .map(|w| w.text.trim().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&p)[2..5], ["these", "are", "all"]);
        assert_eq!((p.words()[3].start_secs, p.words()[3].end_secs), (2.1, 2.3));
        // Fewer words: "all know," (4, 5: 2.4–2.8 s) becomes one word over the same time.
        p.fix_words(5, 4, "indeed").unwrap();
        let words = p.words();
        assert_eq!(words[4].text.trim(), "indeed");
        assert_eq!((words[4].start_secs, words[4].end_secs), (2.4, 2.8));
        assert_eq!(words[5].text.trim(), "the");
        // More words: "plan." becomes three, sharing 5.1–5.5 s by length.
        p.fix_words(6, 6, "big new plan.").unwrap();
        let words = p.words();
        assert_eq!(texts(&p)[6..], ["big", "new", "plan."]);
        assert_eq!(words[6].start_secs, 5.1);
        assert_eq!(words[8].end_secs, 5.5);
        assert!(words
            .windows(2)
            .all(|w| w[0].end_secs <= w[1].start_secs + 1e-9));
        assert_eq!(
            p.transcript[0].text.trim(),
            "So um these are indeed the big new plan."
        );
        assert_eq!(p.fix_words(0, 1, "  "), Err(EditError::EmptyCorrection));
        assert_eq!(p.fix_words(0, 99, "x"), Err(EditError::NoWord(99)));
    }

    #[test]
    fn undo_steps_are_named_after_what_they_change() {
        let before = project();
        let mut p = before.clone();
        let id = p.add_clip("Plan", Span::new(0.5, 6.0), "karaoke").unwrap();
        assert_eq!(describe_change(&before, &p), "Add clip “Plan”");
        type Step = fn(&mut Project, u32);
        let steps: Vec<(Step, &str)> = vec![
            (|p, id| p.delete_words(id, 1, 1).unwrap(), "Cut in “Plan”"),
            (
                |p, id| p.restore_cuts(id).unwrap(),
                "Put back cuts in “Plan”",
            ),
            (
                |p, id| p.trim(id, Span::new(1.0, 6.0)).unwrap(),
                "Trim “Plan”",
            ),
            (
                |p, id| p.set_template(id, "boxed").unwrap(),
                "Caption template of “Plan”",
            ),
            (
                |p, id| p.set_aspect(id, Aspect::Square1x1).unwrap(),
                "Shape of “Plan”",
            ),
            (
                |p, id| {
                    let key = PanKey {
                        at_secs: 1.0,
                        center_x: 0.2,
                        center_y: 0.5,
                    };
                    p.set_pan_key(id, key).unwrap()
                },
                "Pan in “Plan”",
            ),
            (|p, _| p.fix_word(0, "Hello").unwrap(), "Correct words"),
            (
                |p, id| {
                    p.split(id, 3.0).unwrap();
                },
                "Split “Plan”",
            ),
            (|p, id| p.delete_clip(id).unwrap(), "Delete clip “Plan”"),
        ];
        for (step, name) in steps {
            let previous = p.clone();
            step(&mut p, id);
            assert_eq!(describe_change(&previous, &p), name);
        }
    }

    #[test]
    fn a_project_survives_json() {
        let mut p = project();
        let id = p.add_clip("Plan", Span::new(0.5, 6.0), "karaoke").unwrap();
        p.delete_words(id, 1, 1).unwrap();
        p.set_pan_key(
            id,
            PanKey {
                at_secs: 1.0,
                center_x: 0.3,
                center_y: 0.5,
            },
        )
        .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: Project = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        // Ids keep counting after a reload.
        let mut back = back;
        let next = back.add_clip("Next", Span::new(6.0, 8.0), "plain").unwrap();
        assert!(next > id);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use super::{share_time, Aspect, PanKey, Reframe};
    use proptest::prelude::*;

    proptest! {
        /// Whatever the drag, the window stays inside the source, and where it is not stopped
        /// by an edge the picture under it moves by exactly the drag.
        #[test]
        fn a_dragged_window_follows_the_pointer_inside_the_source(
            aspect in prop_oneof![Just(Aspect::Portrait9x16), Just(Aspect::Square1x1), Just(Aspect::Landscape16x9)],
            width in 64.0f64..4000.0,
            height in 64.0f64..4000.0,
            start in (0.0f64..1.0, 0.0f64..1.0),
            dx in -1.5f64..1.5,
            dy in -1.5f64..1.5,
        ) {
            let before = Reframe { aspect, keys: vec![PanKey { at_secs: 0.0, center_x: start.0, center_y: start.1 }] };
            let (cx, cy) = before.dragged_center(width, height, start, dx, dy);
            let after = Reframe { aspect, keys: vec![PanKey { at_secs: 0.0, center_x: cx, center_y: cy }] };
            let (a, b) = (before.crop_at(width, height, 0.0), after.crop_at(width, height, 0.0));
            prop_assert!(b.x >= -1e-9 && b.x + b.width <= width + 1e-6);
            prop_assert!(b.y >= -1e-9 && b.y + b.height <= height + 1e-6);
            // The window's own centre, not clamped, is where it is drawn.
            prop_assert!((cx * width - b.width / 2.0 - b.x).abs() < 1e-6);
            let free = |from: f64, moved: f64, room: f64| from - moved > 1e-6 && from - moved < room - 1e-6;
            if free(a.x, dx * a.width, width - a.width) {
                prop_assert!((b.x - (a.x - dx * a.width)).abs() < 1e-6);
            }
            if free(a.y, dy * a.height, height - a.height) {
                prop_assert!((b.y - (a.y - dy * a.height)).abs() < 1e-6);
            }
        }

        /// The shares are consecutive, cover the stretch exactly and grow with word length.
        #[test]
        fn shared_time_covers_the_stretch(
            start in 0.0f64..100.0,
            length in 0.01f64..10.0,
            words in proptest::collection::vec("[a-z]{1,12}", 1..8),
        ) {
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let shares = share_time(start, start + length, &words);
            prop_assert_eq!(shares.len(), words.len());
            prop_assert_eq!(shares[0].0, start);
            prop_assert_eq!(shares[shares.len() - 1].1, start + length);
            for pair in shares.windows(2) {
                prop_assert_eq!(pair[0].1, pair[1].0);
            }
            let total: usize = words.iter().map(|w| w.len()).sum();
            for (word, (a, b)) in words.iter().zip(&shares) {
                let expected = length * word.len() as f64 / total as f64;
                prop_assert!(((b - a) - expected).abs() < 1e-9);
            }
        }
    }
}
