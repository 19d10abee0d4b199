//! What the editor keeps in the browser, in the words the "Data in this browser" panel uses:
//! each stored item (an origin-private file or folder, a Cache Storage cache, an IndexedDB
//! database, `localStorage` keys) named for the user, and what a deletion did. The browser
//! side (`app/src/local_data.rs`) only enumerates and deletes; naming, totals and the result
//! message are decided here, where they are tested natively.

/// Where in the browser an item is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The origin-private file system (OPFS).
    Files,
    /// Cache Storage.
    Caches,
    /// IndexedDB.
    Databases,
    /// `localStorage` (all its keys as one item).
    KeyValues,
}

/// One stored item, as found by enumerating an area.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub area: Area,
    /// Its name in that area (file or folder name, cache name, database name).
    pub name: String,
    /// Its size when the browser says (files and folders; caches only by the usage total).
    pub bytes: Option<u64>,
}

/// The one autosaved project of earlier versions, in OPFS; it is moved into the list of
/// projects when the editor starts (`app/src/projects.rs`).
pub const PROJECT_FILE: &str = "project.json";
/// The folder of projects in OPFS (`core::projects`).
pub const PROJECTS_DIR: &str = crate::projects::DIR;
/// The folder of export files in OPFS (`app/src/export/sink.rs`).
pub const EXPORT_DIR: &str = "exports";
/// The prefix of the speech model's cache, as the relay names it in the model's manifest.
pub const MODEL_CACHE_PREFIX: &str = "reelsmith-model-";

impl Item {
    /// What the item is, for the user.
    pub fn label(&self) -> String {
        match (self.area, self.name.as_str()) {
            (Area::Files, PROJECT_FILE) => {
                "a project saved by an earlier version of Reelsmith".to_string()
            }
            (Area::Files, PROJECTS_DIR) => {
                "your projects (saved as you edit, with small pictures of their videos)".to_string()
            }
            (Area::Files, EXPORT_DIR) => "exported clips waiting to be downloaded".to_string(),
            (Area::Files, name) => format!("the file “{name}”"),
            (Area::Caches, name) if name.starts_with(MODEL_CACHE_PREFIX) => {
                format!("the speech model “{}”", &name[MODEL_CACHE_PREFIX.len()..])
            }
            (Area::Caches, name) => format!("the cache “{name}”"),
            (Area::Databases, name) => format!("the database “{name}”"),
            (Area::KeyValues, name) => format!("saved settings ({name})"),
        }
    }
}

/// The `localStorage` item for `keys` keys (`None` when there are none).
pub fn key_values(keys: usize) -> Option<Item> {
    (keys > 0).then(|| Item {
        area: Area::KeyValues,
        name: if keys == 1 {
            "1 key".to_string()
        } else {
            format!("{keys} keys")
        },
        bytes: None,
    })
}

/// Megabytes with one decimal, as the rest of the editor writes sizes.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// One line per item, for the panel's list.
pub fn describe(item: &Item) -> String {
    match item.bytes {
        Some(bytes) => format!("{} — {}", item.label(), megabytes(bytes)),
        None => item.label(),
    }
}

/// The panel's headline for what is stored: `usage_bytes` is the browser's own total
/// (`navigator.storage.estimate()`), which also counts what the app cannot list by size.
pub fn inventory_text(items: &[Item], usage_bytes: Option<u64>) -> String {
    if items.is_empty() {
        return "Nothing of Reelsmith is stored in this browser.".to_string();
    }
    let count = if items.len() == 1 {
        "1 item".to_string()
    } else {
        format!("{} items", items.len())
    };
    match usage_bytes {
        Some(bytes) => format!(
            "Stored in this browser: {count}, {} in all.",
            megabytes(bytes)
        ),
        None => format!("Stored in this browser: {count}."),
    }
}

/// What "Delete everything" did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deletion {
    pub deleted: Vec<Item>,
    /// Items that could not be deleted, with the browser's reason.
    pub failed: Vec<(Item, String)>,
    /// What is left after deleting, enumerated again.
    pub left: Vec<Item>,
}

