//! Line structure: where the strings of a line are, never what they mean. CRI records and their
//! message ([`cri`]), JSON tokens of any document, valid or not, at any depth ([`tokens`]), JSON
//! string decoding and escaping ([`json`]), the key names that mark a value as secret ([`keys`]),
//! the shapes of private-key blocks ([`pem`]), runtime partial records ([`records`]), and the rsyslog `mmexternal` protocol ([`rsyslog`]).
//!
//! Owns: the syntax of line formats. Must never: search for secrets (that is `scan`'s, over the
//! views this module describes) or write replacement text (that is `redact`'s).

pub mod cri;
pub mod json;
pub mod keys;
pub mod pem;
pub mod records;
pub mod rsyslog;
pub mod tokens;

/// Top-level members of a Docker json-file record that belong to the runtime's envelope, never
/// to the message: never searched nor changed, in records that have `log` and `time`.
pub const DOCKER_ENVELOPE_KEYS: &[&str] = &["time", "stream"];

/// What the input lines are (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Decide per line: JSON (object or array), CRI record, or text.
    #[default]
    Auto,
    /// Plain text (no JSON or CRI structure; private-key blocks still hidden).
    Text,
    /// JSON objects; every output line is a JSON object (text lines are wrapped as `{"log":…}`).
    Json,
    /// Docker json-file lines (`{"log":…,"stream":…,"time":…}`).
    Docker,
    /// CRI lines (`<time> <stdout|stderr> <P|F> <message>`).
    Cri,
    /// logfmt (`key=value key2="quoted value"`), handled by the text rules.
    Logfmt,
    /// rsyslog `mmexternal` protocol: one JSON reply per message.
    Rsyslog,
}

/// Choices that shape how lines are read.
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    /// The line format (`--format`).
    pub format: Format,
    /// Extra key names whose values are always secrets.
    pub secret_keys: Vec<String>,
}

impl Format {
    /// Whether lines may be JSON documents in this format.
    pub fn reads_json(self) -> bool {
        !matches!(self, Format::Text | Format::Logfmt)
    }

    /// Whether every output line must be a JSON object (`--format json`: JSON-only readers).
    pub fn writes_json_objects(self) -> bool {
        self == Format::Json
    }
}
