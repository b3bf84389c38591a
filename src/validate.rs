//! Offline validators: checks that a candidate secret has the structure its format promises
//! (a checksum, a decodable header, a charset), named by a rule's `validate` field.
//!
//! Owns: the table of validator names and their checks. Must never: do I/O, call the network,
//! or print anything derived from the secret it is given.

/// Names of every validator a rule may ask for in its `validate` field.
pub const NAMES: &[&str] = &[];

/// Whether `name` is a known validator (rule loading rejects unknown names).
pub fn is_known(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Runs validator `name` on `secret`; `true` keeps the finding, `false` drops it.
/// An unknown name keeps the finding (loading has already rejected unknown names).
pub fn check(name: &str, secret: &[u8]) -> bool {
    let _ = secret;
    match name {
        _ => true,
    }
}
