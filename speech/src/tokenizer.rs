//! Whisper's tokenizer, decoding side: GPT-2 byte-level BPE tokens back to text, Whisper's
//! special and timestamp tokens, and the split of a token sequence into words that word timing
//! needs (openai/whisper `whisper/tokenizer.py`).
//!
//! The vocabulary is a `vocabulary.txt` with one token per line, the line index being the token
//! id, each text token written in GPT-2's byte-to-unicode alphabet (`bytes_to_unicode`: a space
//! is `Ġ`, a newline `Ċ`), followed by the special tokens by name (`<|endoftext|>`,
//! `<|startoftranscript|>`, languages, tasks, `<|notimestamps|>`, …). Timestamp tokens
//! `<|0.00|>` … `<|30.00|>` follow `<|notimestamps|>` in 0.02 s steps whether or not the file
//! lists them. Encoding text ([`Tokenizer::encode`], for a prompt of words to know) needs no
//! merge list: Whisper's tiktoken ranks a merge by the id of the token it makes, so the ids
//! in this file are the ranks.

use std::ops::Range;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Seconds between consecutive timestamp tokens.
pub const TIMESTAMP_STEP_SECS: f64 = 0.02;
/// Timestamp tokens `<|0.00|>` to `<|30.00|>`.
pub const N_TIMESTAMPS: u32 = 1_501;
/// The multilingual models' vocabulary size, timestamps included.
pub const MULTILINGUAL_VOCAB_SIZE: usize = 51_865;
/// The multilingual vocabulary's last text token, which decodes to nothing.
const MULTILINGUAL_EMPTY_TOKEN: usize = 50_256;

/// Why a vocabulary could not be loaded or tokens not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizerError {
    #[error("The vocabulary has no {0} token, so it is not a Whisper vocabulary. Re-create vocabulary.txt from the model with the model preparation script.")]
    MissingSpecial(&'static str),
    #[error("Line {line} of the vocabulary ({text:?}) is not a GPT-2 byte-level token. Re-create vocabulary.txt from the model with the model preparation script.")]
    BadLine { line: usize, text: String },
    #[error("Token {id} is outside the vocabulary ({size} tokens): the model and its vocabulary.txt do not belong together. Prepare them again from the same model.")]
    UnknownId { id: u32, size: usize },
    #[error("This model has no token for the language {0:?}. Pick another language, or let the model detect it.")]
    UnknownLanguage(String),
    #[error(
        "This model cannot {0} (its vocabulary has no such task token). Use a multilingual model."
    )]
    UnsupportedTask(&'static str),
}

/// What a token id stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token<'a> {
    /// Bytes of text (a piece of UTF-8, possibly not a whole character).
    Text(&'a [u8]),
    EndOfText,
    StartOfTranscript,
    /// A language tag such as `en` or `haw`.
    Language(&'a str),
    Translate,
    Transcribe,
    StartOfLm,
    StartOfPrev,
    /// `<|nospeech|>` (`<|nocaptions|>` in English-only vocabularies).
    NoSpeech,
    NoTimestamps,
    /// A time within the 30-second window.
    Timestamp {
        secs: f64,
    },
    /// Any other `<|…|>` token, by its full name.
    OtherSpecial(&'a str),
}

/// Ids of Whisper's special tokens in one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `<|endoftext|>`; every id below it is text.
    pub end_of_text: u32,
    pub start_of_transcript: u32,
    pub translate: Option<u32>,
    pub transcribe: Option<u32>,
    pub start_of_lm: Option<u32>,
    pub start_of_prev: Option<u32>,
    pub no_speech: Option<u32>,
    pub no_timestamps: u32,
    /// `<|0.00|>`, the first timestamp token: `<|notimestamps|>` + 1.
    pub timestamp_begin: u32,
}

/// Whisper's task, chosen by a token after the language (defined with the app's protocol).
pub use reelsmith_core::language::Task;

/// A word (Whisper's notion: a piece of text starting with a space or punctuation) and the
/// range of token positions it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordTokens {
    pub text: String,
    /// Positions in the token slice that was split.
    pub tokens: Range<usize>,
}

/// A Whisper vocabulary, ready to decode.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    /// Bytes of all text tokens, back to back; token `id` is `text_bytes[text_ends[id-1]..text_ends[id]]`.
    text_bytes: Vec<u8>,
    text_ends: Vec<usize>,
    /// Names of the special tokens from `<|endoftext|>` up to the last line of the file.
    special_names: Vec<String>,
    special: SpecialTokens,
    languages: Vec<(String, u32)>,
    size: usize,
}

