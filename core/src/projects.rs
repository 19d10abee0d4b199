//! The list of projects kept in the browser: one file per project (`projects/<id>.json`, a
//! [`Project`]), a small picture of its video (`projects/<id>.thumb`, a [`Thumbnail`]) and
//! one index (`projects/index.json`, an [`Index`]) with what the list shows — name, length,
//! clip count, last change — so the list appears without reading every project.
//!
//! Everything the list decides is here, natively tested: ids safe as file names, the order
//! (newest change first), names that stay apart ("talk.mp4 (2)", "X (copy)"), whether a
//! picked file is the project's video ([`check_source`]), and how a change's time is written.
//! The browser side (`app/src/projects.rs`, `app/src/project_store.rs`) reads and writes the
//! files and draws the list.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::edit::{Project, SourceRef};

/// The folder of projects in the origin-private file system.
pub const DIR: &str = "projects";
/// The index's file name in [`DIR`].
pub const INDEX_FILE: &str = "index.json";
/// The index format written now.
pub const INDEX_VERSION: u32 = 1;
/// Longest project name kept, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// The fingerprint reads this much from each end of the video.
pub const FINGERPRINT_EDGE_BYTES: u64 = 64 * 1024;

/// A project's file name in [`DIR`].
pub fn project_file(id: &str) -> String {
    format!("{id}.json")
}

/// A project's thumbnail file name in [`DIR`].
pub fn thumbnail_file(id: &str) -> String {
    format!("{id}.thumb")
}

/// The id of a project file's name (`None` for the index, thumbnails and strays).
pub fn id_of_project_file(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(".json").filter(|id| is_id(id))
}

/// Whether `id` can name a project's files: 1–40 of `a-z`, `0-9` and `-`, not the index.
pub fn is_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && project_file(id) != INDEX_FILE
}

/// A new id from the time in ms since 1970 (base 36, so ids sort by creation in a listing),
/// different from every id in `taken`.
pub fn new_id<'a>(now_ms: f64, taken: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let mut n = if now_ms.is_finite() && now_ms > 0.0 {
        now_ms as u64
    } else {
        0
    };
    let mut digits = Vec::new();
    loop {
        let d = (n % 36) as u32;
        digits.push(char::from_digit(d, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    let base: String = std::iter::once('p')
        .chain(digits.into_iter().rev())
        .collect();
    let free = |id: &str| !taken.clone().into_iter().any(|t| t == id);
    if free(&base) {
        return base;
    }
    (2u32..)
        .map(|k| format!("{base}-{k}"))
        .find(|id| free(id))
        .unwrap_or(base)
}

/// The id the project of an earlier version's `project.json` gets: the same for the same
/// contents (FNV-1a, 64 bits), so a migration cut short (the list or the removal of the old
/// file failed) finds the project already there on the next start instead of adding it again.
pub fn migrated_id(legacy_text: &str) -> String {
    // FNV-1a, http://www.isthe.com/chongo/tech/comp/fnv/ (offset basis and prime for 64 bits).
    let hash = legacy_text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("migrated-{hash:016x}")
}

/// One project as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub name: String,
    /// The video it was made from (to ask for it again).
    #[serde(default)]
    pub source: Option<SourceRef>,
    #[serde(default)]
    pub duration_secs: f64,
    #[serde(default)]
    pub clips: usize,
    /// Last change, in ms since 1970 (JavaScript's `Date.now()`).
    #[serde(default)]
    pub changed_ms: f64,
}

impl Entry {
    /// The entry of `project` saved as `id` at `now_ms`, named after its video.
    pub fn new(id: &str, name: &str, project: &Project, now_ms: f64) -> Self {
        let mut entry = Self {
            id: id.to_string(),
            name: name.to_string(),
            source: None,
            duration_secs: 0.0,
            clips: 0,
            changed_ms: now_ms,
        };
        entry.update(project, now_ms);
        entry
    }

    /// Takes what the list shows from the project as just saved.
    pub fn update(&mut self, project: &Project, now_ms: f64) {
        self.source = project.source.clone();
        self.duration_secs = project.duration_secs;
        self.clips = project.clips.len();
        self.changed_ms = now_ms;
    }

    /// "1 clip", "3 clips", "no clips".
    pub fn clips_text(&self) -> String {
        match self.clips {
            0 => "no clips".to_string(),
            1 => "1 clip".to_string(),
            n => format!("{n} clips"),
        }
    }
}

/// The name a project gets from its video's file name.
pub fn default_name(project: &Project) -> String {
    project
        .source
        .as_ref()
        .map_or("Untitled project".to_string(), |s| s.name.clone())
}

/// Why the index could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IndexError {
    #[error("the list of projects is damaged ({0})")]
    Damaged(String),
    #[error("the list of projects was written by a newer Reelsmith (format {0})")]
    Newer(u32),
}

