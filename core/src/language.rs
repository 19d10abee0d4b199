//! The languages Whisper's multilingual models speak and what the editor can show of them:
//! each language's code (the model's `<|code|>` token), its English name, and the script it
//! is written in, which says whether the bundled caption fonts (Inter, Anton) can draw it.
//! Also the decoding task (write down what is said, or translate it into English).

use serde::{Deserialize, Serialize};

/// Whisper's task, chosen by a token after the language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Task {
    /// Write down what is said, in the language it is said in.
    #[default]
    Transcribe,
    /// Write English for what is said in any language.
    Translate,
}

/// How a language is written, as far as the caption fonts are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Greek,
    Cyrillic,
    /// Another script, by name (Arabic, Devanagari, Han …): the caption fonts lack it.
    Other(&'static str),
}

impl Script {
    /// Whether the bundled caption fonts have its letters (Inter: Latin, Greek and Cyrillic).
    pub fn in_caption_fonts(self) -> bool {
        !matches!(self, Script::Other(_))
    }

    pub fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Greek => "Greek",
            Script::Cyrillic => "Cyrillic",
            Script::Other(name) => name,
        }
    }
}

/// One language of the multilingual models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    pub code: &'static str,
    pub name: &'static str,
    pub script: Script,
}

const fn lang(code: &'static str, name: &'static str, script: Script) -> Language {
    Language { code, name, script }
}

use Script::{Cyrillic, Greek, Latin, Other};

/// Whisper's 99 languages in the order of their tokens (`<|en|>` is the first after
/// `<|startoftranscript|>`).
pub const LANGUAGES: [Language; 99] = [
    lang("en", "English", Latin),
    lang("zh", "Chinese", Other("Han")),
    lang("de", "German", Latin),
    lang("es", "Spanish", Latin),
    lang("ru", "Russian", Cyrillic),
    lang("ko", "Korean", Other("Hangul")),
    lang("fr", "French", Latin),
    lang("ja", "Japanese", Other("Japanese")),
    lang("pt", "Portuguese", Latin),
    lang("tr", "Turkish", Latin),
    lang("pl", "Polish", Latin),
    lang("ca", "Catalan", Latin),
    lang("nl", "Dutch", Latin),
    lang("ar", "Arabic", Other("Arabic")),
    lang("sv", "Swedish", Latin),
    lang("it", "Italian", Latin),
    lang("id", "Indonesian", Latin),
    lang("hi", "Hindi", Other("Devanagari")),
    lang("fi", "Finnish", Latin),
    lang("vi", "Vietnamese", Latin),
    lang("he", "Hebrew", Other("Hebrew")),
    lang("uk", "Ukrainian", Cyrillic),
    lang("el", "Greek", Greek),
    lang("ms", "Malay", Latin),
    lang("cs", "Czech", Latin),
    lang("ro", "Romanian", Latin),
    lang("da", "Danish", Latin),
    lang("hu", "Hungarian", Latin),
    lang("ta", "Tamil", Other("Tamil")),
    lang("no", "Norwegian", Latin),
    lang("th", "Thai", Other("Thai")),
    lang("ur", "Urdu", Other("Arabic")),
    lang("hr", "Croatian", Latin),
    lang("bg", "Bulgarian", Cyrillic),
    lang("lt", "Lithuanian", Latin),
    lang("la", "Latin", Latin),
    lang("mi", "Maori", Latin),
    lang("ml", "Malayalam", Other("Malayalam")),
    lang("cy", "Welsh", Latin),
    lang("sk", "Slovak", Latin),
    lang("te", "Telugu", Other("Telugu")),
    lang("fa", "Persian", Other("Arabic")),
    lang("lv", "Latvian", Latin),
    lang("bn", "Bengali", Other("Bengali")),
    lang("sr", "Serbian", Cyrillic),
    lang("az", "Azerbaijani", Latin),
    lang("sl", "Slovenian", Latin),
    lang("kn", "Kannada", Other("Kannada")),
    lang("et", "Estonian", Latin),
    lang("mk", "Macedonian", Cyrillic),
    lang("br", "Breton", Latin),
    lang("eu", "Basque", Latin),
    lang("is", "Icelandic", Latin),
    lang("hy", "Armenian", Other("Armenian")),
    lang("ne", "Nepali", Other("Devanagari")),
    lang("mn", "Mongolian", Cyrillic),
    lang("bs", "Bosnian", Latin),
    lang("kk", "Kazakh", Cyrillic),
    lang("sq", "Albanian", Latin),
    lang("sw", "Swahili", Latin),
    lang("gl", "Galician", Latin),
    lang("mr", "Marathi", Other("Devanagari")),
    lang("pa", "Punjabi", Other("Gurmukhi")),
    lang("si", "Sinhala", Other("Sinhala")),
    lang("km", "Khmer", Other("Khmer")),
    lang("sn", "Shona", Latin),
    lang("yo", "Yoruba", Latin),
    lang("so", "Somali", Latin),
    lang("af", "Afrikaans", Latin),
    lang("oc", "Occitan", Latin),
    lang("ka", "Georgian", Other("Georgian")),
    lang("be", "Belarusian", Cyrillic),
    lang("tg", "Tajik", Cyrillic),
    lang("sd", "Sindhi", Other("Arabic")),
    lang("gu", "Gujarati", Other("Gujarati")),
    lang("am", "Amharic", Other("Ethiopic")),
    lang("yi", "Yiddish", Other("Hebrew")),
    lang("lo", "Lao", Other("Lao")),
    lang("uz", "Uzbek", Latin),
    lang("fo", "Faroese", Latin),
    lang("ht", "Haitian Creole", Latin),
    lang("ps", "Pashto", Other("Arabic")),
    lang("tk", "Turkmen", Latin),
    lang("nn", "Nynorsk", Latin),
    lang("mt", "Maltese", Latin),
    lang("sa", "Sanskrit", Other("Devanagari")),
    lang("lb", "Luxembourgish", Latin),
    lang("my", "Myanmar", Other("Myanmar")),
    lang("bo", "Tibetan", Other("Tibetan")),
    lang("tl", "Tagalog", Latin),
    lang("mg", "Malagasy", Latin),
    lang("as", "Assamese", Other("Bengali")),
    lang("tt", "Tatar", Cyrillic),
    lang("haw", "Hawaiian", Latin),
    lang("ln", "Lingala", Latin),
    lang("ha", "Hausa", Latin),
    lang("ba", "Bashkir", Cyrillic),
    lang("jw", "Javanese", Latin),
    lang("su", "Sundanese", Latin),
];

