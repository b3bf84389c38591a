//! Rules: the schema of rule files, loading them (built-ins embedded from `patterns/` at compile
//! time, plus user files), validation with precise errors, and the self-test of each rule's examples.
//!
//! Owns: turning TOML text into compiled [`Rule`]s. Must never: print a rule's example values or
//! any text matched by a rule (examples are fake, but user files may hold real secrets), and never
//! accept a file silently when part of it cannot be honoured.
//!
//! The schema is a superset of gitleaks' config, so a gitleaks `.toml` loads as it is: fields that
//! only matter to a source-code scanner (`path`, top-level `[allowlist]` commits/paths, `[extend]`)
//! are accepted and ignored with a warning where ignoring them changes what is found.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};
use regex_automata::meta;
use serde::Deserialize;

mod keyword_reach;
pub mod repeats;

use crate::finding::{Mode, Precedence};
use crate::scrub;
use crate::validate::Validator;
use keyword_reach::keyword_reach;

/// The built-in rule files, embedded at compile time so the binary needs nothing at run time.
pub const BUILTIN_FILES: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Upper bound on how long a single match may be, used for window overlaps on long lines.
/// Rules whose regex has no finite maximum are treated as this long.
pub const MAX_MATCH_LEN_CAP: usize = 16 * 1024;

/// Lazy-DFA cache per regex. The default (2 MiB) thrashes on wide rules; measured 2.4x faster at
/// larger sizes in the design prototype. Memory is only used as states are built.
const DFA_CACHE_BYTES: usize = 8 * 1024 * 1024;
const REGEX_SIZE_LIMIT: usize = 32 * 1024 * 1024;

/// A loading or validation failure, naming the file, the rule and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule file (its name, or path).
    pub file: String,
    /// The rule's id, when one rule is at fault.
    pub rule: Option<String>,
    /// What is wrong (never quotes a pattern's or an example's text).
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Some(id) => write!(f, "{}: rule '{}': {}", self.file, id, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for RuleError {}

/// What an allowlist's regexes are matched against (gitleaks' `regexTarget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RegexTarget {
    #[default]
    /// The secret (the rule's secret group).
    Secret,
    /// The whole regex match.
    Match,
    /// The whole line.
    Line,
}

/// How an allowlist combines its conditions (gitleaks' `condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Condition {
    #[default]
    /// Any condition drops the finding.
    Or,
    /// Only all conditions together drop the finding.
    And,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AllowlistSpec {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    condition: Condition,
    #[serde(default, rename = "regexTarget")]
    regex_target: RegexTarget,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    // Source-scanner conditions: accepted for gitleaks compatibility, meaningless for log lines.
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default, rename = "secretGroup")]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    allowlists: Vec<AllowlistSpec>,
    /// gitleaks' older single-allowlist spelling.
    #[serde(default)]
    allowlist: Option<AllowlistSpec>,
    #[serde(default, rename = "skipReport")]
    skip_report: Option<bool>,
    // Ours.
    #[serde(default)]
    validate: Option<String>,
    /// `generic` (context words only: loses where findings overlap) or `specific`; default:
    /// `generic` when tagged so.
    #[serde(default)]
    precedence: Option<String>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default, rename = "listItem")]
    list_item: Option<String>,
    /// Per-rule redaction mode, overriding `--mode`.
    #[serde(default)]
    redact: Option<Mode>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default, rename = "negativeExamples")]
    negative_examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtendSpec {
    #[serde(default, rename = "useDefault")]
    use_default: Option<bool>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, rename = "disabledRules")]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    extend: Option<ExtendSpec>,
    #[serde(default)]
    allowlist: Option<AllowlistSpec>,
    #[serde(default)]
    allowlists: Vec<AllowlistSpec>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
}

/// An allowlist: a finding it matches is dropped.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// How its conditions combine.
    pub condition: Condition,
    /// What its regexes are matched against.
    pub regex_target: RegexTarget,
    /// The regex sources; compiled on first use (see [`Allowlist::regexes`]).
    pub patterns: Vec<String>,
    compiled: OnceLock<Vec<meta::Regex>>,
    /// Lower-cased stopwords; matched case-insensitively against the secret.
    pub stopwords: Vec<Vec<u8>>,
}

