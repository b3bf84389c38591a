//! Redaction: the text that replaces a secret, and splicing it into a line — the only code that
//! writes replacement bytes, for every kind of finding (rule matches, secret-named fields,
//! private-key bodies) and every encoding (text, inside JSON strings, bare JSON scalars).
//!
//! Owns: the three modes and their markers — mask `[REDACTED:<rule-id>]`, keyed hash
//! `[REDACTED:<rule-id>:<12 hex of HMAC-SHA256(key, secret)>]`, partial
//! `[REDACTED:<rule-id>:<public prefix>...<last 4>]` — plus `--template` and per-rule overrides.
//! Must never: let a replacement contain any byte of the secret beyond what partial mode documents
//! as public (see [`partial_parts`]), or produce text that `detect` would report again: every
//! marker is one `[REDACTED…]` span (starts with `finding::MARKER_OPEN`, its only `]` is its last
//! byte) in the grammar [`Redactor::markers`] gives `detect`, which skips exactly those, so output
//! run through again is unchanged. Markers need no escaping in JSON strings (no quote, backslash
//! or control byte can be in one), so a replacement is valid wherever a finding may be.

mod key;
mod template;

use crate::finding::{
    is_marker_safe, marker_safe_id, Encoding, Finding, FindingKind, MarkerGrammar,
    PRIVATE_KEY_BLOCK_ID, SECRET_FIELD_ID,
};
use crate::format::json;
use crate::rules::RuleSet;

pub use key::{HashKey, KeyError, KeyFileAccess, MIN_KEY_BYTES, TAG_HEX_DIGITS};
pub use template::{Segment, Template, TemplateError};

