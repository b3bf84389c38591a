//! The zero-copy walk against arbitrary records: what it does not rewrite leaves byte for byte.

use proptest::prelude::*;

use super::{redact_entries, Redaction};
use crate::format::keys::SecretKeys;

/// Built once: compiling the rules dominates a debug-build test otherwise.
fn redaction() -> &'static Redaction {
    static R: std::sync::OnceLock<Redaction> = std::sync::OnceLock::new();
    R.get_or_init(|| Redaction {
        filter: logredact_core::builtin_filter().expect("built-in filter"),
        keys: SecretKeys::new(&[]),
    })
}

/// Appends a length header in one of the forms msgpack allows for `n` (not only the shortest:
/// senders may use any, and the relay must not normalise them).
fn head(out: &mut Vec<u8>, n: usize, fix: Option<(u8, usize)>, tags: &[u8], form: u8) {
    let widths = [1usize, 2, 4];
    let mut choices: Vec<(u8, usize)> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let w = widths[i + 3 - tags.len()];
        if w == 4 || n < 1 << (8 * w) {
            choices.push((*t, w));
        }
    }
    if let Some((f, max)) = fix {
        if n <= max && form % 2 == 0 {
            out.push(f | n as u8);
            return;
        }
    }
    let (t, w) = choices[usize::from(form) % choices.len()];
    out.push(t);
    out.extend_from_slice(&(n as u64).to_be_bytes()[8 - w..]);
}