impl Allowlist {
    /// The compiled regexes. As with [`Rule::regex`], built-in allowlists compile on first use
    /// (compiling all of them was a quarter of start-up) and are checked by the test suite; user
    /// allowlists are compiled when loaded. Meta regexes, as for rules: the detector searches
    /// them with caches under its budget (`detect::Scratch`), not with `regex`'s hidden
    /// per-thread pools.
    pub fn regexes(&self) -> &[meta::Regex] {
        self.compiled.get_or_init(|| {
            // Unreachable for user rules (compiled at load) and for built-ins (compiled by tests).
            self.patterns
                .iter()
                .map(|p| build_meta_regex(p).unwrap_or_else(|e| panic!("allowlist regex: {e}")))
                .collect()
        })
    }
}

/// A name given to [`RuleSet::select`] that is no rule's id or tag (the name is quoted: it came
/// from the configuration, not from input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRule {
    /// The name.
    pub name: String,
}

impl fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no rule has id or tag '{}'", self.name)
    }
}

impl std::error::Error for UnknownRule {}

/// One detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique id, the name in markers and reports.
    pub id: String,
    /// What the rule finds.
    pub description: String,
    /// The regex source; compiled on first use (see [`Rule::regex`]).
    pub pattern: String,
    compiled: OnceLock<ConfirmRegex>,
    /// The capture group holding the secret (else the first group, else the match).
    pub secret_group: Option<usize>,
    /// Least Shannon entropy (bits per byte) a secret must have.
    pub entropy: Option<f64>,
    /// Words one of which must be near a match (the engines' prefilter). Set at load: the
    /// regex's keyword reach ([`Rule::keyword_reach`]) is worked out from them when it compiles.
    pub keywords: Vec<String>,
    /// Tags for selecting rules (`--enable`/`--disable`).
    pub tags: Vec<String>,
    /// The validator a secret is checked with (checksums, JWT, ...); whether a failure drops the
    /// finding is the validator's own policy ([`Validator::on_failure`]).
    pub validate: Option<Validator>,
    /// Which rule names a finding where findings overlap: `generic` rules (context words only)
    /// lose to specific rules and to structure.
    pub precedence: Precedence,
    /// The public prefix of this rule's secrets (`ghp_`), which partial mode may show.
    pub prefix: Option<String>,
    /// One more item of a list of secrets (`API_KEYS=k1,k2`), matched right after a secret of
    /// this rule; its first group (else the match) is the next secret. Anchored at load.
    pub list_item: Option<Regex>,
    /// This rule's redaction mode, when it overrides `--mode`.
    pub redact: Option<Mode>,
    /// This rule's allowlists.
    pub allowlists: Vec<Allowlist>,
    /// Lines the rule must find something in (made-up secrets).
    pub examples: Vec<String>,
    /// Lines the rule must find nothing in.
    pub negative_examples: Vec<String>,
    /// Longest match the regex can produce (capped at [`MAX_MATCH_LEN_CAP`]).
    pub max_match_len: usize,
    /// File the rule came from, for messages.
    pub origin: String,
}

impl Rule {
    /// A rule that only names and describes a kind of finding no rule makes (for reports that
    /// list rules: `lint`'s SARIF driver). Its regex matches nothing.
    pub fn described(id: &str, description: &str) -> Rule {
        Rule {
            id: id.to_string(),
            description: description.to_string(),
            pattern: "[^\\x00-\\x{10FFFF}]".to_string(),
            compiled: OnceLock::new(),
            secret_group: None,
            entropy: None,
            keywords: Vec::new(),
            tags: Vec::new(),
            validate: None,
            precedence: Precedence::Specific,
            prefix: None,
            list_item: None,
            redact: None,
            allowlists: Vec::new(),
            examples: Vec::new(),
            negative_examples: Vec::new(),
            max_match_len: 0,
            origin: "built-in".to_string(),
        }
    }

