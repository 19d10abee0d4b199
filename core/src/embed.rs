//! The widget's message protocol, in one place for the embedded editor and its tests: what a
//! partner page (through the relay's `embed.js`) may ask the editor in its iframe, what the
//! editor tells the partner, and the origin rules that decide who may talk to whom.
//!
//! Every message is a plain object `{ v: 1, type, id?, … }`. Commands carry an `id` chosen by
//! the partner; the editor answers each with `done` or `error` carrying the same `id`. Events
//! (`ready`, `transcript-ready`, `clip-exported`, `publish-done`, and `error` without an id)
//! come unasked. Files travel beside the JSON-able part as `Blob`s (structured clone), which
//! is why this module sees only their presence, never their bytes.
//!
//! The editor learns its partner's origin from the `parent` query parameter of its own URL
//! (`/embed?parent=<origin>`). The relay serves that page only when `parent` is on its list,
//! with `frame-ancestors <parent>`, so the browser itself guarantees that every ancestor — the
//! parent included — has that origin; [`partner_origin`] checks the rest on the editor's side.

use serde::{Deserialize, Serialize};

/// The version in every message's `v`; a message with another is refused, not guessed at.
pub const EMBED_PROTOCOL_VERSION: u32 = 1;

/// Where the relay serves the embeddable editor.
pub const EMBED_PATH: &str = "/embed";

/// The query parameter naming the partner's origin.
pub const PARENT_PARAM: &str = "parent";

/// The clip lengths the suggestions can aim at (as the editor's own field allows).
pub const TARGET_SECS_RANGE: std::ops::RangeInclusive<f64> = 15.0..=90.0;

/// Whether `text` is an origin exactly as browsers write `location.origin` and
/// `MessageEvent.origin`: `http` or `https`, a lowercase host, a port only when it is not the
/// scheme's default, and nothing after it. Exact comparison with `event.origin` is only sound
/// against such a string; `*` or `/` (special targets of `postMessage`) are never origins.
pub fn is_origin(text: &str) -> bool {
    let (scheme, rest) = match text.split_once("://") {
        Some(("http", rest)) => ("http", rest),
        Some(("https", rest)) => ("https", rest),
        _ => return false,
    };
    let port = if let Some(v6) = rest.strip_prefix('[') {
        let Some((inside, after)) = v6.split_once(']') else {
            return false;
        };
        let ok = !inside.is_empty()
            && inside
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == ':' || c == '.');
        if !ok {
            return false;
        }
        match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return false,
            },
        }
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let ok = !host.is_empty()
            && !host.starts_with('.')
            && !host.ends_with('.')
            && !host.contains("..")
            && host
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !ok {
            return false;
        }
        port
    };
    match port {
        None => true,
        Some(port) => {
            let canonical = !port.is_empty()
                && port.len() <= 5
                && port.chars().all(|c| c.is_ascii_digit())
                && !port.starts_with('0');
            let default = match scheme {
                "http" => "80",
                _ => "443",
            };
            canonical && port.parse::<u32>().is_ok_and(|p| p <= 65535) && port != default
        }
    }
}

/// Why the embedded editor will not talk to its parent; the text is shown in the editor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "This is the embeddable editor: it works inside a partner's page, which loads it with \
         embed.js. Open the editor at / to use it on its own."
    )]
    NotFramed,
    #[error(
        "The page embedding the editor did not give its origin (the `parent` parameter). \
         Embed the editor with the relay's embed.js."
    )]
    NoParent,
    #[error("`{0}` is not an origin (scheme://host[:port]); the editor will not talk to it.")]
    BadParent(String),
    #[error(
        "The editor was told its page is {parent} but it is framed by {ancestor}; it will not \
         talk to either."
    )]
    WrongAncestor { parent: String, ancestor: String },
}

/// The partner's origin, the only one the editor accepts messages from and posts to.
/// `framed`: the editor has a parent window. `ancestor`: the browser's own word on the
/// parent's origin where it gives one (`location.ancestorOrigins[0]`, `"null"` when masked).
pub fn partner_origin(
    parent_param: Option<&str>,
    framed: bool,
    ancestor: Option<&str>,
) -> Result<String, Refusal> {
    if !framed {
        return Err(Refusal::NotFramed);
    }
    let parent = parent_param.ok_or(Refusal::NoParent)?;
    if !is_origin(parent) {
        return Err(Refusal::BadParent(parent.to_string()));
    }
    match ancestor {
        Some(a) if a != "null" && a != parent => Err(Refusal::WrongAncestor {
            parent: parent.to_string(),
            ancestor: a.to_string(),
        }),
        _ => Ok(parent.to_string()),
    }
}