/// A random msgpack value without secrets: words from a small alphabet, every scalar type,
/// ext (EventTime included), and str/bin/array/map headers in any of their encodings.
fn value(depth: u32) -> BoxedStrategy<Vec<u8>> {
    let word = "([a-z]{1,6} ){0,6}";
    let leaf = prop_oneof![
        (word, any::<u8>()).prop_map(|(s, form)| {
            let mut o = Vec::new();
            head(&mut o, s.len(), Some((0xa0, 31)), &[0xd9, 0xda, 0xdb], form);
            o.extend_from_slice(s.as_bytes());
            o
        }),
        (prop::collection::vec(any::<u8>(), 0..20), any::<u8>()).prop_map(|(b, form)| {
            let mut o = Vec::new();
            head(&mut o, b.len(), None, &[0xc4, 0xc5, 0xc6], form);
            o.extend_from_slice(&b);
            o
        }),
        (any::<u8>(), any::<u64>()).prop_map(|(t, x)| {
            let raw = x.to_be_bytes();
            let mut o = vec![[0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3][usize::from(t % 8)]];
            o.extend_from_slice(&raw[8 - (1 << (t % 4))..]);
            o
        }),
        any::<u8>().prop_map(|b| vec![b & 0x7f]),
        any::<u8>().prop_map(|b| vec![0xe0 | (b & 0x1f)]),
        any::<u64>().prop_map(|x| [&[0xcb][..], &x.to_be_bytes()].concat()),
        any::<u32>().prop_map(|x| [&[0xca][..], &x.to_be_bytes()].concat()),
        Just(vec![0xc0]),
        Just(vec![0xc2]),
        Just(vec![0xc3]),
        any::<u64>().prop_map(|x| [&[0xd7, 0x00][..], &x.to_be_bytes()].concat()),
        (prop::collection::vec(any::<u8>(), 0..12), any::<i8>()).prop_map(|(b, t)| [
            &[0xc7, b.len() as u8, t as u8][..],
            &b
        ]
        .concat()),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => (prop::collection::vec(value(depth - 1), 0..6), any::<u8>()).prop_map(|(items, form)| {
            let mut o = Vec::new();
            head(&mut o, items.len(), Some((0x90, 15)), &[0xdc, 0xdd], form);
            items.iter().for_each(|i| o.extend_from_slice(i));
            o
        }),
        1 => (prop::collection::vec(("[a-h]{1,8}", value(depth - 1)), 0..6), any::<u8>())
            .prop_map(|(members, form)| {
                let mut o = Vec::new();
                head(&mut o, members.len(), Some((0x80, 15)), &[0xde, 0xdf], form);
                for (k, v) in members {
                    // "x" prefix: no generated key is a secret-named one.
                    o.push(0xa0 | (k.len() as u8 + 1));
                    o.push(b'x');
                    o.extend_from_slice(k.as_bytes());
                    o.extend_from_slice(&v);
                }
                o
            }),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// decode → walk → encode of records without secrets is the identity on the entries' bytes.
    #[test]
    fn records_without_secrets_leave_byte_for_byte(
        entries in prop::collection::vec((value(0), value(3)), 0..8)
    ) {
        let r = redaction();
        let mut s = r.scratch();
        let mut input = Vec::new();
        for (time, record) in &entries {
            input.push(0x92);
            input.extend_from_slice(time);
            input.extend_from_slice(record);
        }
        // Forward mode (count given) and the packed modes (count from the bytes) alike.
        for count in [Some(entries.len()), None] {
            let mut out = Vec::new();
            let n = redact_entries(r, &input, count, &mut s, &mut out);
            prop_assert_eq!(n, Ok(entries.len()));
            let mut want = Vec::new();
            crate::relay::msgpack::write_array_head(&mut want, entries.len());
            want.extend_from_slice(&input);
            prop_assert!(out == want, "output differs from input ({} vs {} bytes)", out.len(), want.len());
        }
    }
}

/// A secret in a value is rewritten (re-encoded with its new length), a secret-named key's value
/// is replaced whole, and the bytes around both are kept.
#[test]
fn changed_strings_are_reencoded_and_the_rest_kept() {
    let r = redaction();
    let mut s = r.scratch();
    let secret = "password=hunter2hunter2";
    let mut rec = vec![0x83];
    rec.extend_from_slice(b"\xa3log");
    rec.push(0xd9); // str8 for a short string: kept when unchanged, so use it on "n"
    rec.push(secret.len() as u8);
    rec.extend_from_slice(secret.as_bytes());
    rec.extend_from_slice(b"\xa1n\xd9\x02ok");
    rec.extend_from_slice(b"\xa7api_key\xa6abc123");
    let mut input = vec![0x92, 0xd7, 0x00, 1, 2, 3, 4, 5, 6, 7, 8];
    input.extend_from_slice(&rec);
    let mut out = Vec::new();
    assert_eq!(redact_entries(r, &input, Some(1), &mut s, &mut out), Ok(1));
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains("hunter2"), "password value kept");
    assert!(!text.contains("abc123"), "secret-named field kept");
    assert!(out.starts_with(&[0x91, 0x92, 0xd7, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x83]));
    let ok = b"\xa1n\xd9\x02ok\xa7api_key";
    assert!(
        out.windows(ok.len()).any(|w| w == ok),
        "unchanged bytes re-encoded"
    );
}

/// Bad entries are errors naming the construct, never content.
#[test]
fn bad_entries_are_errors() {
    let r = redaction();
    let mut s = r.scratch();
    let mut out = Vec::new();
    let e = redact_entries(r, b"\x93\x01\x02\x03", None, &mut s, &mut out);
    assert_eq!(e, Err("entry is not a [time, record] pair"));
    let e = redact_entries(r, b"\x92\x01\xa5ab", None, &mut s, &mut out);
    assert_eq!(e, Err("entries end inside an entry"));
    let e = redact_entries(r, b"\x92\x01", Some(2), &mut s, &mut out);
    assert!(e.is_err());
    let mut deep = vec![0x92, 0x01];
    deep.extend(std::iter::repeat_n(0x91, 100));
    deep.push(0xc0);
    let e = redact_entries(r, &deep, None, &mut s, &mut out);
    assert_eq!(e, Err("nesting too deep"));
}