/// The language with this code, if Whisper has it.
pub fn language(code: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.code == code)
}

/// The language's English name, or the code itself when it is not one of Whisper's.
pub fn language_name(code: &str) -> &str {
    language(code).map_or(code, |l| l.name)
}

/// The languages by name, as a picker lists them.
pub fn by_name() -> Vec<&'static Language> {
    let mut list: Vec<_> = LANGUAGES.iter().collect();
    list.sort_by_key(|l| l.name);
    list
}

/// What the transcript says of its language: "Spanish (detected)", "German",
/// "Spanish, translated into English"; `None` when the model decoded no language (an
/// English-only model).
pub fn describe(decoded: Option<&str>, chosen: Option<&str>, task: Task) -> Option<String> {
    let code = decoded?;
    let name = language_name(code);
    Some(match (task, chosen.is_some()) {
        (Task::Translate, false) => format!("{name} (detected), translated into English"),
        (Task::Translate, true) => format!("{name}, translated into English"),
        (Task::Transcribe, false) => format!("{name} (detected)"),
        (Task::Transcribe, true) => name.to_string(),
    })
}

/// A warning when the captions' fonts cannot draw the language's script (`None` when they
/// can, or when the text is English because it was translated).
pub fn caption_font_warning(code: &str, task: Task) -> Option<String> {
    if task == Task::Translate {
        return None;
    }
    let language = language(code)?;
    (!language.script.in_caption_fonts()).then(|| {
        format!(
            "The caption fonts have no {} letters: {} captions are drawn in the browser's own font, and subtitle files are unaffected.",
            language.script.name(),
            language.name
        )
    })
}

/// The speech model and decoding the user chose, kept in the browser between visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechChoice {
    /// The model's folder name on the server (`whisper-base`, `whisper-tiny.en`).
    pub model: String,
    /// Whether the user picked the model (else it is the device's default, which follows
    /// what the device measures). A choice kept before this existed named its model.
    #[serde(default = "named_model")]
    pub model_chosen: bool,
    /// A language code; `None` lets the model detect the language.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub task: Task,
    /// Words to know: names, brands and jargon the model is told to expect.
    #[serde(default)]
    pub words: String,
}

fn named_model() -> bool {
    true
}

/// The longest list of words to know kept, in characters (as the text box counts them; the
/// model reads at most its first 223 tokens).
pub const MAX_WORDS_CHARS: usize = 600;

