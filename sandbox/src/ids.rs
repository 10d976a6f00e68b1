//! Identifier helpers: Notion UUIDs accepted with or without dashes, stable ids derived
//! from names (so scenario objects keep the same ids on every run), and seeded fresh ids.
//!
//! Invariant: every id the sandbox hands out is a lower-case dashed UUID
//! (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`); [`normalize`] maps any accepted spelling of
//! an id to that form, so lookups never depend on how a client wrote the id.

use rand::rngs::StdRng;
use rand::{Rng, RngCore};

/// Normalises a Notion id given with or without dashes (any case) to the dashed
/// lower-case form. Returns `None` when the text is not 32 hex digits.
pub fn normalize(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    // Dashes, when present, must sit where a UUID has them.
    if text.contains('-') {
        let dashes: Vec<usize> = text.match_indices('-').map(|(i, _)| i).collect();
        if text.len() != 36 || dashes != [8, 13, 18, 23] {
            return None;
        }
    }
    Some(dashed(&hex.to_ascii_lowercase()))
}

fn dashed(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The id without dashes, as Notion puts it in URLs.
pub fn compact(id: &str) -> String {
    id.replace('-', "")
}

fn fnv1a(seed: u64, text: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// SplitMix64's finaliser: spreads every input bit over the whole output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A UUID derived from `name` only: the same name always gives the same id.
pub fn stable_uuid(name: &str) -> String {
    let hi = mix(fnv1a(0x5a5a_1234, name));
    let lo = mix(fnv1a(0x0f0f_9876, name) ^ hi);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    from_bytes(bytes)
}

/// A fresh random (version 4) UUID from the seeded generator.
pub fn random_uuid(rng: &mut StdRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    from_bytes(bytes)
}

fn from_bytes(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// Characters Notion uses in short property ids; some are URL-encoded, as in real ids
/// (`%3AUPp`, `A%40Hk`).
const PROPERTY_ID_PIECES: &[&str] = &[
    "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "Q", "R", "S", "T", "U",
    "V", "W", "X", "Y", "Z", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "m", "n", "o",
    "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6", "7",
    "8", "9", "_", "~", "%3A", "%40", "%5E", "%3B", "%3E",
];

fn property_id_from(mut pick: impl FnMut(usize) -> usize) -> String {
    (0..4)
        .map(|_| PROPERTY_ID_PIECES[pick(PROPERTY_ID_PIECES.len())])
        .collect()
}

/// A short property id derived from a data source id and a property name.
pub fn stable_property_id(data_source_id: &str, name: &str) -> String {
    let mut hash = fnv1a(0x77, &format!("{data_source_id}/{name}"));
    property_id_from(|n| {
        let pick = (hash % n as u64) as usize;
        hash = hash.rotate_right(11).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        pick
    })
}

/// A fresh short property id from the seeded generator.
pub fn random_property_id(rng: &mut StdRng) -> String {
    property_id_from(|n| rng.random_range(0..n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn accepts_ids_with_or_without_dashes() {
        let dashed = "248104cd-477e-80fd-b757-e945d38000bd";
        assert_eq!(normalize(dashed).as_deref(), Some(dashed));
        assert_eq!(
            normalize("248104CD477E80FDB757E945D38000BD").as_deref(),
            Some(dashed)
        );
        assert_eq!(normalize("not-an-id"), None);
        assert_eq!(normalize("248104cd477e80fdb757e945d38000b"), None);
        assert_eq!(normalize("248104cd-477e80fdb757e945d38000bd"), None);
        assert_eq!(normalize("2481-04cd477e-80fd-b757-e945d38000bd"), None);
    }

    #[test]
    fn stable_ids_are_stable_and_distinct() {
        assert_eq!(stable_uuid("events/1"), stable_uuid("events/1"));
        assert_ne!(stable_uuid("events/1"), stable_uuid("events/2"));
        assert!(normalize(&stable_uuid("x")).is_some());
        assert_eq!(
            stable_property_id("ds", "Domain"),
            stable_property_id("ds", "Domain")
        );
    }

    #[test]
    fn seeded_ids_repeat_with_the_seed() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        assert_eq!(random_uuid(&mut a), random_uuid(&mut b));
    }
}