/// Every project kept in the browser.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Index {
    pub version: u32,
    pub projects: Vec<Entry>,
}

impl Index {
    pub fn from_json(text: &str) -> Result<Self, IndexError> {
        let index: Self =
            serde_json::from_str(text).map_err(|e| IndexError::Damaged(e.to_string()))?;
        if index.version > INDEX_VERSION {
            return Err(IndexError::Newer(index.version));
        }
        // Entries whose id cannot name a file are dropped rather than trusted as paths.
        let projects = index
            .projects
            .into_iter()
            .filter(|e| is_id(&e.id))
            .collect();
        Ok(Self {
            version: INDEX_VERSION,
            projects,
        })
    }

    pub fn to_json(&self) -> String {
        let index = Self {
            version: INDEX_VERSION,
            projects: self.projects.clone(),
        };
        serde_json::to_string(&index).unwrap_or_default()
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.projects.iter().find(|e| e.id == id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.projects.iter_mut().find(|e| e.id == id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> + Clone {
        self.projects.iter().map(|e| e.id.as_str())
    }

    /// Adds or replaces the entry with `entry.id`.
    pub fn put(&mut self, entry: Entry) {
        match self.get_mut(&entry.id) {
            Some(old) => *old = entry,
            None => self.projects.push(entry),
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<Entry> {
        let at = self.projects.iter().position(|e| e.id == id)?;
        Some(self.projects.remove(at))
    }

    /// The entries newest change first (ties: newer id first, so the order is total).
    pub fn sorted(&self) -> Vec<Entry> {
        let mut list = self.projects.clone();
        list.sort_by(|a, b| {
            b.changed_ms
                .total_cmp(&a.changed_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        list
    }

    /// The most recently changed project.
    pub fn latest(&self) -> Option<&Entry> {
        self.projects.iter().max_by(|a, b| {
            a.changed_ms
                .total_cmp(&b.changed_ms)
                .then_with(|| a.id.cmp(&b.id))
        })
    }

    /// Takes in entries read from storage while this session already changed some: of two
    /// entries with one id the later change wins; the others are kept.
    pub fn merge(&mut self, other: Index) {
        for entry in other.projects {
            match self.get_mut(&entry.id) {
                Some(mine) if mine.changed_ms >= entry.changed_ms => {}
                Some(mine) => *mine = entry,
                None => self.projects.push(entry),
            }
        }
    }

    /// Keeps the index true to the project files found in the folder (`files`: their ids):
    /// entries without a file are dropped, and a file without an entry gets one from
    /// `recover` (its project read again, `None` when it cannot be). Returns whether anything
    /// changed.
    pub fn reconcile(
        &mut self,
        files: &[String],
        mut recover: impl FnMut(&str) -> Option<Entry>,
    ) -> bool {
        let before = self.projects.len();
        self.projects.retain(|e| files.contains(&e.id));
        let mut changed = self.projects.len() != before;
        for id in files {
            if self.get(id).is_none() {
                if let Some(entry) = recover(id) {
                    self.projects.push(entry);
                    changed = true;
                }
            }
        }
        changed
    }

    /// `base`, or `base (2)`, `base (3)`… — the first name no project has.
    pub fn unique_name(&self, base: &str) -> String {
        let taken = |name: &str| self.projects.iter().any(|e| e.name == name);
        if !taken(base) {
            return base.to_string();
        }
        (2u32..)
            .map(|k| format!("{base} ({k})"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_string())
    }

    /// The name of a duplicate of `name`: "X (copy)", then "X (copy 2)"…; a copy of a copy
    /// is named after the original ("X (copy)" → "X (copy 2)", not "X (copy) (copy)").
    pub fn copy_name(&self, name: &str) -> String {
        let original = strip_copy(name);
        let taken = |n: &str| self.projects.iter().any(|e| e.name == n);
        let first = format!("{original} (copy)");
        if !taken(&first) {
            return first;
        }
        (2u32..)
            .map(|k| format!("{original} (copy {k})"))
            .find(|n| !taken(n))
            .unwrap_or(first)
    }
}

/// "X" for "X (copy)" and "X (copy 7)", else the name itself.
fn strip_copy(name: &str) -> &str {
    let Some(open) = name.rfind(" (copy") else {
        return name;
    };
    let tail = &name[open + " (copy".len()..];
    let Some(number) = tail.strip_suffix(')') else {
        return name;
    };
    let number = number.trim_start();
    if number.is_empty() || (tail.starts_with(' ') && number.bytes().all(|b| b.is_ascii_digit())) {
        &name[..open]
    } else {
        name
    }
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("a project needs a name")]
    Empty,
}

/// A name as typed, made fit to keep: spaces trimmed and runs of white space made one,
/// control characters dropped, at most [`MAX_NAME_CHARS`] characters.
pub fn clean_name(typed: &str) -> Result<String, NameError> {
    let name: String = typed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() {
        Err(NameError::Empty)
    } else {
        Ok(name)
    }
}

/// Why a picked file is not a project's video.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SourceMismatch {
    #[error("“{picked}” is not the video of this project: it was made from “{saved}”, a file of {saved_bytes} bytes, and this one has {picked_bytes}")]
    Size {
        saved: String,
        picked: String,
        saved_bytes: u64,
        picked_bytes: u64,
    },
    #[error("“{picked}” has the size of “{saved}”, the video of this project, but other content")]
    Content { saved: String, picked: String },
    #[error("this project was made from “{saved}”, not “{picked}”")]
    Name { saved: String, picked: String },
    #[error("“{picked}” has the name and size of this project's video but was changed at another time; if it is a copy, pick the file the project was made from")]
    Date { picked: String },
}

/// Whether the `picked` file is the video `saved` was made from. The size must agree. When
/// both carry a fingerprint (a digest of the file's first and last 64 KiB), the fingerprint
/// decides — a renamed or copied file is still the same video. Without one, the name and the
/// modification time must agree too.
pub fn check_source(saved: &SourceRef, picked: &SourceRef) -> Result<(), SourceMismatch> {
    if saved.bytes != picked.bytes {
        return Err(SourceMismatch::Size {
            saved: saved.name.clone(),
            picked: picked.name.clone(),
            saved_bytes: saved.bytes,
            picked_bytes: picked.bytes,
        });
    }
    if let (Some(a), Some(b)) = (&saved.fingerprint, &picked.fingerprint) {
        return if a == b {
            Ok(())
        } else {
            Err(SourceMismatch::Content {
                saved: saved.name.clone(),
                picked: picked.name.clone(),
            })
        };
    }
    if saved.name != picked.name {
        return Err(SourceMismatch::Name {
            saved: saved.name.clone(),
            picked: picked.name.clone(),
        });
    }
    if saved.last_modified_ms != picked.last_modified_ms {
        return Err(SourceMismatch::Date {
            picked: picked.name.clone(),
        });
    }
    Ok(())
}

/// The byte ranges `[start, end)` a fingerprint of a file of `bytes` bytes reads: the first
/// and the last [`FINGERPRINT_EDGE_BYTES`], or the whole file when they would overlap.
pub fn fingerprint_ranges(bytes: u64) -> Vec<(u64, u64)> {
    let edge = FINGERPRINT_EDGE_BYTES;
    if bytes <= 2 * edge {
        vec![(0, bytes)]
    } else {
        vec![(0, edge), (bytes - edge, bytes)]
    }
}

/// The fingerprint text for a SHA-256 digest of those ranges.
pub fn fingerprint_text(digest: &[u8]) -> String {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-64k:{hex}")
}

const MINUTE_MS: f64 = 60_000.0;
const HOUR_MS: f64 = 60.0 * MINUTE_MS;
const DAY_MS: f64 = 24.0 * HOUR_MS;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1–12, day 1–31) of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html#civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A time as the user's clock shows it: "12 Mar 2025, 14:05". `utc_offset_minutes` is the
/// local time's offset east of UTC (minus JavaScript's `getTimezoneOffset()`).
pub fn date_text(at_ms: f64, utc_offset_minutes: i32) -> String {
    let local_ms = at_ms + f64::from(utc_offset_minutes) * MINUTE_MS;
    let minutes = (local_ms / MINUTE_MS).floor() as i64;
    let days = minutes.div_euclid(24 * 60);
    let of_day = minutes.rem_euclid(24 * 60);
    let (year, month, day) = civil_from_days(days);
    let month = MONTHS[(month as usize - 1) % 12];
    format!(
        "{day} {month} {year}, {:02}:{:02}",
        of_day / 60,
        of_day % 60
    )
}

/// When a project last changed, as the list says it: "just now", "5 minutes ago",
/// "3 hours ago", "yesterday", "4 days ago", then the date.
pub fn changed_text(changed_ms: f64, now_ms: f64, utc_offset_minutes: i32) -> String {
    let ago = now_ms - changed_ms;
    // A clock set back, or a change saved by a tab whose clock runs ahead: say the date.
    if ago < -MINUTE_MS {
        return date_text(changed_ms, utc_offset_minutes);
    }
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    if ago < MINUTE_MS {
        "just now".to_string()
    } else if ago < HOUR_MS {
        plural((ago / MINUTE_MS) as i64, "minute")
    } else if ago < DAY_MS {
        plural((ago / HOUR_MS) as i64, "hour")
    } else if ago < 2.0 * DAY_MS {
        "yesterday".to_string()
    } else if ago < 7.0 * DAY_MS {
        plural((ago / DAY_MS) as i64, "day")
    } else {
        date_text(changed_ms, utc_offset_minutes)
    }
}

/// A small picture of a project's video, kept as `RGBT`, width and height (u16 LE each), then
/// the RGBA pixels: drawn into a canvas with `putImageData` (the page's CSP allows no image
/// URLs but its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: u16,
    pub height: u16,
    pub rgba: Vec<u8>,
}

const THUMBNAIL_MAGIC: &[u8; 4] = b"RGBT";
/// The thumbnail's size in the list.
pub const THUMBNAIL_WIDTH: u16 = 64;
pub const THUMBNAIL_HEIGHT: u16 = 36;

impl Thumbnail {
    /// A thumbnail of `width`×`height` over `rgba` (`None` when the sizes disagree).
    pub fn new(width: u16, height: u16, rgba: Vec<u8>) -> Option<Self> {
        (width > 0 && height > 0 && rgba.len() == usize::from(width) * usize::from(height) * 4)
            .then_some(Self {
                width,
                height,
                rgba,
            })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.rgba.len());
        out.extend_from_slice(THUMBNAIL_MAGIC);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.rgba);
        out
    }

    /// Reads a stored thumbnail (`None` when it is not one).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(THUMBNAIL_MAGIC)?;
        let (size, rgba) = rest.split_at_checked(4)?;
        let width = u16::from_le_bytes([size[0], size[1]]);
        let height = u16::from_le_bytes([size[2], size[3]]);
        Self::new(width, height, rgba.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, bytes: u64, modified: f64, fingerprint: Option<&str>) -> SourceRef {
        SourceRef {
            name: name.to_string(),
            bytes,
            last_modified_ms: modified,
            fingerprint: fingerprint.map(str::to_string),
        }
    }

    fn entry(id: &str, name: &str, changed_ms: f64) -> Entry {
        Entry {
            id: id.to_string(),
            name: name.to_string(),
            source: None,
            duration_secs: 10.0,
            clips: 0,
            changed_ms,
        }
    }

    fn index(entries: Vec<Entry>) -> Index {
        Index {
            version: INDEX_VERSION,
            projects: entries,
        }
    }

    #[test]
    fn ids_are_file_names_that_differ_and_sort_by_creation() {
        let a = new_id(1_700_000_000_000.0, []);
        assert_eq!(a, "ployw3v28");
        assert!(is_id(&a));
        let b = new_id(1_700_000_000_000.0, [a.as_str()]);
        assert_eq!(b, format!("{a}-2"));
        let c = new_id(1_700_000_000_000.0, [a.as_str(), b.as_str()]);
        assert_eq!(c, format!("{a}-3"));
        // Later ms give later ids (same length for centuries).
        assert!(new_id(1_700_000_000_001.0, []) > a);
        assert_eq!(new_id(f64::NAN, []), "p0");
        for bad in ["", "index", "../x", "A", "a/b", "a.json", &"a".repeat(41)] {
            assert!(!is_id(bad), "{bad}");
        }
        assert_eq!(id_of_project_file("p12.json"), Some("p12"));
        assert_eq!(id_of_project_file("index.json"), None);
        assert_eq!(id_of_project_file("p12.thumb"), None);
        assert_eq!(id_of_project_file("../p.json"), None);
    }

    #[test]
    fn a_migrated_project_keeps_one_id_for_the_same_old_file() {
        let old = r#"{"version":1,"clips":[]}"#;
        let id = migrated_id(old);
        assert!(is_id(&id), "{id}");
        assert_eq!(id, migrated_id(old));
        assert_ne!(id, migrated_id(r#"{"version":1,"clips":[ ]}"#));
        // FNV-1a of nothing is its offset basis.
        assert_eq!(migrated_id(""), "migrated-cbf29ce484222325");
        // A second start after a cut-short migration finds it in the list.
        let listed = index(vec![entry(&id, "talk.mp4", 1.0)]);
        assert!(listed.get(&migrated_id(old)).is_some());
    }

    #[test]
    fn the_list_is_newest_change_first() {
        let i = index(vec![
            entry("pa", "A", 1_000.0),
            entry("pc", "C", 3_000.0),
            entry("pb", "B", 3_000.0),
            entry("pd", "D", 2_000.0),
        ]);
        let order: Vec<_> = i.sorted().into_iter().map(|e| e.id).collect();
        assert_eq!(order, ["pc", "pb", "pd", "pa"]);
        assert_eq!(i.latest().map(|e| e.id.as_str()), Some("pc"));
        assert_eq!(Index::default().latest(), None);
    }

    #[test]
    fn names_stay_apart() {
        let i = index(vec![
            entry("p1", "talk.mp4", 0.0),
            entry("p2", "talk.mp4 (2)", 0.0),
            entry("p3", "Interview (copy)", 0.0),
        ]);
        assert_eq!(i.unique_name("talk.mp4"), "talk.mp4 (3)");
        assert_eq!(i.unique_name("other.mp4"), "other.mp4");
        assert_eq!(i.copy_name("talk.mp4"), "talk.mp4 (copy)");
        assert_eq!(i.copy_name("Interview"), "Interview (copy 2)");
        // A copy of a copy is named after the original.
        assert_eq!(i.copy_name("Interview (copy)"), "Interview (copy 2)");
        assert_eq!(i.copy_name("Interview (copy 7)"), "Interview (copy 2)");
        // Only a real copy suffix is taken off.
        assert_eq!(i.copy_name("A (copyright)"), "A (copyright) (copy)");
        assert_eq!(i.copy_name("A (copy x)"), "A (copy x) (copy)");
    }

    #[test]
    fn typed_names_are_tidied_and_an_empty_one_refused() {
        assert_eq!(clean_name("  My   talk \n"), Ok("My talk".to_string()));
        assert_eq!(clean_name(" \t "), Err(NameError::Empty));
        assert_eq!(
            clean_name(&"é".repeat(200)).map(|n| n.chars().count()),
            Ok(80)
        );
        assert_eq!(clean_name("a\u{7}b"), Ok("ab".to_string()));
    }

    #[test]
    fn the_same_video_is_recognised_and_another_refused_with_a_reason() {
        let saved = source("talk.mp4", 1_000, 5.0, Some("sha256-64k:aa"));
        // Same content, renamed or copied (another date): the same video.
        assert_eq!(
            check_source(
                &saved,
                &source("renamed.mp4", 1_000, 9.0, Some("sha256-64k:aa"))
            ),
            Ok(())
        );
        let other = check_source(
            &saved,
            &source("talk.mp4", 1_000, 5.0, Some("sha256-64k:bb")),
        );
        assert!(matches!(other, Err(SourceMismatch::Content { .. })));
        let size = check_source(&saved, &source("b.mp4", 2_000, 5.0, Some("sha256-64k:aa")))
            .map_err(|e| e.to_string());
        assert_eq!(
            size,
            Err("“b.mp4” is not the video of this project: it was made from “talk.mp4”, a file of 1000 bytes, and this one has 2000".to_string())
        );
        // A project saved before fingerprints: name, size and date.
        let old = source("talk.mp4", 1_000, 5.0, None);
        assert_eq!(
            check_source(&old, &source("talk.mp4", 1_000, 5.0, Some("x"))),
            Ok(())
        );
        assert!(matches!(
            check_source(&old, &source("b.mp4", 1_000, 5.0, None)),
            Err(SourceMismatch::Name { .. })
        ));
        assert!(matches!(
            check_source(&old, &source("talk.mp4", 1_000, 6.0, None)),
            Err(SourceMismatch::Date { .. })
        ));
    }

    #[test]
    fn the_fingerprint_reads_both_ends_or_a_small_file_whole() {
        assert_eq!(fingerprint_ranges(0), vec![(0, 0)]);
        assert_eq!(fingerprint_ranges(131_072), vec![(0, 131_072)]);
        assert_eq!(
            fingerprint_ranges(1_000_000),
            vec![(0, 65_536), (934_464, 1_000_000)]
        );
        assert_eq!(fingerprint_text(&[0, 15, 255]), "sha256-64k:000fff");
    }

    #[test]
    fn a_change_is_said_the_way_people_say_it() {
        let now = 1_700_000_000_000.0;
        assert_eq!(changed_text(now - 5_000.0, now, 0), "just now");
        assert_eq!(changed_text(now + 10_000.0, now, 0), "just now");
        assert_eq!(changed_text(now - 60_000.0, now, 0), "1 minute ago");
        assert_eq!(
            changed_text(now - 59.0 * 60_000.0, now, 0),
            "59 minutes ago"
        );
        assert_eq!(changed_text(now - 3.0 * HOUR_MS, now, 0), "3 hours ago");
        assert_eq!(changed_text(now - 30.0 * HOUR_MS, now, 0), "yesterday");
        assert_eq!(changed_text(now - 4.0 * DAY_MS, now, 0), "4 days ago");
        // 1_700_000_000_000 ms is 2023-11-14 22:13:20 UTC.
        assert_eq!(date_text(now, 0), "14 Nov 2023, 22:13");
        assert_eq!(date_text(now, 120), "15 Nov 2023, 00:13");
        assert_eq!(date_text(now, -300), "14 Nov 2023, 17:13");
        assert_eq!(
            changed_text(now, now + 10.0 * DAY_MS, 0),
            "14 Nov 2023, 22:13"
        );
        assert_eq!(changed_text(now + DAY_MS, now, 0), "15 Nov 2023, 22:13");
        assert_eq!(date_text(0.0, 0), "1 Jan 1970, 00:00");
        assert_eq!(date_text(951_782_400_000.0, 0), "29 Feb 2000, 00:00");
    }

    #[test]
    fn the_index_reads_back_and_refuses_damage_and_newer_formats() {
        let mut project = Project::new(source("talk.mp4", 1_000, 5.0, None), 42.5);
        project
            .add_clip("A", crate::edit::Span::new(1.0, 5.0), "karaoke")
            .unwrap();
        let e = Entry::new("p1", &default_name(&project), &project, 7.0);
        assert_eq!(
            (e.name.as_str(), e.clips, e.duration_secs),
            ("talk.mp4", 1, 42.5)
        );
        assert_eq!(e.clips_text(), "1 clip");
        let i = index(vec![e, entry("p2", "B", 9.0)]);
        assert_eq!(Index::from_json(&i.to_json()), Ok(i));
        assert!(matches!(Index::from_json("{"), Err(IndexError::Damaged(_))));
        assert_eq!(
            Index::from_json(r#"{"version":9,"projects":[]}"#),
            Err(IndexError::Newer(9))
        );
        // An entry that could name a path outside the folder is dropped.
        let read = Index::from_json(
            r#"{"version":1,"projects":[{"id":"../x","name":"x"},{"id":"p3","name":"ok"}]}"#,
        )
        .unwrap();
        assert_eq!(read.ids().collect::<Vec<_>>(), ["p3"]);
        assert_eq!(read.projects[0].clips_text(), "no clips");
    }

    #[test]
    fn the_index_follows_the_files_and_a_sessions_changes_survive_loading() {
        let mut i = index(vec![entry("pa", "A", 1.0), entry("pb", "B", 1.0)]);
        let changed = i.reconcile(&["pb".to_string(), "pc".to_string()], |id| {
            Some(entry(id, "recovered", 2.0))
        });
        assert!(changed);
        assert_eq!(i.ids().collect::<Vec<_>>(), ["pb", "pc"]);
        assert!(!i.reconcile(&["pb".to_string(), "pc".to_string()], |_| None));

        let mut session = index(vec![entry("pb", "B renamed", 5.0), entry("pn", "new", 6.0)]);
        session.merge(index(vec![entry("pb", "B", 1.0), entry("pc", "C", 2.0)]));
        let names: Vec<_> = session.sorted().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["new", "B renamed", "C"]);
        assert_eq!(session.remove("pc").map(|e| e.name), Some("C".to_string()));
        assert_eq!(session.remove("pc"), None);
    }

    #[test]
    fn old_projects_without_a_fingerprint_still_load() {
        let json = r#"{"version":1,"source":{"name":"a.mp4","bytes":3,"last_modified_ms":1.0},
            "duration_secs":2.0,"transcript":[],"clips":[],"selected":null,"next_id":0}"#;
        let project: Project = serde_json::from_str(json).unwrap();
        assert_eq!(project.source.and_then(|s| s.fingerprint), None);
        // And a source without one is written as before.
        let written = serde_json::to_string(&source("a.mp4", 3, 1.0, None)).unwrap();
        assert!(!written.contains("fingerprint"), "{written}");
    }

    #[test]
    fn a_thumbnail_reads_back_and_junk_is_refused() {
        let t = Thumbnail::new(2, 1, vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(Thumbnail::from_bytes(&t.to_bytes()), Some(t));
        assert_eq!(Thumbnail::new(2, 2, vec![0; 8]), None);
        assert_eq!(Thumbnail::from_bytes(b"RGBT\x01\x00\x01\x00abc"), None);
        assert_eq!(Thumbnail::from_bytes(b"nope"), None);
    }

    // proptest needs a browser-specific random source on wasm32: native only.
    #[cfg(not(target_arch = "wasm32"))]
    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn new_ids_are_valid_and_free(now in 0.0f64..4e12, n in 0usize..6) {
                let mut taken = Vec::new();
                for _ in 0..n {
                    let id = new_id(now, taken.iter().map(String::as_str));
                    prop_assert!(is_id(&id));
                    prop_assert!(!taken.contains(&id));
                    taken.push(id);
                }
            }

            #[test]
            fn copy_and_unique_names_are_free(names in proptest::collection::vec("[a-c]{1,2}( \\(copy( [2-4])?\\))?", 0..8), pick in 0usize..8) {
                let i = index(names.iter().enumerate().map(|(k, n)| entry(&format!("p{k}"), n, 0.0)).collect());
                let base = names.get(pick).cloned().unwrap_or_else(|| "a".to_string());
                let copy = i.copy_name(&base);
                prop_assert!(i.projects.iter().all(|e| e.name != copy));
                prop_assert!(copy.ends_with(')'));
                let unique = i.unique_name(&base);
                prop_assert!(i.projects.iter().all(|e| e.name != unique));
            }

            #[test]
            fn the_list_is_ordered_and_complete(changes in proptest::collection::vec(0u32..5, 0..10)) {
                let i = index(changes.iter().enumerate().map(|(k, c)| entry(&format!("p{k}"), "x", f64::from(*c))).collect());
                let sorted = i.sorted();
                prop_assert_eq!(sorted.len(), i.projects.len());
                prop_assert!(sorted.windows(2).all(|w| w[0].changed_ms >= w[1].changed_ms));
                prop_assert_eq!(i.latest().map(|e| e.id.clone()), sorted.first().map(|e| e.id.clone()));
            }

            #[test]
            fn an_index_reads_back(changes in proptest::collection::vec((0u32..1000, "[ -~]{0,12}"), 0..6)) {
                let i = index(changes.iter().enumerate().map(|(k, (c, n))| entry(&format!("p{k}"), n, f64::from(*c))).collect());
                prop_assert_eq!(Index::from_json(&i.to_json()), Ok(i));
            }
        }
    }
}
