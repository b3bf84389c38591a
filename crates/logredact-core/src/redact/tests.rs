//! Unit tests of markers per mode; end-to-end behaviour is in `tests/modes.rs`.

use super::*;

const RULES: &str = "\
[[rules]]\nid='pw'\nregex='x'\n\
[[rules]]\nid='gh'\nregex='y'\nprefix='ghp_'\n\
[[rules]]\nid='hashed'\nregex='z'\nredact='hash'\n";

fn rules() -> RuleSet {
    let mut set = RuleSet::default();
    set.add_toml("t", RULES).unwrap();
    set
}

fn finding(rule: u32, start: usize, end: usize) -> Finding {
    Finding {
        kind: FindingKind::Rule(rule),
        start,
        end,
        encoding: Encoding::Raw,
        precedence: crate::finding::Precedence::Specific,
    }
}

fn key() -> HashKey {
    HashKey::from_bytes(&[b'k'; 32], "test").unwrap()
}

fn replace(r: &Redactor, rule: u32, secret: &str) -> String {
    let mut out = Vec::new();
    r.write_replacement(&finding(rule, 0, secret.len()), secret.as_bytes(), &mut out);
    String::from_utf8(out).unwrap()
}

fn config(mode: Mode, template: Option<&str>) -> RedactConfig {
    RedactConfig {
        mode,
        key: Some(key()),
        template: template.map(|t| Template::parse(t).unwrap()),
    }
}

const GH: &str = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

#[test]
fn replaces_only_the_secret_spans() {
    let r = Redactor::new(&rules());
    let mut out = Vec::new();
    r.apply(
        b"a=111 b=222",
        &[finding(0, 2, 5), finding(0, 8, 11)],
        &mut out,
    );
    assert_eq!(out, b"a=[REDACTED:pw] b=[REDACTED:pw]");
}

#[test]
fn new_masks_even_rules_that_ask_for_hash() {
    assert_eq!(
        replace(&Redactor::new(&rules()), 2, "s3cret"),
        "[REDACTED:hashed]"
    );
}

#[test]
fn hash_mode_writes_a_stable_tag() {
    let r = Redactor::configured(&rules(), &config(Mode::Hash, None)).unwrap();
    // printf 'ghp_secret' | openssl dgst -sha256 -hmac kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
    assert_eq!(replace(&r, 0, "ghp_secret"), "[REDACTED:pw:bf0b7470d141]");
    assert_eq!(replace(&r, 1, "ghp_secret"), "[REDACTED:gh:bf0b7470d141]");
}

#[test]
fn hash_without_a_key_is_refused() {
    let no_key = RedactConfig {
        mode: Mode::Hash,
        ..RedactConfig::default()
    };
    let e = Redactor::configured(&rules(), &no_key)
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("--mode hash needs a key"), "{e}");
    // A rule's own `redact = "hash"` needs one too, and the message names the rule.
    let e = Redactor::configured(&rules(), &RedactConfig::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("rule 'hashed'"), "{e}");
}

#[test]
fn per_rule_override_beats_the_global_mode() {
    let r = Redactor::configured(&rules(), &config(Mode::Mask, None)).unwrap();
    assert_eq!(replace(&r, 0, "s3cret"), "[REDACTED:pw]");
    assert_eq!(
        replace(&r, 2, "ghp_secret"),
        "[REDACTED:hashed:bf0b7470d141]"
    );
}

#[test]
fn partial_keeps_public_prefix_and_last_four() {
    let r = Redactor::configured(&rules(), &config(Mode::Partial, None)).unwrap();
    assert_eq!(replace(&r, 1, GH), "[REDACTED:gh:ghp_...Q7r8]");
    // No declared prefix: only the suffix.
    assert_eq!(replace(&r, 0, GH), "[REDACTED:pw:...Q7r8]");
    // Too short: masked fully.
    assert_eq!(replace(&r, 1, "ghp_shortone"), "[REDACTED:gh]");
}

#[test]
fn partial_prefix_must_be_literal_and_hidden_part_long_enough() {
    let p = Some(&b"ghp_"[..]);
    let s = |x: &'static str| x.as_bytes();
    // Not a literal prefix of the secret: not kept.
    assert_eq!(
        partial_parts(p, s("GHP_A1b2C3d4E5f6G7h8I9")),
        (s(""), s("h8I9"))
    );
    // 20 bytes with a 4-byte prefix: keeping both would hide 12 — allowed.
    assert_eq!(
        partial_parts(p, s("ghp_A1b2C3d4E5f6G7h8")),
        (s("ghp_"), s("G7h8"))
    );
    // A long prefix that would leave fewer than 12 hidden bytes drops the suffix, then itself.
    let long = Some(&b"sk_live_abcdef"[..]);
    assert_eq!(
        partial_parts(long, s("sk_live_abcdefGHIJKLMNOP")),
        (s(""), s("MNOP"))
    );
    // A suffix with bytes that could end the marker is not kept.
    assert_eq!(
        partial_parts(None, s("A1b2C3d4E5f6G7h8I9j0]x y")),
        (s(""), s(""))
    );
}

#[test]
fn partial_never_shows_more_than_prefix_plus_four() {
    let p = b"xoxb-";
    for len in 0..80 {
        let secret: Vec<u8> = p
            .iter()
            .copied()
            .chain((0..len).map(|i| b'a' + (i % 26) as u8))
            .collect();
        let (kept_p, kept_s) = partial_parts(Some(p), &secret);
        assert!(kept_p.len() <= p.len() && kept_s.len() <= 4, "len {len}");
        assert!(
            secret.len() - kept_p.len() - kept_s.len()
                >= PARTIAL_MIN_HIDDEN_BYTES.min(secret.len())
        );
    }
}

#[test]
fn template_fills_placeholders_per_mode() {
    let t = "[REDACTED {rule} {prefix}~{suffix} #{hash}]";
    let r = Redactor::configured(&rules(), &config(Mode::Partial, Some(t))).unwrap();
    assert_eq!(
        replace(&r, 1, GH),
        format!("[REDACTED gh ghp_~Q7r8 #{}]", {
            let mut tag = Vec::new();
            key().write_tag(GH.as_bytes(), &mut tag);
            String::from_utf8(tag).unwrap()
        })
    );
    let r = Redactor::configured(&rules(), &config(Mode::Mask, Some(t))).unwrap();
    assert!(replace(&r, 1, GH).starts_with("[REDACTED gh ~ #"));
}

#[test]
fn template_hash_needs_key_and_hash_mode_needs_hash_in_template() {
    let mut c = config(Mode::Mask, Some("[REDACTED:{hash}]"));
    c.key = None;
    assert!(Redactor::configured(&rules(), &c).is_err());
    let c = config(Mode::Hash, Some("[REDACTED:{rule}]"));
    assert!(Redactor::configured(&rules(), &c).is_err());
}

#[test]
fn odd_rule_ids_cannot_break_the_marker() {
    let mut set = RuleSet::default();
    set.add_toml("t", "[[rules]]\nid='a]b c'\nregex='x'\n")
        .unwrap();
    assert_eq!(replace(&Redactor::new(&set), 0, "s"), "[REDACTED:a_b_c]");
}
