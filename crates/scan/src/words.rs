//! A per-file filter of the words a file contains (a 1,024-bit Bloom filter over its runs of
//! ASCII letters, digits and `_`), built in the same pass that reads the file.
//!
//! It answers "may this file contain the word `w`?" without reading the file again, so the
//! names the scan only learns after the first pass (the identifiers left to resolve across
//! files, wrappers inferred from other files) cost a read only of the files that may
//! contain them. Invariant: no false negatives. A name's bytes split into the same runs as
//! the file's, so if the name occurs in the file (as a whole token or inside a longer one),
//! each of its runs is a run of the file: [`Words::may_contain`] is true. False positives
//! (about 5% at 150 distinct words, more in very large files) only cost a read.

use serde::{Deserialize, Serialize};

const BITS: u64 = 1024;

/// The filter (128 bytes per file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Words([u64; (BITS / 64) as usize]);

const BYTES: usize = (BITS / 8) as usize;

/// Serialized as 128 raw bytes (little-endian words), not as 16 varints.
impl Serialize for Words {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = [0u8; BYTES];
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        s.serialize_bytes(&out)
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Words, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Words;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "{BYTES} bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Words, E> {
                if v.len() != BYTES {
                    return Err(E::invalid_length(v.len(), &self));
                }
                let mut w = [0u64; (BITS / 64) as usize];
                for (x, chunk) in w.iter_mut().zip(v.chunks_exact(8)) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(chunk);
                    *x = u64::from_le_bytes(b);
                }
                Ok(Words(w))
            }
        }
        d.deserialize_bytes(V)
    }
}

const fn word_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
}

static WORD: [bool; 256] = word_table();

/// One byte into a word's running hash: a rotate and a xor, so the per-byte dependency
/// chain stays two cycles; [`finish`] mixes once per word.
#[inline]
fn step(h: u64, b: u8) -> u64 {
    h.rotate_left(7) ^ b as u64
}

/// MurmurHash3's 64-bit finaliser: every input bit reaches every output bit.
#[inline]
fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl Words {
    /// The filter of a file's bytes.
    pub(crate) fn of(bytes: &[u8]) -> Words {
        let mut w = Words([0; (BITS / 64) as usize]);
        let mut h = 0u64;
        let mut in_word = false;
        for &b in bytes {
            if WORD[b as usize] {
                h = step(h, b);
                in_word = true;
            } else if in_word {
                w.set(h);
                h = 0;
                in_word = false;
            }
        }
        if in_word {
            w.set(h);
        }
        w
    }

    #[inline]
    fn positions(h: u64) -> [u64; 3] {
        let h = finish(h);
        [h % BITS, (h >> 20) % BITS, (h >> 40) % BITS]
    }

    #[inline]
    fn set(&mut self, h: u64) {
        for p in Self::positions(h) {
            self.0[(p / 64) as usize] |= 1 << (p % 64);
        }
    }

    fn has(&self, h: u64) -> bool {
        Self::positions(h)
            .iter()
            .all(|p| self.0[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }

    /// Whether the file may contain `name`'s bytes (never false when it does).
    pub(crate) fn may_contain(&self, name: &str) -> bool {
        // A name without a single word character cannot be ruled out this way.
        name.as_bytes()
            .split(|b| !WORD[*b as usize])
            .filter(|run| !run.is_empty())
            .all(|run| self.has(run.iter().fold(0, |h, b| step(h, *b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let text = b"export const EVENTS = { signUp: 'user_signed_up' }\nfoo$bar caf\xc3\xa9 @flag enabled?";
        let w = Words::of(text);
        for present in [
            "EVENTS",
            "signUp",
            "user_signed_up",
            "foo$bar",
            "bar",
            "caf\u{e9}",
            "@flag",
            "enabled?",
            "const",
        ] {
            assert!(w.may_contain(present), "{present}");
        }
        let absent = [
            "SIGNUP", "Events", "login", "flags", "beta_x", "EVENT_1", "track",
        ];
        let false_positives = absent.iter().filter(|n| w.may_contain(n)).count();
        assert!(false_positives <= 1, "{false_positives} false positives");
    }
}