impl Tokenizer {
    /// Loads a `vocabulary.txt` (see the module documentation).
    pub fn from_vocabulary(vocabulary: &str) -> Result<Self, TokenizerError> {
        let mut lines: Vec<&str> = vocabulary
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        let find = |name: &str| lines.iter().position(|&l| l == name).map(|i| i as u32);
        let end_of_text =
            find("<|endoftext|>").ok_or(TokenizerError::MissingSpecial("<|endoftext|>"))?;
        let start_of_transcript = find("<|startoftranscript|>")
            .ok_or(TokenizerError::MissingSpecial("<|startoftranscript|>"))?;
        let no_timestamps =
            find("<|notimestamps|>").ok_or(TokenizerError::MissingSpecial("<|notimestamps|>"))?;
        let special = SpecialTokens {
            end_of_text,
            start_of_transcript,
            translate: find("<|translate|>"),
            transcribe: find("<|transcribe|>"),
            start_of_lm: find("<|startoflm|>"),
            start_of_prev: find("<|startofprev|>"),
            no_speech: find("<|nospeech|>").or_else(|| find("<|nocaptions|>")),
            no_timestamps,
            timestamp_begin: no_timestamps + 1,
        };

        let decoder = unicode_to_byte_table();
        let mut text_bytes = Vec::new();
        let mut text_ends = Vec::with_capacity(end_of_text as usize);
        for (index, line) in lines[..end_of_text as usize].iter().enumerate() {
            let bad = || TokenizerError::BadLine {
                line: index + 1,
                text: (*line).to_owned(),
            };
            // The multilingual vocabulary's last text token is empty in the published
            // tokenizer; an empty line anywhere else means the file is damaged.
            let empty_allowed =
                index == MULTILINGUAL_EMPTY_TOKEN && index + 1 == end_of_text as usize;
            if line.is_empty() && !empty_allowed {
                return Err(bad());
            }
            for c in line.chars() {
                let byte = decoder(c).ok_or_else(bad)?;
                text_bytes.push(byte);
            }
            text_ends.push(text_bytes.len());
        }

        // Languages sit between <|startoftranscript|> and the task tokens.
        let languages_end = [special.translate, special.transcribe]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(start_of_transcript + 1);
        let languages = (start_of_transcript + 1..languages_end)
            .filter_map(|id| {
                let name = lines.get(id as usize)?;
                let code = name.strip_prefix("<|")?.strip_suffix("|>")?;
                Some((code.to_owned(), id))
            })
            .collect();

        let special_names = lines[end_of_text as usize..]
            .iter()
            .map(|l| (*l).to_owned())
            .collect();
        let size = lines
            .len()
            .max((special.timestamp_begin + N_TIMESTAMPS) as usize);
        Ok(Tokenizer {
            text_bytes,
            text_ends,
            special_names,
            special,
            languages,
            size,
        })
    }

    /// Number of token ids, timestamps included.
    pub fn vocab_size(&self) -> usize {
        self.size
    }

    /// Whisper's test for a multilingual model (`model.py` `is_multilingual`): its vocabulary
    /// has 51,865 ids or more, the English-only one 51,864.
    pub fn is_multilingual(&self) -> bool {
        self.size >= MULTILINGUAL_VOCAB_SIZE
    }

    pub fn special(&self) -> &SpecialTokens {
        &self.special
    }

    /// Language codes and their token ids, in the model's order.
    pub fn languages(&self) -> &[(String, u32)] {
        &self.languages
    }

    pub fn language_token(&self, code: &str) -> Option<u32> {
        self.languages
            .iter()
            .find(|(c, _)| c == code)
            .map(|&(_, id)| id)
    }

    /// The tokens that start decoding: `<|startoftranscript|>`, then the language and the task
    /// when given (English-only models take neither).
    pub fn sot_sequence(
        &self,
        language: Option<&str>,
        task: Option<Task>,
    ) -> Result<Vec<u32>, TokenizerError> {
        let mut sequence = vec![self.special.start_of_transcript];
        if let Some(code) = language {
            let id = self
                .language_token(code)
                .ok_or_else(|| TokenizerError::UnknownLanguage(code.to_owned()))?;
            sequence.push(id);
        }
        match task {
            None => {}
            Some(Task::Transcribe) => sequence.push(
                self.special
                    .transcribe
                    .ok_or(TokenizerError::UnsupportedTask("transcribe"))?,
            ),
            Some(Task::Translate) => sequence.push(
                self.special
                    .translate
                    .ok_or(TokenizerError::UnsupportedTask("translate"))?,
            ),
        }
        Ok(sequence)
    }

    pub fn is_timestamp(&self, id: u32) -> bool {
        id >= self.special.timestamp_begin && id < self.special.timestamp_begin + N_TIMESTAMPS
    }

    /// The time a timestamp token stands for.
    pub fn timestamp_secs(&self, id: u32) -> Option<f64> {
        self.is_timestamp(id)
            .then(|| f64::from(id - self.special.timestamp_begin) * TIMESTAMP_STEP_SECS)
    }

    /// The timestamp token nearest to `secs` (clamped to 0..=30 s).
    pub fn timestamp_token(&self, secs: f64) -> u32 {
        let step = (secs / TIMESTAMP_STEP_SECS).round();
        let step = if step.is_nan() {
            0
        } else {
            step.clamp(0.0, f64::from(N_TIMESTAMPS - 1)) as u32
        };
        self.special.timestamp_begin + step
    }