impl Deletion {
    /// Whether nothing is left.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.left.is_empty()
    }

    /// The result, for the user: what went, and what stayed and what to do about it.
    pub fn message(&self) -> String {
        if self.deleted.is_empty() && self.is_complete() {
            return "There was nothing of Reelsmith stored in this browser.".to_string();
        }
        let labels: Vec<String> = self.deleted.iter().map(Item::label).collect();
        let mut text = if labels.is_empty() {
            "Nothing could be deleted.".to_string()
        } else {
            format!("Deleted from this browser: {}.", join(&labels))
        };
        if self.is_complete() {
            text.push_str(" Nothing of Reelsmith is stored here now.");
            return text;
        }
        let mut stayed: Vec<String> = self
            .failed
            .iter()
            .map(|(item, reason)| format!("{} ({reason})", item.label()))
            .collect();
        stayed.extend(
            self.left
                .iter()
                .filter(|item| !self.failed.iter().any(|(f, _)| f == *item))
                .map(Item::label),
        );
        text.push_str(&format!(
            " Still stored: {}. Close other Reelsmith tabs (they may be using it) and delete again.",
            join(&stayed)
        ));
        text
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(area: Area, name: &str, bytes: Option<u64>) -> Item {
        Item {
            area,
            name: name.to_string(),
            bytes,
        }
    }

    #[test]
    fn the_editors_own_items_are_named_for_the_user() {
        assert_eq!(
            item(Area::Files, PROJECTS_DIR, Some(3_000)).label(),
            "your projects (saved as you edit, with small pictures of their videos)"
        );
        assert_eq!(
            item(Area::Files, PROJECT_FILE, Some(3_000)).label(),
            "a project saved by an earlier version of Reelsmith"
        );
        assert_eq!(
            item(Area::Files, EXPORT_DIR, None).label(),
            "exported clips waiting to be downloaded"
        );
        assert_eq!(
            item(Area::Caches, "reelsmith-model-whisper-tiny.en", None).label(),
            "the speech model “whisper-tiny.en”"
        );
        // Anything else is named as the browser names it: nothing stays hidden.
        assert_eq!(
            item(Area::Files, "stray.bin", None).label(),
            "the file “stray.bin”"
        );
        assert_eq!(item(Area::Caches, "v1", None).label(), "the cache “v1”");
        assert_eq!(
            item(Area::Databases, "probe", None).label(),
            "the database “probe”"
        );
        assert_eq!(
            key_values(2).map(|i| i.label()).as_deref(),
            Some("saved settings (2 keys)")
        );
        assert_eq!(key_values(0), None);
    }

    #[test]
    fn the_list_gives_sizes_where_known() {
        assert_eq!(
            describe(&item(Area::Files, EXPORT_DIR, Some(12_345_678))),
            "exported clips waiting to be downloaded — 12.3 MB"
        );
        assert_eq!(
            describe(&item(Area::Databases, "probe", None)),
            "the database “probe”"
        );
        assert_eq!(
            inventory_text(&[], Some(0)),
            "Nothing of Reelsmith is stored in this browser."
        );
        let items = [
            item(Area::Files, PROJECTS_DIR, Some(2_000)),
            item(Area::Caches, "reelsmith-model-whisper-tiny.en", None),
        ];
        assert_eq!(
            inventory_text(&items, Some(61_500_000)),
            "Stored in this browser: 2 items, 61.5 MB in all."
        );
        assert_eq!(
            inventory_text(&items[..1], None),
            "Stored in this browser: 1 item."
        );
    }

    #[test]
    fn a_complete_deletion_says_what_went() {
        let deletion = Deletion {
            deleted: vec![
                item(Area::Files, PROJECTS_DIR, None),
                item(Area::Files, EXPORT_DIR, None),
                item(Area::Caches, "reelsmith-model-whisper-tiny.en", None),
            ],
            ..Deletion::default()
        };
        assert!(deletion.is_complete());
        assert_eq!(
            deletion.message(),
            "Deleted from this browser: your projects (saved as you edit, with small pictures of \
             their videos), exported clips waiting to be downloaded and the speech model \
             “whisper-tiny.en”. Nothing of Reelsmith is stored here now."
        );
        assert_eq!(
            Deletion::default().message(),
            "There was nothing of Reelsmith stored in this browser."
        );
    }

    #[test]
    fn an_incomplete_deletion_says_what_stayed_and_what_to_do() {
        let stuck = item(Area::Files, EXPORT_DIR, None);
        let deletion = Deletion {
            deleted: vec![item(Area::Files, PROJECTS_DIR, None)],
            failed: vec![(stuck.clone(), "it is in use".to_string())],
            // Enumerated again: the stuck folder (named once) and a database another tab made.
            left: vec![stuck, item(Area::Databases, "probe", None)],
        };
        assert!(!deletion.is_complete());
        assert_eq!(
            deletion.message(),
            "Deleted from this browser: your projects (saved as you edit, with small pictures of \
             their videos). Still stored: exported clips waiting to be downloaded (it is in use) \
             and the database “probe”. Close other Reelsmith tabs (they may be using it) and \
             delete again."
        );
        // Left over without an error (written again meanwhile) also counts as incomplete.
        let rewritten = Deletion {
            left: vec![item(Area::Files, PROJECTS_DIR, None)],
            ..Deletion::default()
        };
        assert!(!rewritten.is_complete());
        assert_eq!(
            rewritten.message(),
            "Nothing could be deleted. Still stored: your projects (saved as you edit, with small \
             pictures of their videos). Close other Reelsmith tabs (they may be using it) and \
             delete again."
        );
    }
}