    /// The compiled regex. Built-in rules compile on first use, so start-up does not pay for the
    /// hundreds of rules a stream never triggers; their patterns are checked at load (syntax) and
    /// by the test suite (compilation). User rules are compiled when loaded.
    ///
    /// A `regex_automata` meta regex, not a `regex::bytes::Regex`: the detector searches it with
    /// its own caches (`detect::Scratch`, under one process-wide budget) instead of the hidden
    /// per-thread cache pool of `regex`, which has no bound across rules and threads. Its methods
    /// without `_with` still use an internal pool (for tests and one-off callers).
    pub fn regex(&self) -> &meta::Regex {
        &self.confirm_regex().regex
    }

    /// How far into any match of [`Rule::regex`] one of the rule's keywords starts, at the
    /// latest, if every match holds one (see [`keyword_reach`]).
    pub fn keyword_reach(&self) -> Option<usize> {
        self.confirm_regex().keyword_reach
    }

    fn confirm_regex(&self) -> &ConfirmRegex {
        self.compiled.get_or_init(|| {
            // Unreachable for user rules (compiled at load) and for built-ins (compiled by tests).
            build_rule_regex(&self.pattern, &self.keywords)
                .unwrap_or_else(|e| panic!("rule '{}' does not compile: {e}", self.id))
        })
    }

    /// Whether this rule must run on every line because it names no keyword.
    pub fn runs_on_every_line(&self) -> bool {
        self.keywords.is_empty()
    }
}

/// The full set of active rules plus global allowlists, in load order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules, in load order (a finding's rule index points here).
    pub rules: Vec<Rule>,
    /// Allowlists for every rule.
    pub allowlists: Vec<Allowlist>,
    /// Non-fatal notes produced while loading (e.g. a rule without keywords); never hold matched text.
    pub warnings: Vec<String>,
}

impl RuleSet {
    /// The embedded built-in rules.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, text) in BUILTIN_FILES {
            set.add_toml_with(&format!("patterns/{name}"), text, Compile::Lazily)?;
        }
        // Built-ins are ours: any warning there is a bug caught by tests, not a user message.
        set.warnings.clear();
        Ok(set)
    }

    /// Adds the rules of a user file: a regular file of at most [`MAX_RULE_FILE_BYTES`] (a FIFO,
    /// a device or a huge file is refused at once, never read without bound or waited on).
    pub fn add_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let name = path.display().to_string();
        let text = read_rule_file(path).map_err(|reason| RuleError {
            file: name.clone(),
            rule: None,
            reason,
        })?;
        self.add_toml(&name, &text)
    }

    /// Parses and compiles the rules in `text` (named `file` in messages) and appends them.
    pub fn add_toml(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        self.add_toml_with(file, text, Compile::Now)
    }

    fn add_toml_with(&mut self, file: &str, text: &str, compile: Compile) -> Result<(), RuleError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| RuleError {
            file: file.to_string(),
            rule: rule_id_near(text, e.span()),
            reason: toml_reason(&e),
        })?;
        let _ = (&spec.title, &spec.description);
        if let Some(ext) = &spec.extend {
            let _ = (ext.use_default, &ext.path);
            if !ext.disabled_rules.is_empty() || ext.path.is_some() {
                self.warnings.push(format!(
                    "{file}: [extend] is not supported; use --disable or --no-default-rules instead"
                ));
            }
        }
        for al in spec.allowlist.into_iter().chain(spec.allowlists) {
            let compiled = compile_allowlist(al, Compile::Now).map_err(|reason| RuleError {
                file: file.to_string(),
                rule: None,
                reason: format!("global allowlist: {reason}"),
            })?;
            self.allowlists.extend(compiled);
        }
        let mut seen: HashSet<String> = self.rules.iter().map(|r| r.id.clone()).collect();
        for spec in spec.rules {
            let id = spec.id.clone();
            let err = |reason: String| RuleError {
                file: file.to_string(),
                rule: Some(id.clone()),
                reason,
            };
            if !seen.insert(id.clone()) {
                return Err(err("duplicate rule id".into()));
            }
            match compile_rule(spec, file, compile)? {
                Compiled::Rule(rule) => {
                    if rule.keywords.is_empty() {
                        self.warnings.push(format!(
                            "{file}: rule '{}' has no keywords, so it runs on every line (slow)",
                            rule.id
                        ));
                    }
                    self.rules.push(*rule);
                }
                Compiled::Skipped(why) => self
                    .warnings
                    .push(format!("{file}: rule '{id}' skipped: {why}")),
            }
        }
        Ok(())
    }

    /// Keeps only rules selected by `enable` (ids or tags; empty = all) and not in `disable`.
    pub fn select(&mut self, enable: &[String], disable: &[String]) -> Result<(), UnknownRule> {
        for name in enable.iter().chain(disable) {
            if !self
                .rules
                .iter()
                .any(|r| r.id == *name || r.tags.contains(name))
            {
                return Err(UnknownRule { name: name.clone() });
            }
        }
        let hit =
            |r: &Rule, names: &[String]| names.iter().any(|n| r.id == *n || r.tags.contains(n));
        self.rules
            .retain(|r| (enable.is_empty() || hit(r, enable)) && !hit(r, disable));
        Ok(())
    }

    /// The longest match any rule can produce: the overlap long lines need between windows.
    pub fn max_match_len(&self) -> usize {
        self.rules
            .iter()
            .map(|r| r.max_match_len)
            .max()
            .unwrap_or(0)
    }
}