    /// What token `id` stands for.
    pub fn token(&self, id: u32) -> Result<Token<'_>, TokenizerError> {
        let special = &self.special;
        if id < special.end_of_text {
            let i = id as usize;
            let start = if i == 0 { 0 } else { self.text_ends[i - 1] };
            return Ok(Token::Text(&self.text_bytes[start..self.text_ends[i]]));
        }
        if let Some(secs) = self.timestamp_secs(id) {
            return Ok(Token::Timestamp { secs });
        }
        let name = self
            .special_names
            .get((id - special.end_of_text) as usize)
            .ok_or(TokenizerError::UnknownId {
                id,
                size: self.size,
            })?;
        let same = |known: Option<u32>| known == Some(id);
        Ok(if id == special.end_of_text {
            Token::EndOfText
        } else if id == special.start_of_transcript {
            Token::StartOfTranscript
        } else if id == special.no_timestamps {
            Token::NoTimestamps
        } else if same(special.translate) {
            Token::Translate
        } else if same(special.transcribe) {
            Token::Transcribe
        } else if same(special.start_of_lm) {
            Token::StartOfLm
        } else if same(special.start_of_prev) {
            Token::StartOfPrev
        } else if same(special.no_speech) {
            Token::NoSpeech
        } else if let Some((code, _)) = self.languages.iter().find(|&&(_, l)| l == id) {
            Token::Language(code)
        } else {
            Token::OtherSpecial(name)
        })
    }

    /// The text of `ids`, skipping special and timestamp tokens. Bytes are joined first and
    /// turned into UTF-8 once at the end, invalid sequences becoming U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            if let Token::Text(piece) = self.token(id)? {
                bytes.extend_from_slice(piece);
            }
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Text as tokens, as Whisper's tiktoken encodes it: split by GPT-2's pattern
    /// ([`pre_tokenize`]), then each piece's bytes merged pairwise, always the pair whose merged
    /// bytes are the token with the lowest id first ([`byte_pair_merge`]).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let ranks: std::collections::HashMap<&[u8], u32> = (0..self.text_ends.len())
            .map(|id| (self.text_piece(id), id as u32))
            .collect();
        let mut ids = Vec::new();
        for piece in pre_tokenize(text) {
            let bytes = piece.as_bytes();
            match ranks.get(bytes) {
                Some(&id) => ids.push(id),
                None => {
                    let rank = |part: &[u8]| ranks.get(part).copied();
                    for range in byte_pair_merge(bytes, rank) {
                        // Every single byte is a token, so every part merged is one.
                        if let Some(&id) = ranks.get(&bytes[range]) {
                            ids.push(id);
                        }
                    }
                }
            }
        }
        ids
    }

    fn text_piece(&self, id: usize) -> &[u8] {
        let start = if id == 0 { 0 } else { self.text_ends[id - 1] };
        &self.text_bytes[start..self.text_ends[id]]
    }

    /// Every token as text, special tokens by name and timestamps as `<|1.08|>` (whisper's
    /// `decode_with_timestamps`).
    pub fn decode_with_specials(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut bytes = Vec::new();
        for &id in ids {
            self.push_token_bytes(id, &mut bytes)?;
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn push_token_bytes(&self, id: u32, bytes: &mut Vec<u8>) -> Result<(), TokenizerError> {
        match self.token(id)? {
            Token::Text(piece) => bytes.extend_from_slice(piece),
            Token::Timestamp { .. } => {
                let centis = (id - self.special.timestamp_begin) * 2;
                bytes.extend_from_slice(
                    format!("<|{}.{:02}|>", centis / 100, centis % 100).as_bytes(),
                );
            }
            _ => {
                let name = self
                    .special_names
                    .get((id - self.special.end_of_text) as usize)
                    .map_or("", String::as_str);
                bytes.extend_from_slice(name.as_bytes());
            }
        }
        Ok(())
    }

    /// Splits tokens into words the way whisper does for `language`: at every complete
    /// character for languages written without spaces (zh, ja, th, lo, my, yue), otherwise at
    /// spaces and punctuation ([`split_on_spaces`](Self::split_on_spaces)).
    pub fn split_to_words(
        &self,
        ids: &[u32],
        language: Option<&str>,
    ) -> Result<Vec<WordTokens>, TokenizerError> {
        if matches!(language, Some("zh" | "ja" | "th" | "lo" | "my" | "yue")) {
            self.split_on_unicode(ids)
        } else {
            self.split_on_spaces(ids)
        }
    }

    /// Whisper's `split_tokens_on_unicode`: a word ends wherever the tokens so far decode to
    /// whole characters (or to a replacement character the full text has too, i.e. bytes that
    /// are invalid in any case). Where whisper would fail (looking past the end of the full
    /// text, after a character cut off at the end) or drop trailing tokens, the remaining
    /// tokens form a last piece, so that every token belongs to a word.
    pub fn split_on_unicode(&self, ids: &[u32]) -> Result<Vec<WordTokens>, TokenizerError> {
        const REPLACEMENT: char = '\u{FFFD}';
        let full: Vec<char> = self.decode_with_specials(ids)?.chars().collect();
        let mut words = Vec::new();
        let mut start = 0;
        let mut bytes = Vec::new();
        let mut offset_chars = 0;
        for (i, &id) in ids.iter().enumerate() {
            self.push_token_bytes(id, &mut bytes)?;
            let decoded = String::from_utf8_lossy(&bytes);
            let complete = match decoded.chars().position(|c| c == REPLACEMENT) {
                None => true,
                Some(at) => full.get(offset_chars + at) == Some(&REPLACEMENT),
            };
            if complete {
                offset_chars += decoded.chars().count();
                words.push(WordTokens {
                    text: decoded.into_owned(),
                    tokens: start..i + 1,
                });
                start = i + 1;
                bytes.clear();
            }
        }
        if start < ids.len() {
            words.push(WordTokens {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                tokens: start..ids.len(),
            });
        }
        Ok(words)
    }

    /// Whisper's `split_tokens_on_spaces`: pieces from [`split_on_unicode`](Self::split_on_unicode)
    /// start a new word when they are special tokens, begin with a space, or are punctuation
    /// (Python's `piece.strip() in string.punctuation`); other pieces join the word before.
    pub fn split_on_spaces(&self, ids: &[u32]) -> Result<Vec<WordTokens>, TokenizerError> {
        let mut words: Vec<WordTokens> = Vec::new();
        for piece in self.split_on_unicode(ids)? {
            let special = ids[piece.tokens.start] >= self.special.end_of_text;
            let with_space = piece.text.starts_with(' ');
            let punctuation = PYTHON_PUNCTUATION.contains(python_strip(&piece.text));
            match words.last_mut() {
                Some(last) if !(special || with_space || punctuation) => {
                    last.text.push_str(&piece.text);
                    last.tokens.end = piece.tokens.end;
                }
                _ => words.push(piece),
            }
        }
        Ok(words)
    }
}

/// Python's `string.punctuation`.
const PYTHON_PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Python's `str.strip()`: Rust's whitespace plus the ASCII information separators.
pub(crate) fn python_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68
/// bytes for the characters from U+0100 on, in byte order. Every byte gets a visible character,
/// so a token is a plain string.
pub fn bytes_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next_extra = 0u32;
    for (byte, slot) in table.iter_mut().enumerate() {
        let b = byte as u32;
        let printable = (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || b >= 0xAE;
        let code = if printable {
            b
        } else {
            next_extra += 1;
            255 + next_extra
        };
        *slot = char::from_u32(code).unwrap_or('\0');
    }
    table
}

/// A function from a `bytes_to_unicode` character back to its byte.
fn unicode_to_byte_table() -> impl Fn(char) -> Option<u8> {
    let forward = bytes_to_unicode();
    // Every character of the alphabet is below U+0144.
    let mut inverse = [None; 0x144];
    for (byte, &c) in forward.iter().enumerate() {
        inverse[c as usize] = Some(byte as u8);
    }
    move |c| inverse.get(c as usize).copied().flatten()
}

/// Bytes written in GPT-2's byte-level alphabet, as vocabulary lines are.
pub fn unicode_from_bytes(bytes: &[u8]) -> String {
    let table = bytes_to_unicode();
    bytes.iter().map(|&b| table[usize::from(b)]).collect()
}

/// The bytes a GPT-2 byte-level string stands for, or `None` if it has a character outside
/// that alphabet.
pub fn bytes_from_unicode(text: &str) -> Option<Vec<u8>> {
    let decode = unicode_to_byte_table();
    text.chars().map(decode).collect()
}

/// Splits text as GPT-2's pattern does before BPE:
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
pub fn pre_tokenize(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Letter,
        Number,
        Other,
        Space,
    }
    let class = |c: char| {
        if c.is_whitespace() {
            Class::Space
        } else if c.general_category_group() == GeneralCategoryGroup::Letter {
            // `\p{L}`: not `char::is_alphabetic`, which also takes vowel signs and other marks.
            Class::Letter
        } else if c.is_numeric() {
            Class::Number
        } else {
            Class::Other
        }
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(text.len(), |&(pos, _)| pos);
    let mut pieces = Vec::new();
    let mut i = 0;
    'pieces: while i < chars.len() {
        let (pos, c) = chars[i];
        if c == '\'' {
            for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
                if text[pos + 1..].starts_with(suffix) {
                    pieces.push(&text[pos..pos + 1 + suffix.len()]);
                    i += 1 + suffix.len();
                    continue 'pieces;
                }
            }
        }
        let next = chars.get(i + 1).map(|&(_, n)| class(n));
        let first = if c == ' ' && next.is_some_and(|n| n != Class::Space) {
            i + 1
        } else {
            i
        };
        let kind = class(chars[first].1);
        if kind != Class::Space {
            let mut end = first + 1;
            while end < chars.len() && class(chars[end].1) == kind {
                end += 1;
            }
            pieces.push(&text[pos..at(end)]);
            i = end;
            continue;
        }
        let mut end = i + 1;
        while end < chars.len() && class(chars[end].1) == Class::Space {
            end += 1;
        }
        // Before a word, a run of spaces leaves its last one to the word (`\s+(?!\S)`).
        if end < chars.len() && end - i > 1 {
            end -= 1;
        }
        pieces.push(&text[pos..at(end)]);
        i = end;
    }
    pieces
}