/// The editor's light or dark look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// What a video is opened from.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenSource {
    /// A `File` or `Blob` sent as the message's `file`; `name` names a bare Blob.
    File { name: Option<String> },
    /// An `http(s)` URL the editor fetches (the server must allow it with CORS).
    Url(String),
}

/// A partner's request.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Open(OpenSource),
    SetTheme(Theme),
    /// The suggestions' target length, in seconds.
    SetTargetLength(f64),
    /// The caption template of the selected clip (or of the next clip selected).
    SetTemplate(String),
}

/// A valid command and the id to answer it with.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub id: Option<u64>,
    pub command: Command,
}

/// What went wrong, as a stable code for the partner's program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    BadMessage,
    UnsupportedVersion,
    UnknownCommand,
    BadValue,
    OpenFailed,
    TranscriptionFailed,
    ExportFailed,
    /// Something else the editor shows as an error (e.g. a video it cannot decode further).
    Editor,
}

/// A refused command: answered with an `error` carrying its id when it had one.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Option<u64>,
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Deserialize)]
struct Header {
    v: Option<serde_json::Value>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Raw {
    Open {
        #[serde(default)]
        file: Option<serde_json::Value>,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        name: Option<String>,
    },
    SetTheme {
        theme: Theme,
    },
    SetTargetLength {
        secs: f64,
    },
    SetTemplate {
        template: String,
    },
}

/// Reads a partner's message (its JSON form: a `Blob` there serialises as `{}`). `templates`
/// are the template ids the editor offers.
pub fn parse_command(json: &str, templates: &[&str]) -> Result<Incoming, Rejected> {
    let reject = |id, code, message: String| Rejected { id, code, message };
    let header: Header = serde_json::from_str(json).map_err(|_| {
        reject(
            None,
            ErrorCode::BadMessage,
            "A message to the editor must be an object { v: 1, type, id?, … }.".into(),
        )
    })?;
    let id = header.id;
    if header.v != Some(serde_json::Value::from(EMBED_PROTOCOL_VERSION)) {
        return Err(reject(
            id,
            ErrorCode::UnsupportedVersion,
            format!(
                "The editor speaks version {EMBED_PROTOCOL_VERSION} of the embed protocol; \
                 load embed.js from the same relay as the editor."
            ),
        ));
    }
    let Some(kind) = header.kind else {
        return Err(reject(
            id,
            ErrorCode::BadMessage,
            "The message has no `type`.".into(),
        ));
    };
    const KNOWN: [&str; 4] = ["open", "set-theme", "set-target-length", "set-template"];
    if !KNOWN.contains(&kind.as_str()) {
        return Err(reject(
            id,
            ErrorCode::UnknownCommand,
            format!(
                "Unknown command `{kind}`; the editor knows {}.",
                KNOWN.join(", ")
            ),
        ));
    }
    let raw: Raw = serde_json::from_str(json)
        .map_err(|e| reject(id, ErrorCode::BadValue, format!("`{kind}`: {e}")))?;
    let command = match raw {
        Raw::Open { file, url, name } => match (file, url) {
            (Some(_), None) => Command::Open(OpenSource::File { name }),
            (None, Some(url)) if url.starts_with("https://") || url.starts_with("http://") => {
                Command::Open(OpenSource::Url(url))
            }
            (None, Some(url)) => {
                return Err(reject(
                    id,
                    ErrorCode::BadValue,
                    format!("`open`: {url:?} is not an http(s) URL; send a Blob for other data."),
                ))
            }
            _ => {
                return Err(reject(
                    id,
                    ErrorCode::BadValue,
                    "`open` takes either `file` (a File or Blob) or `url`.".into(),
                ))
            }
        },
        Raw::SetTheme { theme } => Command::SetTheme(theme),
        Raw::SetTargetLength { secs } if TARGET_SECS_RANGE.contains(&secs) => {
            Command::SetTargetLength(secs)
        }
        Raw::SetTargetLength { secs } => {
            return Err(reject(
                id,
                ErrorCode::BadValue,
                format!(
                    "`set-target-length`: {secs} s is outside {}–{} s.",
                    TARGET_SECS_RANGE.start(),
                    TARGET_SECS_RANGE.end()
                ),
            ))
        }
        Raw::SetTemplate { template }
            if template == "none" || templates.contains(&template.as_str()) =>
        {
            Command::SetTemplate(template)
        }
        Raw::SetTemplate { template } => {
            return Err(reject(
                id,
                ErrorCode::BadValue,
                format!(
                    "`set-template`: no template `{template}`; there are {} and none.",
                    templates.join(", ")
                ),
            ))
        }
    };
    Ok(Incoming { id, command })
}

/// What the editor tells the partner. A `clip-exported` message also carries the file as
/// `blob`, added beside this by the editor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Event {
    /// The editor listens. Sent once, first.
    Ready {
        cross_origin_isolated: bool,
        templates: Vec<String>,
    },
    /// The command with this id is carried out (`open`: the video is open).
    Done { id: u64 },
    /// A command failed (`id` set) or something went wrong on its own (no `id`).
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        code: ErrorCode,
        message: String,
    },
    /// The open video's transcript is complete.
    TranscriptReady {
        duration_secs: f64,
        word_count: usize,
        text: String,
    },
    /// An export finished; the file is the message's `blob`.
    ClipExported {
        name: String,
        mime: String,
        bytes: u64,
        duration_secs: f64,
    },
    /// The Publish dialog finished sending the clip; `message` is what it told the user.
    PublishDone { message: String },
}