/// Rule files larger than this are refused: the upstream gitleaks config is ~100 KB.
pub const MAX_RULE_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a rule file the way `--hash-key-file` is read: `stat` first (opening a FIFO would block),
/// then at most one byte past the limit, in case the file grew in between.
fn read_rule_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(
            "cannot read: not a regular file (a FIFO, device or directory is not a rule file)"
                .into(),
        );
    }
    let too_big =
        || format!("cannot read: larger than {MAX_RULE_FILE_BYTES} bytes, not a rule file");
    if meta.len() > MAX_RULE_FILE_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_RULE_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_RULE_FILE_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|_| "cannot read: not valid UTF-8".into())
}

/// When rule regexes are compiled: user files at once (errors at load), built-ins on first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compile {
    Now,
    Lazily,
}

enum Compiled {
    Rule(Box<Rule>),
    Skipped(String),
}

fn compile_rule(spec: RuleSpec, file: &str, compile: Compile) -> Result<Compiled, RuleError> {
    let err = |reason: String| RuleError {
        file: file.to_string(),
        rule: Some(spec.id.clone()),
        reason,
    };
    if spec.id.trim().is_empty() {
        return Err(err("empty rule id".into()));
    }
    let _ = spec.skip_report;
    let Some(pattern) = spec.regex.clone() else {
        if spec.path.is_some() {
            return Ok(Compiled::Skipped(
                "it matches file paths only, which log lines do not have".into(),
            ));
        }
        return Err(err("missing 'regex'".into()));
    };
    if spec.path.is_some() {
        // A path condition narrows a source-scanner rule; in logs there is no path, so the
        // regex alone decides. Keeping the rule is the safe direction for a redactor.
    }
    let hir = parse_pattern(&pattern).map_err(|e| err(format!("bad regex: {e}")))?;
    if let Some(why) = never_matches(&hir) {
        return Err(err(format!(
            "regex {why}, so the rule would never redact anything"
        )));
    }
    let compiled = OnceLock::new();
    if compile == Compile::Now {
        let regex = build_rule_regex(&pattern, &spec.keywords)
            .map_err(|e| err(format!("bad regex: {e}")))?;
        let _ = compiled.set(regex);
    }
    let groups = hir.properties().explicit_captures_len();
    if let Some(g) = spec.secret_group {
        if g > groups {
            return Err(err(format!(
                "secretGroup {g} out of range: the regex has {groups} capture group(s)"
            )));
        }
        if g > 0 && find_capture(&hir, g).and_then(never_matches).is_some() {
            return Err(err(format!(
                "secretGroup {g} can only match the empty string, so the rule would never redact anything"
            )));
        }
    }
    if let Some(e) = spec.entropy {
        if !(0.0..=8.0).contains(&e) {
            return Err(err(format!("entropy {e} out of range 0..8 bits per byte")));
        }
    }
    let validate = match spec.validate.as_deref() {
        None => None,
        // The value is not echoed: a misplaced secret in `validate` must not reach stderr.
        Some(name) => Some(
            Validator::from_name(name)
                .ok_or_else(|| err(format!("unknown validator (known: {})", Validator::names())))?,
        ),
    };
    let precedence = match spec.precedence.as_deref() {
        Some("generic") => Precedence::Generic,
        Some("specific") => Precedence::Specific,
        Some(_) => {
            return Err(err(
                "unknown precedence (known: generic, specific)".to_string()
            ))
        }
        // gitleaks-style files say it with a tag.
        None if spec.tags.iter().any(|t| t == "generic") => Precedence::Generic,
        None => Precedence::Specific,
    };
    if spec.keywords.iter().any(|k| k.is_empty()) {
        return Err(err("empty keyword".into()));
    }
    let list_item = spec
        .list_item
        .as_deref()
        .map(|p| build_regex(&format!("^(?:{p})")).map_err(|e| err(format!("listItem: {e}"))))
        .transpose()?;
    let mut allowlists = Vec::new();
    for al in spec.allowlist.into_iter().chain(spec.allowlists) {
        allowlists
            .extend(compile_allowlist(al, compile).map_err(|r| err(format!("allowlist: {r}")))?);
    }
    let max_match_len = hir
        .properties()
        .maximum_len()
        .map_or(MAX_MATCH_LEN_CAP, |n| n.min(MAX_MATCH_LEN_CAP));
    Ok(Compiled::Rule(Box::new(Rule {
        id: spec.id,
        description: spec.description,
        pattern,
        compiled,
        secret_group: spec.secret_group,
        entropy: spec.entropy,
        keywords: spec.keywords,
        tags: spec.tags,
        validate,
        precedence,
        prefix: spec.prefix,
        list_item,
        redact: spec.redact,
        allowlists,
        examples: spec.examples,
        negative_examples: spec.negative_examples,
        max_match_len,
        origin: file.to_string(),
    })))
}