/// tiktoken's `byte_pair_merge`: `bytes` cut into single bytes, then the adjacent pair whose
/// joined bytes have the lowest `rank` joined, again and again while any pair has one.
/// Returns the parts' ranges.
pub fn byte_pair_merge(bytes: &[u8], rank: impl Fn(&[u8]) -> Option<u32>) -> Vec<Range<usize>> {
    let mut starts: Vec<usize> = (0..=bytes.len()).collect();
    loop {
        let best = (0..starts.len().saturating_sub(2))
            .filter_map(|i| rank(&bytes[starts[i]..starts[i + 2]]).map(|r| (r, i)))
            .min();
        match best {
            Some((_, i)) => {
                starts.remove(i + 1);
            }
            None => break,
        }
    }
    starts.windows(2).map(|w| w[0]..w[1]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_split_as_gpt2s_pattern_splits_it() {
        let cases: [(&str, &[&str]); 7] = [
            ("Hello world", &["Hello", " world"]),
            (
                " Reelsmith's clips, 2026!",
                &[" Reelsmith", "'s", " clips", ",", " 2026", "!"],
            ),
            ("don't  stop", &["don", "'t", " ", " stop"]),
            ("a\n\nb  ", &["a", "\n", "\n", "b", "  "]),
            ("x ?! y", &["x", " ?!", " y"]),
            ("Buenos días ¿qué?", &["Buenos", " días", " ¿", "qué", "?"]),
            // A vowel sign is a mark, not a letter: GPT-2's pattern cuts before it.
            ("नमस्ते", &["नमस", "्", "त", "े"]),
        ];
        for (text, pieces) in cases {
            assert_eq!(pre_tokenize(text), pieces, "{text:?}");
        }
    }

    #[test]
    fn byte_pairs_merge_lowest_rank_first() {
        // "ab" (rank 1) before "bc" (rank 2); then "abc" (rank 3).
        let rank = |part: &[u8]| match part {
            b"ab" => Some(1),
            b"bc" => Some(2),
            b"abc" => Some(3),
            _ => None,
        };
        assert_eq!(byte_pair_merge(b"abcd", rank), vec![0..3, 3..4]);
        assert_eq!(byte_pair_merge(b"bcab", rank), vec![0..2, 2..4]);
        assert_eq!(byte_pair_merge(b"", rank), Vec::<Range<usize>>::new());
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod encoding {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn pieces_are_the_text_cut_into_non_empty_parts(text in "\\PC{0,40}") {
                let pieces = pre_tokenize(&text);
                prop_assert_eq!(pieces.concat(), text.clone());
                prop_assert!(pieces.iter().all(|p| !p.is_empty()));
            }
        }
    }

    const LANGUAGES: [&str; 3] = ["en", "de", "haw"];

    /// A small Whisper-shaped vocabulary: the 256 single bytes, some merged tokens, then the
    /// specials in Whisper's order, without timestamp lines (like Hugging Face's vocab files).
    fn vocabulary(merged: &[&[u8]], english_only: bool) -> String {
        let mut lines: Vec<String> = (0..=255u8).map(|b| unicode_from_bytes(&[b])).collect();
        lines.extend(merged.iter().map(|m| unicode_from_bytes(m)));
        lines.push("<|endoftext|>".into());
        lines.push("<|startoftranscript|>".into());
        lines.extend(LANGUAGES.iter().map(|l| format!("<|{l}|>")));
        lines.push("<|translate|>".into());
        lines.push("<|transcribe|>".into());
        lines.push("<|startoflm|>".into());
        lines.push("<|startofprev|>".into());
        lines.push(
            if english_only {
                "<|nocaptions|>"
            } else {
                "<|nospeech|>"
            }
            .into(),
        );
        lines.push("<|notimestamps|>".into());
        lines.join("\n") + "\n"
    }

    const MERGED: [&[u8]; 12] = [
        b" The", b" quick", b" brown", b" fox", b" Re", b"els", b"mith", b" turns", b"over",
        b" caf", b" it", b"'s",
    ];

    fn tokenizer() -> Tokenizer {
        Tokenizer::from_vocabulary(&vocabulary(&MERGED, false)).unwrap()
    }

    /// Id of a merged token.
    fn id(piece: &[u8]) -> u32 {
        256 + MERGED.iter().position(|m| *m == piece).unwrap() as u32
    }

    /// Id of a single byte.
    fn byte(b: u8) -> u32 {
        u32::from(b)
    }

    #[test]
    fn byte_alphabet_is_gpt2s() {
        let table = bytes_to_unicode();
        assert_eq!(table[b'!' as usize], '!');
        assert_eq!(table[b'a' as usize], 'a');
        assert_eq!(table[b' ' as usize], 'Ġ'); // U+0120
        assert_eq!(table[b'\n' as usize], 'Ċ'); // U+010A
        assert_eq!(table[0], 'Ā'); // U+0100
        assert_eq!(table[0xAD], 'Ń'); // U+0143, the last one
        assert_eq!(table[0xAE], '®');
        let mut distinct = table.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 256);
        assert!(table.iter().all(|c| !c.is_whitespace() && !c.is_control()));
    }

    #[test]
    fn byte_alphabet_round_trips() {
        for text in [
            "",
            " The quick brown fox",
            "line\nbreak\ttab\r",
            "café naïve ß",
            "日本語のテキスト",
            "emoji 🦊 and ZWJ 👩‍💻",
            "\u{0}\u{7f}\u{ad}",
        ] {
            let encoded = unicode_from_bytes(text.as_bytes());
            assert_eq!(bytes_from_unicode(&encoded).unwrap(), text.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(bytes_from_unicode(&unicode_from_bytes(&all)).unwrap(), all);
        assert_eq!(bytes_from_unicode("a b"), None); // a raw space is not in the alphabet
    }

    #[test]
    fn decodes_text_split_at_any_byte() {
        let text = "Grüße, 世界! 🦊 fox";
        let bytes = text.as_bytes();
        // Tokens of 1 to 3 bytes, splitting multi-byte characters across tokens.
        let pieces: Vec<&[u8]> = bytes.chunks(3).collect();
        let tokenizer = Tokenizer::from_vocabulary(&vocabulary(&pieces, false)).unwrap();
        let ids: Vec<u32> = (0..pieces.len() as u32).map(|i| 256 + i).collect();
        assert_eq!(tokenizer.decode(&ids).unwrap(), text);
        let single: Vec<u32> = bytes.iter().map(|&b| u32::from(b)).collect();
        assert_eq!(tokenizer.decode(&single).unwrap(), text);
    }

    #[test]
    fn invalid_utf8_is_replaced_only_at_the_end() {
        let t = tokenizer();
        // An 'é' split over two tokens is fine; a lone continuation byte is not.
        assert_eq!(
            t.decode(&[id(b" caf"), byte(0xC3), byte(0xA9)]).unwrap(),
            " café"
        );
        assert_eq!(
            t.decode(&[byte(b'a'), byte(0xA9), byte(b'b')]).unwrap(),
            "a\u{FFFD}b"
        );
        assert_eq!(t.decode(&[byte(b'a'), byte(0xE6)]).unwrap(), "a\u{FFFD}");
    }

    #[test]
    fn finds_special_tokens() {
        let t = tokenizer();
        let eot = 256 + MERGED.len() as u32;
        let s = t.special();
        assert_eq!(s.end_of_text, eot);
        assert_eq!(s.start_of_transcript, eot + 1);
        assert_eq!(
            t.languages(),
            &[
                ("en".into(), eot + 2),
                ("de".into(), eot + 3),
                ("haw".into(), eot + 4)
            ]
        );
        assert_eq!(s.translate, Some(eot + 5));
        assert_eq!(s.transcribe, Some(eot + 6));
        assert_eq!(s.start_of_lm, Some(eot + 7));
        assert_eq!(s.start_of_prev, Some(eot + 8));
        assert_eq!(s.no_speech, Some(eot + 9));
        assert_eq!(s.no_timestamps, eot + 10);
        assert_eq!(s.timestamp_begin, eot + 11);
        assert_eq!(t.vocab_size(), (eot + 11 + 1_501) as usize);

        assert_eq!(t.token(eot).unwrap(), Token::EndOfText);
        assert_eq!(t.token(eot + 1).unwrap(), Token::StartOfTranscript);
        assert_eq!(t.token(eot + 4).unwrap(), Token::Language("haw"));
        assert_eq!(t.token(eot + 5).unwrap(), Token::Translate);
        assert_eq!(t.token(eot + 6).unwrap(), Token::Transcribe);
        assert_eq!(t.token(eot + 7).unwrap(), Token::StartOfLm);
        assert_eq!(t.token(eot + 8).unwrap(), Token::StartOfPrev);
        assert_eq!(t.token(eot + 9).unwrap(), Token::NoSpeech);
        assert_eq!(t.token(eot + 10).unwrap(), Token::NoTimestamps);
        assert_eq!(t.token(id(b" fox")).unwrap(), Token::Text(b" fox"));

        let english = Tokenizer::from_vocabulary(&vocabulary(&MERGED, true)).unwrap();
        assert_eq!(english.special().no_speech, Some(eot + 9)); // <|nocaptions|>
        assert_eq!(english.token(eot + 9).unwrap(), Token::NoSpeech);
    }

    #[test]
    fn timestamps_follow_no_timestamps_in_two_hundredths() {
        let t = tokenizer();
        let begin = t.special().timestamp_begin;
        assert_eq!(t.token(begin).unwrap(), Token::Timestamp { secs: 0.0 });
        assert_eq!(t.timestamp_secs(begin + 54), Some(54.0 * 0.02));
        assert_eq!(t.timestamp_secs(begin + 1_500), Some(30.0));
        assert_eq!(t.timestamp_secs(begin + 1_501), None);
        assert_eq!(t.timestamp_secs(begin - 1), None);
        assert_eq!(t.timestamp_token(1.08), begin + 54);
        assert_eq!(t.timestamp_token(99.0), begin + 1_500);
        assert_eq!(t.timestamp_token(-1.0), begin);
        let ids = [
            begin + 54,
            id(b" The"),
            id(b" fox"),
            begin + 1_500,
            begin + 1,
        ];
        assert_eq!(
            t.decode_with_specials(&ids).unwrap(),
            "<|1.08|> The fox<|30.00|><|0.02|>"
        );
        assert_eq!(t.decode(&ids).unwrap(), " The fox");
        assert_eq!(
            t.token(begin + 1_501).unwrap_err(),
            TokenizerError::UnknownId {
                id: begin + 1_501,
                size: t.vocab_size()
            }
        );
    }

    #[test]
    fn timestamp_lines_in_the_file_are_not_needed_but_allowed() {
        let mut with_lines = vocabulary(&MERGED, false);
        for i in 0..1_501 {
            with_lines.push_str(&format!("<|{}.{:02}|>\n", i * 2 / 100, i * 2 % 100));
        }
        let a = Tokenizer::from_vocabulary(&with_lines).unwrap();
        let b = tokenizer();
        assert_eq!(a.special(), b.special());
        assert_eq!(a.vocab_size(), b.vocab_size());
        let begin = a.special().timestamp_begin;
        assert_eq!(a.decode_with_specials(&[begin + 3]).unwrap(), "<|0.06|>");
    }

    #[test]
    fn decode_skips_specials_and_decode_with_specials_names_them() {
        let t = tokenizer();
        let s = *t.special();
        let ids = [
            s.start_of_transcript,
            t.language_token("en").unwrap(),
            s.transcribe.unwrap(),
            s.no_timestamps,
            id(b" The"),
            id(b" quick"),
            s.end_of_text,
        ];
        assert_eq!(t.decode(&ids).unwrap(), " The quick");
        assert_eq!(
            t.decode_with_specials(&ids).unwrap(),
            "<|startoftranscript|><|en|><|transcribe|><|notimestamps|> The quick<|endoftext|>"
        );
    }

    #[test]
    fn sot_sequence_adds_language_and_task() {
        let t = tokenizer();
        let s = *t.special();
        assert_eq!(
            t.sot_sequence(None, None).unwrap(),
            vec![s.start_of_transcript]
        );
        assert_eq!(
            t.sot_sequence(Some("de"), Some(Task::Translate)).unwrap(),
            vec![
                s.start_of_transcript,
                s.start_of_transcript + 2,
                s.translate.unwrap()
            ]
        );
        assert_eq!(
            t.sot_sequence(Some("xx"), None).unwrap_err(),
            TokenizerError::UnknownLanguage("xx".into())
        );
    }

    #[test]
    fn rejects_what_is_not_a_whisper_vocabulary() {
        assert_eq!(
            Tokenizer::from_vocabulary("a\nb\n").unwrap_err(),
            TokenizerError::MissingSpecial("<|endoftext|>")
        );
        let no_sot = "a\n<|endoftext|>\n<|notimestamps|>\n";
        assert_eq!(
            Tokenizer::from_vocabulary(no_sot).unwrap_err(),
            TokenizerError::MissingSpecial("<|startoftranscript|>")
        );
        let raw_space = "a\nb c\n<|endoftext|>\n<|startoftranscript|>\n<|notimestamps|>\n";
        let err = Tokenizer::from_vocabulary(raw_space).unwrap_err();
        assert_eq!(
            err,
            TokenizerError::BadLine {
                line: 2,
                text: "b c".into()
            }
        );
        assert!(err.to_string().contains("Re-create vocabulary.txt"));
        let empty_line = "a\n\n<|endoftext|>\n<|startoftranscript|>\n<|notimestamps|>\n";
        assert!(matches!(
            Tokenizer::from_vocabulary(empty_line).unwrap_err(),
            TokenizerError::BadLine { line: 2, .. }
        ));
        // Windows line ends are fine.
        let crlf = "a\r\nb\r\n<|endoftext|>\r\n<|startoftranscript|>\r\n<|notimestamps|>\r\n";
        let t = Tokenizer::from_vocabulary(crlf).unwrap();
        assert_eq!(t.decode(&[0, 1]).unwrap(), "ab");
        assert_eq!(t.special().translate, None);
        assert_eq!(
            t.sot_sequence(None, Some(Task::Translate)).unwrap_err(),
            TokenizerError::UnsupportedTask("translate")
        );
    }

    /// Whisper's real layout: `text_tokens` text tokens, `<|endoftext|>`, SOT, 99 languages,
    /// the tasks and the rest.
    fn full_size_vocabulary(text_tokens: usize, empty_last: bool) -> String {
        let mut lines: Vec<String> = (0..=255u8).map(|b| unicode_from_bytes(&[b])).collect();
        lines.extend((256..text_tokens).map(|i| format!("t{i}")));
        if empty_last {
            lines.pop();
            lines.push(String::new());
        }
        lines.push("<|endoftext|>".into());
        lines.push("<|startoftranscript|>".into());
        lines.push("<|en|>".into());
        lines.extend((1..99).map(|i| format!("<|l{i:02}|>")));
        for special in ["translate", "transcribe", "startoflm", "startofprev"] {
            lines.push(format!("<|{special}|>"));
        }
        lines.push("<|nospeech|>".into());
        lines.push("<|notimestamps|>".into());
        lines.join("\n") + "\n"
    }

    #[test]
    fn the_multilingual_layout_is_told_apart_and_its_empty_token_read() {
        let t = Tokenizer::from_vocabulary(&full_size_vocabulary(50_257, true)).unwrap();
        assert_eq!(t.special().end_of_text, 50_257);
        assert_eq!(t.special().timestamp_begin, 50_364);
        assert_eq!(t.vocab_size(), 51_865);
        assert!(t.is_multilingual());
        assert_eq!(t.languages().len(), 99);
        assert_eq!(t.decode(&[u32::from(b'a'), 50_256]).unwrap(), "a");
        // One text token fewer, as the English-only models: not multilingual.
        let en = Tokenizer::from_vocabulary(&full_size_vocabulary(50_256, false)).unwrap();
        assert_eq!(en.vocab_size(), 51_864);
        assert!(!en.is_multilingual());
        // The empty token is allowed only in its place.
        let misplaced = full_size_vocabulary(50_256, true);
        assert!(matches!(
            Tokenizer::from_vocabulary(&misplaced).unwrap_err(),
            TokenizerError::BadLine { line: 50_256, .. }
        ));
    }

    fn words(t: &Tokenizer, ids: &[u32], language: Option<&str>) -> Vec<(String, Range<usize>)> {
        t.split_to_words(ids, language)
            .unwrap()
            .into_iter()
            .map(|w| (w.text, w.tokens))
            .collect()
    }

    #[test]
    fn splits_words_at_spaces_and_punctuation_like_whisper() {
        let t = tokenizer();
        let eot = t.special().end_of_text;
        let ids = [
            id(b" The"),
            id(b" quick"),
            id(b" brown"),
            id(b" fox"),
            byte(b'.'),
            id(b" Re"),
            id(b"els"),
            id(b"mith"),
            id(b" turns"),
            byte(b'-'),
            id(b"over"),
            id(b" it"),
            id(b"'s"),
            byte(b' '),
            byte(b'?'),
            byte(b'!'),
            eot,
        ];
        assert_eq!(
            words(&t, &ids, Some("en")),
            vec![
                (" The".into(), 0..1),
                (" quick".into(), 1..2),
                (" brown".into(), 2..3),
                (" fox".into(), 3..4),
                (".".into(), 4..5),
                (" Reelsmith".into(), 5..8),
                (" turns".into(), 8..9),
                ("-over".into(), 9..11),
                // "'s" alone is not in string.punctuation: it joins " it".
                (" it's".into(), 11..13),
                // " " strips to "", which Python finds in any string.
                (" ".into(), 13..14),
                ("?".into(), 14..15),
                ("!".into(), 15..16),
                ("<|endoftext|>".into(), 16..17),
            ]
        );
    }

    #[test]
    fn a_character_split_over_tokens_stays_in_one_word() {
        let t = tokenizer();
        let eot = t.special().end_of_text;
        let ids = [id(b" caf"), byte(0xC3), byte(0xA9), id(b" fox"), eot];
        assert_eq!(
            words(&t, &ids, None),
            vec![
                (" café".into(), 0..3),
                (" fox".into(), 3..4),
                ("<|endoftext|>".into(), 4..5)
            ]
        );
    }

    #[test]
    fn splits_on_characters_for_languages_without_spaces() {
        let t = tokenizer();
        let eot = t.special().end_of_text;
        // 日本 = E6 97 A5, E6 9C AC; a lone invalid byte 0xFF stays a piece of its own.
        let ids = [
            byte(0xE6),
            byte(0x97),
            byte(0xA5),
            byte(0xE6),
            byte(0x9C),
            byte(0xAC),
            byte(0xFF),
            byte(b'.'),
            eot,
        ];
        assert_eq!(
            words(&t, &ids, Some("ja")),
            vec![
                ("日".into(), 0..3),
                ("本".into(), 3..6),
                ("\u{FFFD}".into(), 6..7),
                (".".into(), 7..8),
                ("<|endoftext|>".into(), 8..9),
            ]
        );
        // A character cut off at the very end: the full text has one U+FFFD for both bytes,
        // so the first byte ends a piece; whisper then indexes past the end of the text and
        // fails, here the last byte becomes a piece of its own.
        assert_eq!(
            words(&t, &[byte(b'a'), byte(0xE6), byte(0x97)], Some("zh")),
            vec![
                ("a".into(), 0..1),
                ("\u{FFFD}".into(), 1..2),
                ("\u{FFFD}".into(), 2..3)
            ]
        );
    }

    #[test]
    fn unknown_ids_are_errors_not_panics() {
        let t = tokenizer();
        let too_big = t.vocab_size() as u32 + 5;
        assert!(matches!(
            t.decode(&[too_big]),
            Err(TokenizerError::UnknownId { .. })
        ));
        assert!(t.split_to_words(&[too_big], None).is_err());
        assert!(t.decode_with_specials(&[u32::MAX]).is_err());
    }
}
