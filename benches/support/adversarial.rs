//! Adversarial input built from a rule itself, shared by `tests/rule_speed.rs` (the speed
//! gate) and `benches/rules.rs`: its keywords repeated, its examples with the secret cut or
//! spoiled (near misses), long runs of characters from its regex's classes, and a 1 MB line
//! packed with keyword hits.
//!
//! Must never: print the text it builds (it is made of rule examples and user patterns).
#![allow(dead_code)]

use logredact::detect::{Detector, RuleMatch};
use logredact::engine::KeywordMatcher;
use logredact::rules::{Rule, RuleSet};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Size of the long line (the issue asks for 1 MB lines).
pub const LONG_LINE: usize = 1 << 20;

/// One adversarial input, cut the way `stream` hands text to the detector: batches of whole lines
/// of at most 256 KiB, and the long line alone.
pub struct Adversarial {
    pub batches: Vec<Vec<u8>>,
    pub bytes: usize,
}

/// A detector with `rule` alone.
pub fn alone(rule: &Rule) -> Detector {
    let set = RuleSet {
        rules: vec![rule.clone()],
        allowlists: Vec::new(),
        warnings: Vec::new(),
    };
    let matcher = KeywordMatcher::new(&set).expect("matcher builds");
    Detector::new(set, Box::new(matcher))
}

/// A trivial rule with `rule`'s keywords: the same candidates, next to no regex work.
pub fn reference_for(rule: &Rule) -> Detector {
    // TOML strings with escapes: a keyword may hold a quote or a control byte (`key\r`).
    let keywords: Vec<String> = rule
        .keywords
        .iter()
        .filter(|k| !k.is_empty())
        .map(|k| toml::Value::String(k.clone()).to_string())
        .collect();
    let toml = format!(
        "[[rules]]\nid = 'reference'\nregex = '''zq([0-9]{{8}})zq'''\nkeywords = [{}]\n",
        keywords.join(", ")
    );
    let mut set = RuleSet::default();
    set.add_toml("reference.toml", &toml)
        .expect("reference rule loads");
    let matcher = KeywordMatcher::new(&set).expect("matcher builds");
    Detector::new(set, Box::new(matcher))
}

/// Printable ASCII bytes accepted by each character class of `hir` (up to 64 per class).
fn classes(hir: &Hir, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Class(class) => {
            let bytes: Vec<u8> = (0x20u8..0x7f)
                .filter(|&b| match class {
                    Class::Bytes(c) => c.ranges().iter().any(|r| r.start() <= b && b <= r.end()),
                    Class::Unicode(c) => c
                        .ranges()
                        .iter()
                        .any(|r| r.start() <= char::from(b) && char::from(b) <= r.end()),
                })
                .take(64)
                .collect();
            if !bytes.is_empty() && !out.contains(&bytes) {
                out.push(bytes);
            }
        }
        HirKind::Repetition(r) => classes(&r.sub, out),
        HirKind::Capture(c) => classes(&c.sub, out),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|h| classes(h, out))
        }
        _ => {}
    }
}

/// `len` bytes cycling through `class` (varied, so entropy and placeholder gates do not cut the
/// regex work short).
fn run_of(class: &[u8], len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| class[(i * 7 + i / 3) % class.len()])
        .collect()
}

/// The examples with their secret spoiled: cut short, last byte swapped for `#`, only the text
/// before the secret.
fn near_misses(rule: &Rule, detector: &Detector) -> Vec<Vec<u8>> {
    let mut scratch = detector.scratch();
    let mut out = Vec::new();
    for example in &rule.examples {
        let text = example.as_bytes();
        let mut found: Vec<RuleMatch> = Vec::new();
        detector.find(text, &mut scratch, &mut found);
        for f in &found {
            let (head, secret, tail) = (&text[..f.start], &text[f.start..f.end], &text[f.end..]);
            out.push([head, &secret[..secret.len() - 1], tail].concat());
            out.push([head, &secret[..secret.len() / 2], tail].concat());
            out.push([head, &secret[..secret.len() - 1], b"#", tail].concat());
            out.push(head.to_vec());
        }
    }
    out
}

/// A keyword with its last byte changed: a near-miss prefix.
fn spoiled(keyword: &str) -> Vec<u8> {
    let mut k = keyword.as_bytes().to_vec();
    if let Some(last) = k.last_mut() {
        *last = if *last == b'#' { b'%' } else { b'#' };
    }
    k
}

/// The adversarial input for `rule` (`detector` is `rule` alone, used to find example secrets).
pub fn adversarial(rule: &Rule, detector: &Detector) -> Adversarial {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(&rule.pattern)
        .expect("built-in patterns parse");
    let mut class_list = Vec::new();
    classes(&hir, &mut class_list);
    if class_list.is_empty() {
        class_list.push(b"abcdefghijklmnopqrstuvwxyz0123456789".to_vec());
    }
    let misses = near_misses(rule, detector);

    // Short lines: keyword hits, near-miss prefixes and examples, short class runs.
    let mut lines = Vec::new();
    for rep in 0..400 {
        let keyword = rule.keywords[rep % rule.keywords.len()].as_bytes();
        let class = &class_list[rep % class_list.len()];
        let mut line = Vec::new();
        for _ in 0..4 {
            line.extend_from_slice(keyword);
            line.push(b' ');
        }
        line.extend_from_slice(&spoiled(&rule.keywords[rep % rule.keywords.len()]));
        line.push(b'=');
        line.extend(run_of(class, 40 + rep % 60));
        if let Some(miss) = misses.get(rep % misses.len().max(1)) {
            line.push(b' ');
            line.extend_from_slice(miss);
        }
        line.retain(|&b| b != b'\n');
        line.push(b'\n');
        lines.push(line);
    }
    // Long runs of each class right after a keyword (the regex's widest repetition).
    for (i, class) in class_list.iter().enumerate() {
        let mut line = rule.keywords[i % rule.keywords.len()].as_bytes().to_vec();
        line.extend_from_slice(b"=");
        line.extend(run_of(class, 8 * 1024));
        line.push(b'\n');
        lines.push(line);
    }
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    for line in lines {
        if batch.len() + line.len() > 256 * 1024 {
            batches.push(std::mem::take(&mut batch));
        }
        batch.extend(line);
    }
    batches.push(batch);

    // One 1 MB line packed with keyword hits, each followed by a class run: long lines are
    // confirmed in a window around every candidate, so this is where a wide rule hurts.
    let mut long = Vec::with_capacity(LONG_LINE + 64);
    let mut i = 0;
    while long.len() < LONG_LINE {
        long.extend_from_slice(rule.keywords[i % rule.keywords.len()].as_bytes());
        long.push(if i % 2 == 0 { b'=' } else { b' ' });
        long.extend(run_of(&class_list[i % class_list.len()], 24 + i % 40));
        long.push(b' ');
        i += 1;
    }
    long.retain(|&b| b != b'\n');
    long.push(b'\n');
    batches.push(long);
    let bytes = batches.iter().map(Vec::len).sum();
    Adversarial { batches, bytes }
}