/// Compiles a rule's own regex: the pattern with its wide bounded repeats widened (see
/// [`repeats`]: a superset, and far fewer NFA states to confirm with), configured exactly as
/// [`build_regex`] configures a `regex::bytes::Regex` (`RegexBuilder` maps `unicode(false)`,
/// `size_limit` and `dfa_size_limit` to these settings, plus leftmost-first semantics and no
/// UTF-8 requirement on bytes or empty matches), but as the meta regex underneath, so the
/// detector can own its caches.
///
/// The pattern is parsed once, for the regex and for its keyword reach (with `keywords`).
fn build_rule_regex(pattern: &str, keywords: &[String]) -> Result<ConfirmRegex, String> {
    let widened = repeats::widened(
        pattern,
        repeats::WIDEST_BOUNDED_REPEAT,
        repeats::Widen::ValuesAndLazyGaps,
    );
    let hir = parse_pattern(&widened)?;
    let regex = meta_builder()
        .build_from_hir(&hir)
        .map_err(|e| meta_error_reason(&widened, &e))?;
    Ok(ConfirmRegex {
        regex,
        keyword_reach: keyword_reach(&hir, keywords),
    })
}

/// A rule's compiled regex, and what `detect` may assume about its matches.
#[derive(Debug, Clone)]
struct ConfirmRegex {
    regex: meta::Regex,
    keyword_reach: Option<usize>,
}

/// Compiles `pattern` as written into a meta regex configured as [`build_rule_regex`] says.
fn build_meta_regex(pattern: &str) -> Result<meta::Regex, String> {
    meta_builder()
        .build(pattern)
        .map_err(|e| meta_error_reason(pattern, &e))
}

/// The configuration of [`build_rule_regex`]; its syntax settings are those of
/// [`parse_pattern`], for patterns it parses itself.
fn meta_builder() -> meta::Builder {
    let mut builder = meta::Builder::new();
    builder
        .configure(
            meta::Config::new()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .utf8_empty(false)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .hybrid_cache_capacity(DFA_CACHE_BYTES),
        )
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        );
    builder
}