/// Why [`Redactor::configured`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Hash mode with a template that has no `{hash}`.
    HashTemplateWithoutHash,
    /// A template with `{hash}` and no key.
    TemplateHashWithoutKey,
    /// Hash mode and no key.
    HashWithoutKey,
    /// A rule sets `redact = "hash"` and there is no key.
    RuleHashWithoutKey {
        /// The rule's file.
        file: String,
        /// The rule's id.
        rule: String,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::HashTemplateWithoutHash => {
                f.write_str("--mode hash with a --template that has no {hash}")
            }
            ConfigError::TemplateHashWithoutKey => {
                write!(f, "--template uses {{hash}}, which {NEEDS_KEY}")
            }
            ConfigError::HashWithoutKey => write!(f, "--mode hash {NEEDS_KEY}"),
            ConfigError::RuleHashWithoutKey { file, rule } => {
                write!(
                    f,
                    "{file}: rule '{rule}' sets redact = \"hash\", which {NEEDS_KEY}"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

pub use crate::finding::Mode;

/// Partial mode shows nothing of secrets shorter than this.
pub const PARTIAL_MIN_SECRET_BYTES: usize = 20;
/// Partial mode shows at most this many trailing bytes.
pub const PARTIAL_SUFFIX_BYTES: usize = 4;
/// Partial mode always hides at least this many bytes of the secret, dropping the suffix (then the
/// prefix) when keeping them would hide fewer.
pub const PARTIAL_MIN_HIDDEN_BYTES: usize = 12;

/// What the command line asks of redaction.
#[derive(Debug, Clone, Default)]
pub struct RedactConfig {
    /// Mode for rules without their own `redact` setting.
    pub mode: Mode,
    /// Key for hash mode and `{hash}`; required when either is used.
    pub key: Option<HashKey>,
    /// The marker template (`--template`), if any.
    pub template: Option<Template>,
}

/// What one rule's markers are made of, built once.
struct RulePlan {
    mode: Mode,
    /// `[REDACTED:<id>]`: the whole mask marker.
    mask: Vec<u8>,
    /// `[REDACTED:<id>:`: the head of hash and partial markers.
    head: Vec<u8>,
    /// The rule's public prefix, when it is safe to write inside a marker.
    prefix: Option<Vec<u8>>,
    /// The template with `{rule}` filled in, when `--template` is given.
    template: Option<Vec<Segment>>,
}

/// Builds replacements for findings.
pub struct Redactor {
    plans: Vec<RulePlan>,
    /// Plans of the kinds no rule makes: secret-named fields and private-key bodies (`--mode` and
    /// `--template` apply as to a rule without a public prefix).
    field_plan: RulePlan,
    key_body_plan: RulePlan,
    key: Option<HashKey>,
    template: Option<Template>,
    /// Debug builds only: `LOGREDACT_TEST_PANIC` set makes redaction panic with the secret as
    /// the panic payload, so a test can prove the panic hook never prints it.
    #[cfg(debug_assertions)]
    test_panic: bool,
}

impl Redactor {
    /// Masks every secret with `[REDACTED:<id>]`, whatever the rules ask: the configuration-free
    /// redactor (the command line uses [`Redactor::configured`]).
    pub fn new(rules: &RuleSet) -> Self {
        let plans = rules
            .rules
            .iter()
            .map(|r| RulePlan::new(&r.id, Mode::Mask, None, None))
            .collect();
        Redactor {
            plans,
            field_plan: RulePlan::new(SECRET_FIELD_ID, Mode::Mask, None, None),
            key_body_plan: RulePlan::new(PRIVATE_KEY_BLOCK_ID, Mode::Mask, None, None),
            key: None,
            template: None,
            #[cfg(debug_assertions)]
            test_panic: false,
        }
    }

    /// Redactor for `config`, honouring each rule's `redact` override. Fails (a configuration
    /// error) when hash mode or `{hash}` is needed and no key was given.
    pub fn configured(rules: &RuleSet, config: &RedactConfig) -> Result<Self, ConfigError> {
        if let Some(t) = &config.template {
            if config.mode == Mode::Hash && !t.uses(&Segment::Hash) {
                return Err(ConfigError::HashTemplateWithoutHash);
            }
            if t.uses(&Segment::Hash) && config.key.is_none() {
                return Err(ConfigError::TemplateHashWithoutKey);
            }
        }
        let mut plans = Vec::with_capacity(rules.rules.len());
        for rule in &rules.rules {
            let mode = rule.redact.unwrap_or(config.mode);
            if mode == Mode::Hash && config.key.is_none() {
                return Err(match rule.redact {
                    Some(_) => ConfigError::RuleHashWithoutKey {
                        file: rule.origin.clone(),
                        rule: rule.id.clone(),
                    },
                    None => ConfigError::HashWithoutKey,
                });
            }
            plans.push(RulePlan::new(
                &rule.id,
                mode,
                rule.prefix.as_deref(),
                config.template.as_ref(),
            ));
        }
        let unruled = |id| RulePlan::new(id, config.mode, None, config.template.as_ref());
        Ok(Redactor {
            plans,
            field_plan: unruled(SECRET_FIELD_ID),
            key_body_plan: unruled(PRIVATE_KEY_BLOCK_ID),
            key: config.key.clone(),
            template: config.template.clone(),
            #[cfg(debug_assertions)]
            test_panic: std::env::var_os("LOGREDACT_TEST_PANIC").is_some(),
        })
    }

    /// The markers this redactor writes, for `rules`: what a later pass must skip.
    pub fn markers(&self, rules: &RuleSet) -> MarkerGrammar {
        let grammar = MarkerGrammar::new(rules.rules.iter().map(|r| r.id.as_str()));
        match &self.template {
            Some(t) => grammar.with_template(t.marker_parts()),
            None => grammar,
        }
    }

    /// Appends the replacement for `finding` to `out`; `raw` is the finding's span of the
    /// scanned text. Mask mode copies one precomputed marker and reads nothing of the secret.
    pub fn write_replacement(&self, finding: &Finding, raw: &[u8], out: &mut Vec<u8>) {
        let plan = match finding.kind {
            FindingKind::Rule(i) => &self.plans[i as usize],
            FindingKind::SecretField => &self.field_plan,
            FindingKind::PrivateKeyBody => &self.key_body_plan,
        };
        let quoted = finding.encoding == Encoding::JsonScalar;
        if quoted {
            out.push(b'"');
        }
        match finding.encoding {
            // Hash tags and partial parts are of the secret, not of its escaped form: the same
            // secret gets the same tag whatever envelope it came in.
            Encoding::JsonString { depth } if plan.reads_secret() && raw.contains(&b'\\') => {
                let secret = decode_times(raw, depth);
                self.write_planned(plan, &secret, out);
            }
            _ => self.write_planned(plan, raw, out),
        }
        if quoted {
            out.push(b'"');
        }
    }

    fn write_planned(&self, plan: &RulePlan, secret: &[u8], out: &mut Vec<u8>) {
        #[cfg(debug_assertions)]
        if self.test_panic {
            panic!(
                "test panic, payload from input: {}",
                String::from_utf8_lossy(secret)
            );
        }
        if let Some(segments) = &plan.template {
            let (prefix, suffix) = match plan.mode {
                Mode::Partial => partial_parts(plan.prefix.as_deref(), secret),
                Mode::Mask | Mode::Hash => (&[][..], &[][..]),
            };
            for segment in segments {
                match segment {
                    Segment::Literal(text) => out.extend_from_slice(text),
                    // `{rule}` was filled into the literals when the plan was built.
                    Segment::Rule => {}
                    Segment::Hash => {
                        if let Some(key) = &self.key {
                            key.write_tag(secret, out);
                        }
                    }
                    Segment::Prefix => out.extend_from_slice(prefix),
                    Segment::Suffix => out.extend_from_slice(suffix),
                }
            }
            return;
        }
        match plan.mode {
            Mode::Mask => out.extend_from_slice(&plan.mask),
            Mode::Hash => match &self.key {
                Some(key) => {
                    out.extend_from_slice(&plan.head);
                    key.write_tag(secret, out);
                    out.push(b']');
                }
                // `configured` refuses hash mode without a key; mask is the safe fallback anyway.
                None => out.extend_from_slice(&plan.mask),
            },
            Mode::Partial => {
                let (prefix, suffix) = partial_parts(plan.prefix.as_deref(), secret);
                if prefix.is_empty() && suffix.is_empty() {
                    out.extend_from_slice(&plan.mask);
                } else {
                    out.extend_from_slice(&plan.head);
                    out.extend_from_slice(prefix);
                    out.extend_from_slice(b"...");
                    out.extend_from_slice(suffix);
                    out.push(b']');
                }
            }
        }
    }

    /// Appends `text` to `out` with every finding replaced. `findings` are sorted, do not
    /// overlap, and are offsets into `text` (see `finding::sort_and_merge`).
    pub fn apply(&self, text: &[u8], findings: &[Finding], out: &mut Vec<u8>) {
        let mut copied = 0;
        for f in findings {
            out.extend_from_slice(&text[copied..f.start]);
            self.write_replacement(f, &text[f.start..f.end], out);
            copied = f.end;
        }
        out.extend_from_slice(&text[copied..]);
    }

    /// [`Redactor::apply`], also telling where each offset of `cuts` (sorted) went in the output:
    /// `positions[i]` (relative to where `out` ended before) for `cuts[i]`. A cut inside a finding
    /// goes after its replacement, so a replacement is never cut and belongs to the piece in which
    /// its secret starts.
    pub fn apply_with_cuts(
        &self,
        text: &[u8],
        findings: &[Finding],
        cuts: &[usize],
        out: &mut Vec<u8>,
        positions: &mut Vec<usize>,
    ) {
        positions.clear();
        let base = out.len();
        let mut copied = 0;
        let mut next_cut = 0;
        for f in findings {
            while cuts.get(next_cut).is_some_and(|&c| c <= f.start) {
                positions.push(out.len() - base + cuts[next_cut].saturating_sub(copied));
                next_cut += 1;
            }
            out.extend_from_slice(&text[copied..f.start]);
            self.write_replacement(f, &text[f.start..f.end], out);
            copied = f.end;
            while cuts.get(next_cut).is_some_and(|&c| c <= f.end) {
                positions.push(out.len() - base);
                next_cut += 1;
            }
        }
        for &c in &cuts[next_cut..] {
            positions.push(out.len() - base + c.saturating_sub(copied));
        }
        out.extend_from_slice(&text[copied..]);
    }
}

const NEEDS_KEY: &str = "needs a key: --hash-key-file FILE or --hash-key-env VAR \
                         (or --ephemeral-key for tags that correlate within this run only)";

/// `--format json` for a line that is not a JSON object: writes `text` (already redacted) as
/// `{"log":"<text>"}`, so a JSON-only reader (Fluent Bit stdin) keeps it.
pub fn write_wrapped_as_json(text: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"log\":\"");
    json::escape_into(text, out);
    out.extend_from_slice(b"\"}");
}

/// `raw` JSON string content decoded `depth` times.
fn decode_times(raw: &[u8], depth: u8) -> Vec<u8> {
    let mut text = raw.to_vec();
    let (mut decoded, mut map) = (Vec::new(), Vec::new());
    for _ in 0..depth {
        if !text.contains(&b'\\') {
            break;
        }
        json::decode(&text, &mut decoded, &mut map);
        std::mem::swap(&mut text, &mut decoded);
    }
    text
}

impl RulePlan {
    /// Whether writing this plan's marker reads the secret's bytes (hash tags, partial parts).
    fn reads_secret(&self) -> bool {
        match &self.template {
            Some(segments) => segments
                .iter()
                .any(|s| matches!(s, Segment::Hash | Segment::Prefix | Segment::Suffix)),
            None => self.mode != Mode::Mask,
        }
    }

    fn new(id: &str, mode: Mode, prefix: Option<&str>, template: Option<&Template>) -> RulePlan {
        let id = marker_safe_id(id);
        let template = template.map(|t| {
            let mut segments: Vec<Segment> = Vec::new();
            for segment in &t.segments {
                let text = match segment {
                    Segment::Rule => id.as_bytes(),
                    Segment::Literal(text) => text,
                    other => {
                        segments.push(other.clone());
                        continue;
                    }
                };
                match segments.last_mut() {
                    Some(Segment::Literal(previous)) => previous.extend_from_slice(text),
                    _ => segments.push(Segment::Literal(text.to_vec())),
                }
            }
            segments
        });
        RulePlan {
            mode,
            mask: format!("[REDACTED:{id}]").into_bytes(),
            head: format!("[REDACTED:{id}:").into_bytes(),
            prefix: prefix
                .filter(|p| !p.is_empty() && p.bytes().all(is_marker_safe))
                .map(|p| p.as_bytes().to_vec()),
            template,
        }
    }
}

/// The parts of `secret` that partial mode may show: the rule's public `prefix` (when the secret
/// literally starts with it) and the last [`PARTIAL_SUFFIX_BYTES`] bytes, only for secrets of at
/// least [`PARTIAL_MIN_SECRET_BYTES`], never hiding fewer than [`PARTIAL_MIN_HIDDEN_BYTES`], and
/// only marker-safe bytes. So never more than the public prefix plus 4 bytes.
pub fn partial_parts<'a>(prefix: Option<&[u8]>, secret: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    if secret.len() < PARTIAL_MIN_SECRET_BYTES {
        return (&[], &[]);
    }
    let kept_prefix = match prefix {
        Some(p) if secret.starts_with(p) => p.len(),
        _ => 0,
    };
    let tail = &secret[secret.len() - PARTIAL_SUFFIX_BYTES..];
    let kept_suffix = if tail.iter().copied().all(is_marker_safe) {
        PARTIAL_SUFFIX_BYTES
    } else {
        0
    };
    // Most informative first: both, the public prefix alone, the suffix alone, nothing.
    let (p, s) = [
        (kept_prefix, kept_suffix),
        (kept_prefix, 0),
        (0, kept_suffix),
    ]
    .into_iter()
    .find(|&(p, s)| secret.len() >= p + s + PARTIAL_MIN_HIDDEN_BYTES)
    .unwrap_or((0, 0));
    (&secret[..p], &secret[secret.len() - s..])
}

#[cfg(test)]
mod tests;
