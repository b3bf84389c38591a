//! Building the Hyperscan database: what Hyperscan runs for each rule (its regex, its keywords,
//! or nothing), compiling it into one block-mode database, and what a cached database depends on.
//!
//! Owns: the per-rule plan, the compile-and-drop-rejects loop, the cache key. Must never: put a
//! rule Hyperscan rejects or must not run into the plan (it runs on the keyword path instead), or
//! return an error for a problem one rule explains.

use std::borrow::Cow;

use ::hyperscan::{
    BlockDatabase, Builder, Error as HsAnyError, HsError, Matching, Pattern, PatternFlags,
    Patterns, SerializedDatabase,
};

use super::hs_cache::{CacheKey, Entry};
use super::hs_compat;
use super::hyperscan::HyperscanOptions;
use super::EngineError;
use crate::rules::RuleSet;

/// Per rule: whether Hyperscan runs it, and whether as its keywords rather than its regex.
pub struct Plan {
    pub in_database: Vec<bool>,
    pub keyword_mode: Vec<bool>,
}

impl Plan {
    pub fn from_entry(rules: usize, entry: &Entry) -> Plan {
        let mut plan = Plan {
            in_database: vec![false; rules],
            keyword_mode: vec![false; rules],
        };
        for &i in &entry.in_database {
            plan.in_database[i as usize] = true;
        }
        for &i in &entry.keyword_mode {
            plan.keyword_mode[i as usize] = true;
        }
        plan
    }

    pub fn entry(&self, database: Vec<u8>) -> Entry {
        let indices = |flags: &[bool]| {
            (0..flags.len() as u32)
                .filter(|&i| flags[i as usize])
                .collect()
        };
        Entry {
            in_database: indices(&self.in_database),
            keyword_mode: indices(&self.keyword_mode),
            database,
        }
    }
}

/// Everything a compiled database depends on: library, CPU, options, and each rule's pattern and
/// keywords (the expressions compiled are derived from these).
pub fn cache_key(rules: &RuleSet, options: &HyperscanOptions, flags: PatternFlags) -> CacheKey {
    let environment = format!(
        "{} / logredact {} / flags {} widest {} stand-ins {}",
        environment(),
        env!("CARGO_PKG_VERSION"),
        flags.bits(),
        options.widest_bounded_repeat,
        options.keyword_stand_ins
    );
    let mut key = CacheKey::new(&environment);
    for rule in &rules.rules {
        key.push(&rule.pattern);
        key.push(&rule.keywords.len().to_string());
        for keyword in &rule.keywords {
            key.push(keyword);
        }
    }
    key
}

/// Decides what Hyperscan runs for each rule and compiles it into one database. Rules Hyperscan
/// rejects are dropped one by one (they run on the keyword path); an error means the compiler
/// failed for a reason no single rule explains.
pub fn compile(
    rules: &RuleSet,
    options: &HyperscanOptions,
    flags: PatternFlags,
) -> Result<(Option<BlockDatabase>, Plan), EngineError> {
    let mut plan = Plan {
        in_database: vec![false; rules.rules.len()],
        keyword_mode: vec![false; rules.rules.len()],
    };
    let mut patterns: Vec<(u32, Pattern)> = Vec::new();
    for (i, rule) in rules.rules.iter().enumerate() {
        if hs_compat::unsupported_reason(&rule.pattern).is_some() {
            continue;
        }
        let by_keyword = options.keyword_stand_ins
            && hs_compat::keywords_stand_in(&rule.pattern, &rule.keywords);
        let expression = if by_keyword {
            Cow::Owned(hs_compat::keyword_expression(&rule.keywords))
        } else {
            crate::rules::repeats::widened(
                &rule.pattern,
                options.widest_bounded_repeat,
                crate::rules::repeats::Widen::Everywhere,
            )
        };
        let pattern = Pattern {
            id: Some(i),
            ..Pattern::with_flags(expression.as_ref(), flags)
                .map_err(|_| EngineError::HyperscanPattern(rule.id.clone()))?
        };
        // Parse-only check first: cheap, and catches most rejections without a full compile.
        if matches!(pattern.info(), Ok(info) if info.min_width() > 0) {
            patterns.push((i as u32, pattern));
            plan.keyword_mode[i] = by_keyword;
        }
    }
    loop {
        if patterns.is_empty() {
            return Ok((None, plan));
        }
        let set: Patterns = patterns.iter().map(|(_, p)| p.clone()).collect();
        match set.build::<::hyperscan::BlockMode>() {
            Ok(db) => {
                for (i, _) in &patterns {
                    plan.in_database[*i as usize] = true;
                }
                return Ok((Some(db), plan));
            }
            Err(HsAnyError::Hyperscan(HsError::CompileError(e))) => match e.expression() {
                Some(index) if index < patterns.len() => {
                    let (rule, _) = patterns.remove(index);
                    plan.keyword_mode[rule as usize] = false;
                }
                _ => return Err(EngineError::HyperscanDatabase(e.message().to_owned())),
            },
            Err(e) => return Err(EngineError::HyperscanDatabase(e.to_string())),
        }
    }
}

/// Deserializes a cached database and checks that it scans on this machine.
pub fn usable_database(bytes: &[u8]) -> Option<BlockDatabase> {
    let db: BlockDatabase = bytes.deserialize().ok()?;
    let scratch = db.alloc_scratch().ok()?;
    db.scan(b"smoke test\n", &scratch, |_, _, _, _| Matching::Continue)
        .ok()?;
    Some(db)
}

/// What a serialized database depends on besides the patterns: library and CPU.
fn environment() -> String {
    let mut env = format!(
        "hyperscan {} / {} /",
        ::hyperscan::version_str().to_string_lossy(),
        std::env::consts::ARCH
    );
    #[cfg(target_arch = "x86_64")]
    {
        let features = [
            ("ssse3", is_x86_feature_detected!("ssse3")),
            ("sse4.2", is_x86_feature_detected!("sse4.2")),
            ("popcnt", is_x86_feature_detected!("popcnt")),
            ("bmi2", is_x86_feature_detected!("bmi2")),
            ("avx2", is_x86_feature_detected!("avx2")),
            ("avx512f", is_x86_feature_detected!("avx512f")),
            ("avx512bw", is_x86_feature_detected!("avx512bw")),
            ("avx512vbmi", is_x86_feature_detected!("avx512vbmi")),
        ];
        for (name, present) in features {
            if present {
                env.push(' ');
                env.push_str(name);
            }
        }
    }
    env
}