/// [`regex_error_reason`] for a meta regex's build error.
fn meta_error_reason(pattern: &str, error: &meta::BuildError) -> String {
    if let Err(e) = parse_pattern(pattern) {
        return e;
    }
    match error.size_limit() {
        Some(limit) => format!("compiled regex exceeds the size limit of {limit} bytes"),
        None => "invalid pattern".to_string(),
    }
}

/// Compiles a rule regex the way every engine interprets it: bytes, ASCII classes and word
/// boundaries (Unicode-aware `\b` forces the slow engine on non-ASCII input), bounded caches.
pub(crate) fn build_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_CACHE_BYTES)
        .build()
        .map_err(|e| regex_error_reason(pattern, &e))
}

/// Why `pattern` does not compile, without quoting it: `regex`'s own message repeats the pattern,
/// and a user's pattern may hold a literal secret. Names the error kind and its byte offset.
fn regex_error_reason(pattern: &str, error: &regex::Error) -> String {
    if let Err(e) = parse_pattern(pattern) {
        return e;
    }
    match error {
        regex::Error::CompiledTooBig(limit) => {
            format!("compiled regex exceeds the size limit of {limit} bytes")
        }
        _ => "invalid pattern".to_string(),
    }
}

fn compile_allowlist(spec: AllowlistSpec, compile: Compile) -> Result<Option<Allowlist>, String> {
    let _ = (&spec.description, &spec.commits, &spec.paths);
    if spec.regexes.is_empty() && spec.stopwords.is_empty() {
        // Only commit/path conditions: nothing that applies to a log line.
        return Ok(None);
    }
    let compiled = OnceLock::new();
    if compile == Compile::Now {
        let regexes = spec
            .regexes
            .iter()
            .map(|p| build_meta_regex(p).map_err(|e| format!("bad regex: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let _ = compiled.set(regexes);
    }
    Ok(Some(Allowlist {
        condition: spec.condition,
        regex_target: spec.regex_target,
        patterns: spec.regexes,
        compiled,
        stopwords: spec
            .stopwords
            .iter()
            .map(|s| s.to_ascii_lowercase().into_bytes())
            .collect(),
    }))
}

/// Why a parsed regex can never produce a useful match, if so: it matches nothing at all (an
/// empty class, `[^\x00-\xff]`) or only the empty string (`''`, `^$`, `a{0}`, `(?:)|\b`).
fn never_matches(hir: &regex_syntax::hir::Hir) -> Option<&'static str> {
    let props = hir.properties();
    match (props.minimum_len(), props.maximum_len()) {
        (None, _) => Some("can match nothing"),
        (_, Some(0)) => Some("can only match the empty string"),
        _ => None,
    }
}

/// The capture group numbered `index` within `hir`.
fn find_capture(hir: &regex_syntax::hir::Hir, index: usize) -> Option<&regex_syntax::hir::Hir> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) if c.index as usize == index => Some(&c.sub),
        HirKind::Capture(c) => find_capture(&c.sub, index),
        HirKind::Repetition(r) => find_capture(&r.sub, index),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().find_map(|h| find_capture(h, index))
        }
        _ => None,
    }
}

/// Parses `pattern` as [`build_regex`] would, without compiling it.
fn parse_pattern(pattern: &str) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| scrub::syntax_error_reason(&e))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// TOML errors quote the offending source line, which may hold a secret: keep only the message,
/// and within it only words of the schema and of the parser's own phrasing (see [`scrub::scrub_message`]).
fn toml_reason(e: &toml::de::Error) -> String {
    format!(
        "invalid rule file: {}",
        scrub::scrub_message(&one_line(e.message()))
    )
}