#[derive(Serialize)]
struct Outgoing<'a> {
    v: u32,
    #[serde(flatten)]
    event: &'a Event,
}

impl Event {
    /// The message as JSON, `v` included.
    pub fn to_json(&self) -> String {
        let outgoing = Outgoing {
            v: EMBED_PROTOCOL_VERSION,
            event: self,
        };
        // Only strings, numbers and booleans inside: serialising cannot fail.
        serde_json::to_string(&outgoing).unwrap_or_default()
    }

    pub fn error(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Self {
        Event::Error {
            id,
            code,
            message: message.into(),
        }
    }
}

impl From<Rejected> for Event {
    fn from(r: Rejected) -> Self {
        Event::Error {
            id: r.id,
            code: r.code,
            message: r.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATES: [&str; 2] = ["karaoke", "boxed"];

    fn parse(json: &str) -> Result<Incoming, Rejected> {
        parse_command(json, &TEMPLATES)
    }

    #[test]
    fn origins_are_taken_only_in_the_browsers_exact_form() {
        for ok in [
            "https://partner.example",
            "http://127.0.0.1:41234",
            "http://localhost:3000",
            "https://a-b.c.example:8443",
            "http://[::1]:8080",
            "https://[2001:db8::1]",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "*",
            "/",
            "null",
            "",
            "partner.example",
            "https://partner.example/",
            "https://partner.example/path",
            "https://Partner.example",
            "https://partner.example:443",
            "http://partner.example:80",
            "https://partner.example:",
            "https://partner.example:0443",
            "https://partner.example:99999",
            "https://partner.example?x=1",
            "https://user@partner.example",
            "ftp://partner.example",
            "javascript://partner.example",
            "https://",
            "https://.example",
            "https://a..example",
            "http://[::1",
            "http://[::1]x",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn the_partner_is_the_parent_named_in_the_url_when_the_browser_agrees() {
        let p = "http://127.0.0.1:5000";
        assert_eq!(partner_origin(Some(p), true, None), Ok(p.to_string()));
        assert_eq!(partner_origin(Some(p), true, Some(p)), Ok(p.to_string()));
        // A masked ancestor (referrerpolicy=no-referrer on the iframe) says nothing.
        assert_eq!(
            partner_origin(Some(p), true, Some("null")),
            Ok(p.to_string())
        );
        assert_eq!(
            partner_origin(Some(p), false, None),
            Err(Refusal::NotFramed)
        );
        assert_eq!(partner_origin(None, true, None), Err(Refusal::NoParent));
        assert_eq!(
            partner_origin(Some("*"), true, None),
            Err(Refusal::BadParent("*".into()))
        );
        assert!(matches!(
            partner_origin(Some(p), true, Some("http://evil.example")),
            Err(Refusal::WrongAncestor { .. })
        ));
    }

    #[test]
    fn commands_are_read_with_their_ids() {
        assert_eq!(
            parse(r#"{"v":1,"type":"open","id":7,"file":{},"name":"talk.mp4"}"#),
            Ok(Incoming {
                id: Some(7),
                command: Command::Open(OpenSource::File {
                    name: Some("talk.mp4".into())
                })
            })
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"open","id":8,"url":"https://cdn.example/a.mp4"}"#)
                .map(|i| i.command),
            Ok(Command::Open(OpenSource::Url(
                "https://cdn.example/a.mp4".into()
            )))
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"set-theme","id":1,"theme":"light"}"#).map(|i| i.command),
            Ok(Command::SetTheme(Theme::Light))
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"set-target-length","secs":20}"#),
            Ok(Incoming {
                id: None,
                command: Command::SetTargetLength(20.0)
            })
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"set-template","id":2,"template":"boxed"}"#).map(|i| i.command),
            Ok(Command::SetTemplate("boxed".into()))
        );
        assert_eq!(
            parse(r#"{"v":1,"type":"set-template","id":2,"template":"none"}"#).map(|i| i.command),
            Ok(Command::SetTemplate("none".into()))
        );
    }

    #[test]
    fn bad_commands_are_refused_with_a_reason_and_their_id() {
        let code = |json: &str| parse(json).err().map(|r| (r.id, r.code));
        assert_eq!(code("[1,2]"), Some((None, ErrorCode::BadMessage)));
        assert_eq!(code("\"open\""), Some((None, ErrorCode::BadMessage)));
        assert_eq!(
            code(r#"{"type":"open","id":3,"file":{}}"#),
            Some((Some(3), ErrorCode::UnsupportedVersion))
        );
        assert_eq!(
            code(r#"{"v":2,"type":"open","id":3,"file":{}}"#),
            Some((Some(3), ErrorCode::UnsupportedVersion))
        );
        assert_eq!(
            code(r#"{"v":"1","type":"open","id":3,"file":{}}"#),
            Some((Some(3), ErrorCode::UnsupportedVersion))
        );
        assert_eq!(
            code(r#"{"v":1,"id":4}"#),
            Some((Some(4), ErrorCode::BadMessage))
        );
        assert_eq!(
            code(r#"{"v":1,"type":"delete-everything","id":5}"#),
            Some((Some(5), ErrorCode::UnknownCommand))
        );
        for json in [
            r#"{"v":1,"type":"open","id":6}"#,
            r#"{"v":1,"type":"open","id":6,"file":{},"url":"https://a.example/x"}"#,
            r#"{"v":1,"type":"open","id":6,"url":"file:///etc/passwd"}"#,
            r#"{"v":1,"type":"open","id":6,"url":"blob:https://a.example/1"}"#,
            r#"{"v":1,"type":"set-theme","id":6,"theme":"pink"}"#,
            r#"{"v":1,"type":"set-target-length","id":6,"secs":5}"#,
            r#"{"v":1,"type":"set-target-length","id":6,"secs":"30"}"#,
            r#"{"v":1,"type":"set-template","id":6,"template":"comic-sans"}"#,
        ] {
            assert_eq!(code(json), Some((Some(6), ErrorCode::BadValue)), "{json}");
        }
        let message = parse(r#"{"v":1,"type":"set-target-length","id":6,"secs":5}"#)
            .err()
            .map(|r| r.message);
        assert_eq!(
            message.as_deref(),
            Some("`set-target-length`: 5 s is outside 15–90 s.")
        );
    }

    #[test]
    fn events_are_versioned_objects() {
        let json = |e: Event| serde_json::from_str::<serde_json::Value>(&e.to_json()).unwrap();
        assert_eq!(
            json(Event::Ready {
                cross_origin_isolated: false,
                templates: vec!["karaoke".into()]
            }),
            serde_json::json!({"v":1,"type":"ready","cross_origin_isolated":false,"templates":["karaoke"]})
        );
        assert_eq!(
            json(Event::Done { id: 9 }),
            serde_json::json!({"v":1,"type":"done","id":9})
        );
        assert_eq!(
            json(Event::error(None, ErrorCode::OpenFailed, "no")),
            serde_json::json!({"v":1,"type":"error","code":"open-failed","message":"no"})
        );
        assert_eq!(
            json(Event::ClipExported {
                name: "a.mp4".into(),
                mime: "video/mp4".into(),
                bytes: 10,
                duration_secs: 1.5
            }),
            serde_json::json!({"v":1,"type":"clip-exported","name":"a.mp4","mime":"video/mp4","bytes":10,"duration_secs":1.5})
        );
        assert_eq!(
            json(Event::from(Rejected {
                id: Some(3),
                code: ErrorCode::BadValue,
                message: "m".into()
            })),
            serde_json::json!({"v":1,"type":"error","id":3,"code":"bad-value","message":"m"})
        );
    }
}