impl SpeechChoice {
    /// The defaults with `model` as the device's default (not chosen by the user).
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            model_chosen: false,
            language: None,
            task: Task::Transcribe,
            words: String::new(),
        }
    }

    /// The words to know as the decoder's prompt: on one line, separated by ", " (however
    /// they were typed: one per line, or with commas), at most [`MAX_WORDS_CHARS`]; `None`
    /// when there are none.
    pub fn prompt(&self) -> Option<String> {
        let words: Vec<&str> = self
            .words
            .split([',', '\n', ';'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        let prompt: String = words.join(", ").chars().take(MAX_WORDS_CHARS).collect();
        (!prompt.is_empty()).then_some(prompt)
    }

    /// Whether a model knows English only (Whisper's `*.en` models): it is asked for no
    /// language and cannot translate.
    pub fn english_only(model: &str) -> bool {
        model.ends_with(".en")
    }

    /// The language and task to ask the model for: none for an English-only model; a code
    /// Whisper does not have is dropped (detection instead).
    pub fn decoding(&self) -> (Option<String>, Task) {
        if Self::english_only(&self.model) {
            return (None, Task::Transcribe);
        }
        let language = self.language.clone().filter(|c| language(c).is_some());
        (language, self.task)
    }

    /// The choice kept as JSON, or `None` when it is missing or unreadable (the defaults
    /// apply then).
    pub fn parse(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn words_to_know_become_one_line_of_a_bounded_length() {
        let mut choice = SpeechChoice::new("whisper-base");
        assert_eq!(choice.prompt(), None);
        choice.words = " , \n ".into();
        assert_eq!(choice.prompt(), None);
        choice.words = "Reelsmith\n  Kestrel Dyne ,TikTok;;".into();
        assert_eq!(
            choice.prompt().as_deref(),
            Some("Reelsmith, Kestrel Dyne, TikTok")
        );
        // Counted in characters, as the text box counts them: 600 Cyrillic letters are kept.
        choice.words = "ж".repeat(MAX_WORDS_CHARS + 10);
        let prompt = choice.prompt().unwrap();
        assert_eq!(prompt.chars().count(), MAX_WORDS_CHARS);
        // Kept with the rest of the choice; a choice stored before words existed reads.
        choice.words = "Reelsmith".into();
        assert_eq!(SpeechChoice::parse(&choice.to_json()), Some(choice));
        let old = SpeechChoice::parse(r#"{"model":"whisper-base"}"#).unwrap();
        assert_eq!(old.words, "");
        // A choice kept before `model_chosen` existed named its model: it stays the choice.
        assert!(old.model_chosen);
        // The defaults are not the user's choice of model.
        assert!(!SpeechChoice::new("whisper-tiny.en").model_chosen);
    }

    #[test]
    fn ninety_nine_languages_each_once_english_first() {
        let codes: BTreeSet<_> = LANGUAGES.iter().map(|l| l.code).collect();
        assert_eq!(codes.len(), 99);
        let names: BTreeSet<_> = LANGUAGES.iter().map(|l| l.name).collect();
        assert_eq!(names.len(), 99);
        assert_eq!(LANGUAGES[0].code, "en");
        assert_eq!(LANGUAGES[98].code, "su");
    }

    #[test]
    fn names_and_scripts() {
        assert_eq!(language_name("es"), "Spanish");
        assert_eq!(language_name("haw"), "Hawaiian");
        assert_eq!(language_name("xx"), "xx");
        assert_eq!(language("ru").unwrap().script, Script::Cyrillic);
        assert_eq!(language("el").unwrap().script, Script::Greek);
        assert!(language("de").unwrap().script.in_caption_fonts());
        assert!(!language("hi").unwrap().script.in_caption_fonts());
    }

    #[test]
    fn the_picker_lists_by_name() {
        let list = by_name();
        assert_eq!(list.len(), 99);
        assert_eq!(list[0].name, "Afrikaans");
        assert!(list.windows(2).all(|w| w[0].name < w[1].name));
    }

    #[test]
    fn the_transcript_says_what_it_is_in() {
        assert_eq!(describe(None, None, Task::Transcribe), None);
        assert_eq!(
            describe(Some("es"), None, Task::Transcribe).unwrap(),
            "Spanish (detected)"
        );
        assert_eq!(
            describe(Some("de"), Some("de"), Task::Transcribe).unwrap(),
            "German"
        );
        assert_eq!(
            describe(Some("es"), None, Task::Translate).unwrap(),
            "Spanish (detected), translated into English"
        );
    }

    #[test]
    fn scripts_without_caption_letters_are_named() {
        assert_eq!(caption_font_warning("es", Task::Transcribe), None);
        assert_eq!(caption_font_warning("ru", Task::Transcribe), None);
        assert_eq!(caption_font_warning("hi", Task::Translate), None);
        let warning = caption_font_warning("hi", Task::Transcribe).unwrap();
        assert!(
            warning.contains("Devanagari") && warning.contains("Hindi"),
            "{warning}"
        );
    }

    #[test]
    fn an_english_only_model_is_asked_for_no_language_or_translation() {
        let mut choice = SpeechChoice::new("whisper-tiny.en");
        choice.language = Some("es".into());
        choice.task = Task::Translate;
        assert_eq!(choice.decoding(), (None, Task::Transcribe));
        choice.model = "whisper-base".into();
        assert_eq!(choice.decoding(), (Some("es".into()), Task::Translate));
        choice.language = Some("xx".into());
        assert_eq!(choice.decoding(), (None, Task::Translate));
    }

    #[test]
    fn the_choice_survives_storage_and_bad_storage_gives_none() {
        let mut choice = SpeechChoice::new("whisper-base");
        choice.language = Some("de".into());
        choice.task = Task::Translate;
        assert_eq!(SpeechChoice::parse(&choice.to_json()), Some(choice));
        // A choice kept before `model_chosen` existed: the model it names was chosen.
        assert_eq!(
            SpeechChoice::parse(r#"{"model":"whisper-base"}"#),
            Some(SpeechChoice {
                model_chosen: true,
                ..SpeechChoice::new("whisper-base")
            })
        );
        assert_eq!(SpeechChoice::parse("{not json"), None);
        assert_eq!(SpeechChoice::parse(r#"{"language":"de"}"#), None);
    }
}