/// Finds the `id` of the `[[rules]]` table that contains byte offset `span.start`, if any.
fn rule_id_near(text: &str, span: Option<std::ops::Range<usize>>) -> Option<String> {
    let at = span?.start.min(text.len());
    let before = &text[..at];
    let table = before.rfind("[[rules]]")?;
    let section = &text[table..];
    let end = section[9..]
        .find("[[rules]]")
        .map_or(section.len(), |e| e + 9);
    section[..end].lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "id").then(|| value.trim().trim_matches(['"', '\'']).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        set.add_toml("test.toml", text).map(|_| set)
    }

    #[test]
    fn bad_regex_names_file_rule_and_reason() {
        let e = load("[[rules]]\nid = \"broken\"\nregex = '''(unclosed'''\nkeywords=[\"x\"]\n")
            .unwrap_err();
        assert_eq!(e.file, "test.toml");
        assert_eq!(e.rule.as_deref(), Some("broken"));
        assert!(e.reason.starts_with("bad regex"), "{}", e.reason);
    }

    #[test]
    fn every_builtin_regex_compiles() {
        // Built-in rule and allowlist regexes compile on first use; this is where a bad one fails.
        let set = RuleSet::builtin().unwrap();
        for (n, al) in set.allowlists.iter().enumerate() {
            for p in &al.patterns {
                assert!(build_meta_regex(p).is_ok(), "global allowlist #{n}");
            }
        }
        for rule in &set.rules {
            assert!(
                build_rule_regex(&rule.pattern, &rule.keywords).is_ok(),
                "{}",
                rule.id
            );
            for p in rule.allowlists.iter().flat_map(|al| &al.patterns) {
                assert!(build_meta_regex(p).is_ok(), "{}: allowlist", rule.id);
            }
        }
    }

    #[test]
    fn bad_list_item_names_file_rule_and_reason() {
        let e = load(
            "[[rules]]\nid = \"keys\"\nregex = '''keys=(\\w{8})'''\nlistItem = ''',(\\w{8'''\n",
        )
        .unwrap_err();
        assert_eq!(e.rule.as_deref(), Some("keys"));
        assert!(e.reason.starts_with("listItem: "), "{}", e.reason);
    }

    #[test]
    fn duplicate_id_is_an_error() {
        let r = "[[rules]]\nid = \"a\"\nregex = 'x'\n";
        let e = load(&format!("{r}{r}")).unwrap_err();
        assert_eq!(e.rule.as_deref(), Some("a"));
        assert_eq!(e.reason, "duplicate rule id");
    }

    #[test]
    fn unknown_field_names_the_rule() {
        let e = load("[[rules]]\nid = \"typo\"\nregex = 'x'\nkeyword = [\"x\"]\n").unwrap_err();
        assert_eq!(e.rule.as_deref(), Some("typo"));
        assert!(e.reason.contains("unknown field"), "{}", e.reason);
    }

    #[test]
    fn secret_group_out_of_range() {
        let e = load("[[rules]]\nid = \"g\"\nregex = '(a)'\nsecretGroup = 2\n").unwrap_err();
        assert!(
            e.reason.contains("secretGroup 2 out of range"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn toml_error_does_not_quote_the_source_line() {
        let e =
            load("[[rules]]\nid = \"q\"\nregex = 'x'\nentropy = \"hunter2-secret\n").unwrap_err();
        assert!(!e.to_string().contains("hunter2-secret"), "{e}");
    }

    #[test]
    fn precedence_is_a_field_that_defaults_to_the_generic_tag() {
        let load = |extra: &str| {
            let mut set = RuleSet::default();
            set.add_toml(
                "p.toml",
                &format!("[[rules]]\nid='a'\nregex='x{{3}}'\n{extra}\n"),
            )
            .map(|()| set.rules[0].precedence)
        };
        assert_eq!(load(""), Ok(Precedence::Specific));
        assert_eq!(load("tags=['generic']"), Ok(Precedence::Generic));
        assert_eq!(load("precedence='generic'"), Ok(Precedence::Generic));
        assert_eq!(
            load("tags=['generic']\nprecedence='specific'"),
            Ok(Precedence::Specific)
        );
        let e = load("precedence='hunter2'").unwrap_err().to_string();
        assert!(
            e.contains("unknown precedence") && !e.contains("hunter2"),
            "{e}"
        );
        let builtin = RuleSet::builtin().unwrap();
        let secret_assignment = builtin.rules.iter().find(|r| r.id == "secret-assignment");
        assert_eq!(
            secret_assignment.map(|r| r.precedence),
            Some(Precedence::Generic)
        );
    }

    #[test]
    fn errors_never_quote_values_from_the_file() {
        let secret = "ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8";
        let rule = "[[rules]]\nid = \"r\"\n";
        for text in [
            format!("{rule}regex = '''{secret}(unclosed'''\n"),
            format!("{rule}regex = '''{secret}[z-a]'''\n"),
            format!("{rule}regex = 'x'\nentropy = \"{secret}\"\n"),
            format!("{rule}regex = 'x'\nredact = \"{secret}\"\n"),
            format!("{rule}regex = 'x'\nsecretGroup = '{secret}'\n"),
            format!("{rule}regex = 'x'\n{secret} = 1\n"),
            format!("{rule}regex = 'x'\nentropy = \"\\\"{secret}\\\"\"\n"),
            format!("{rule}regex = 'x'\ntags = \"it's {secret}\"\n"),
            format!("{rule}regex = 'x'\nredact = \"a`{secret}\"\n"),
            format!("{rule}regex = 'x'\ntags = 1234{}\n", &secret[4..]),
            format!("{rule}regex = 'x'\ntags = {secret}\n"),
            format!("{rule}regex = 'x'\n[[rules.allowlists]]\nregexes = ['{secret}(']\n"),
        ] {
            let e = load(&text).unwrap_err().to_string();
            assert!(!e.contains(&secret[4..16]), "{e}");
            assert!(e.starts_with("test.toml"), "{e}");
        }
    }

    #[test]
    fn regex_errors_name_kind_and_offset() {
        let e = load("[[rules]]\nid = \"b\"\nregex = '''abc(def'''\n").unwrap_err();
        assert_eq!(e.reason, "bad regex: unclosed group at byte 3");
    }

    #[test]
    fn schema_words_survive_scrubbing() {
        let e = load("[[rules]]\nid = \"m\"\nregex = 'x'\nredact = \"blur\"\n").unwrap_err();
        assert!(
            e.reason.contains("`mask`") && !e.reason.contains("blur"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn rule_without_keywords_warns() {
        let set = load("[[rules]]\nid = \"k\"\nregex = 'abc'\n").unwrap();
        assert!(set.rules[0].runs_on_every_line());
        assert!(set.warnings[0].contains("no keywords"));
    }

    #[test]
    fn gitleaks_shaped_file_loads() {
        let text = r#"
title = "gitleaks config"
[extend]
useDefault = true
[allowlist]
description = "global"
paths = ['''\.lock$''']
[[rules]]
id = "generic-api-key"
description = "Generic API Key"
regex = '''(?i)(?:key|api)(?:[0-9a-z\-_\t .]{0,20})(?:[\s|']|[\s|"]){0,3}(?:=|>|:{1,3}=|\|\|:|<=|=>|:|\?=)(?:'|\"|\s|=|\x60){0,5}([0-9a-z\-_.=]{10,150})(?:['|\"|\n|\r|\s|\x60|;]|$)'''
secretGroup = 1
entropy = 3.5
keywords = ["key", "api"]
[[rules.allowlists]]
regexTarget = "match"
stopwords = ["example"]
[[rules]]
id = "pkcs12-file"
path = '''(?i)\.(?:p12|pfx)$'''
"#;
        let set = load(text).unwrap();
        assert_eq!(set.rules.len(), 1);
        assert!(set.warnings.iter().any(|w| w.contains("pkcs12-file")));
    }

    #[test]
    fn max_match_len_is_finite_for_bounded_rules() {
        let set =
            load("[[rules]]\nid='a'\nregex='ghp_[A-Za-z0-9]{36}'\n[[rules]]\nid='b'\nregex='a+'\n")
                .unwrap();
        assert_eq!(set.rules[0].max_match_len, 40);
        assert_eq!(set.rules[1].max_match_len, MAX_MATCH_LEN_CAP);
    }

    #[test]
    fn builtin_rules_load_without_warnings() {
        let set = RuleSet::builtin().unwrap();
        assert!(
            set.rules.iter().all(|r| !r.keywords.is_empty()),
            "built-in rule without keywords"
        );
    }
}
