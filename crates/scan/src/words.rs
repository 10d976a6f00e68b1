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

/// A word's hash before mixing: its bytes eight at a time (little-endian, the last chunk
/// zero-padded; a word has no zero byte, so padding cannot make two words equal), each
/// chunk xored in and multiplied, so a word of up to 8 bytes costs one multiply. The word
/// is `src[s..e]`: a chunk is loaded straight from `src` (and masked) wherever `src` has 8
/// bytes left, as it does for all but a file's last few words.
#[inline]
fn hash_run(src: &[u8], s: usize, e: usize) -> u64 {
    let mut h = (e - s) as u64;
    let mut i = s;
    while i < e {
        let n = (e - i).min(8);
        let chunk = match src.get(i..i + 8) {
            Some(c) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b) & (u64::MAX >> (64 - 8 * n))
            }
            None => src[i..i + n]
                .iter()
                .rev()
                .fold(0u64, |v, &b| (v << 8) | b as u64),
        };
        h = (h ^ chunk).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        i += n;
    }
    h
}

/// `u64::MAX >> (64 - 8 * n)` for `n` in 0..=8 (0 for `n` = 0): the low `n` bytes.
const LOW_BYTES: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut n = 1;
    while n <= 8 {
        t[n] = u64::MAX >> (64 - 8 * n);
        n += 1;
    }
    t
};

/// [`hash_run`] of `src[s..e]` (a word: `s < e`), without a loop for a word of up to 16
/// bytes with 16 bytes of `src` from its start: both chunks are loaded, both hash steps
/// computed, and the second kept only for a word longer than 8 (a conditional move).
#[inline(always)]
fn hash_short(src: &[u8], s: usize, e: usize) -> u64 {
    let n = e - s;
    match src.get(s..s + 16) {
        Some(c) if n <= 16 => {
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&c[..8]);
            hi.copy_from_slice(&c[8..]);
            let lo = u64::from_le_bytes(lo) & LOW_BYTES[n.min(8)];
            let hi = u64::from_le_bytes(hi) & LOW_BYTES[n.saturating_sub(8)];
            let one = ((n as u64) ^ lo).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let two = (one ^ hi).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            if n > 8 {
                two
            } else {
                one
            }
        }
        _ => hash_run(src, s, e),
    }
}

/// Bit `i` set when `block[i]` is a word byte (`block` is at most 64 bytes).
#[inline]
fn mask_scalar(block: &[u8]) -> u64 {
    let mut m = 0u64;
    for (i, &b) in block.iter().enumerate() {
        m |= (WORD[b as usize] as u64) << i;
    }
    m
}

/// [`mask_scalar`] of a full 64-byte block, sixteen bytes per SSE2 compare (SSE2 is part
/// of every x86-64 CPU).
#[cfg(target_arch = "x86_64")]
#[inline]
fn mask64(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is always available on x86-64; the loads are unaligned loads of 16
    // bytes each inside the 64-byte array.
    unsafe {
        let bias_digit = _mm_set1_epi8((0x80u8.wrapping_sub(b'0')) as i8);
        let lim_digit = _mm_set1_epi8((0x80u8 + 10) as i8);
        let bias_alpha = _mm_set1_epi8((0x80u8.wrapping_sub(b'a')) as i8);
        let lim_alpha = _mm_set1_epi8((0x80u8 + 26) as i8);
        let lower = _mm_set1_epi8(0x20);
        let under = _mm_set1_epi8(b'_' as i8);
        let mut m = 0u64;
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            // `b - '0' < 10` unsigned, as a signed compare of values shifted by 0x80.
            let digit = _mm_cmplt_epi8(_mm_add_epi8(v, bias_digit), lim_digit);
            let folded = _mm_or_si128(v, lower);
            let alpha = _mm_cmplt_epi8(_mm_add_epi8(folded, bias_alpha), lim_alpha);
            let us = _mm_cmpeq_epi8(v, under);
            let any = _mm_or_si128(_mm_or_si128(digit, alpha), us);
            m |= (_mm_movemask_epi8(any) as u16 as u64) << (16 * k);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn mask64(block: &[u8; 64]) -> u64 {
    mask_scalar(block)
}

impl Words {
    /// The filter of a file's bytes. The word runs are found 64 bytes at a time from a mask
    /// of word bytes: its rising edges are the runs' starts, its falling edges their ends.
    /// Starts and ends alternate, so after the end of a run carried in from the block
    /// before, the k-th start of a block pairs with its next end: the loop runs once per
    /// run, and words of up to 16 bytes are hashed without a loop ([`hash_short`]).
    pub(crate) fn of(bytes: &[u8]) -> Words {
        let mut w = Words([0; (BITS / 64) as usize]);
        // Start of the run open at the current position, if any.
        let mut open: Option<usize> = None;
        let mut base = 0;
        let mut blocks = bytes.chunks_exact(64);
        for block in &mut blocks {
            // `chunks_exact(64)` yields 64-byte slices only.
            let block: &[u8; 64] = block.try_into().unwrap_or(&[0; 64]);
            w.runs_of(bytes, mask64(block), 64, base, &mut open);
            base += 64;
        }
        let rest = blocks.remainder();
        if !rest.is_empty() {
            w.runs_of(bytes, mask_scalar(rest), rest.len(), base, &mut open);
        }
        if let Some(s) = open {
            w.set(hash_run(bytes, s, bytes.len()));
        }
        w
    }

    /// Adds the runs that end in the block of `len` bytes at `base` whose word-byte mask is
    /// `m`; `open` is the start of the run still open before the block, and after it.
    #[inline(always)]
    fn runs_of(&mut self, bytes: &[u8], m: u64, len: usize, base: usize, open: &mut Option<usize>) {
        let valid = u64::MAX >> (64 - len);
        let prev = (m << 1) | open.is_some() as u64;
        let mut starts = m & !prev & valid;
        let mut ends = !m & prev & valid;
        if let Some(s) = *open {
            if ends == 0 {
                // The run goes on through the whole block.
                return;
            }
            let e = base + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            self.set(hash_run(bytes, s, e));
            *open = None;
        }
        while starts != 0 {
            let s = base + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            if ends == 0 {
                // Only the block's last run can be without an end in it.
                *open = Some(s);
                return;
            }
            let e = base + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            self.set(hash_short(bytes, s, e));
        }
    }

    /// The three bits of a word: ten-bit fields of its hash's top 30 bits. The hash's last
    /// step is a multiply by an odd constant, whose high bits mix all of the bits below
    /// them (its low bits do not), so no finaliser is needed: about 4.6% false positives at
    /// 150 distinct words, as with MurmurHash3's finaliser before (the `fp_rate` test).
    #[inline]
    fn positions(h: u64) -> [u64; 3] {
        [h >> 54, (h >> 44) % BITS, (h >> 34) % BITS]
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
            .all(|run| self.has(hash_run(run, 0, run.len())))
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

    /// A small deterministic generator (xorshift64) for the tests' inputs.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// The filter as its definition says: every run of word bytes, hashed.
    fn reference(bytes: &[u8]) -> Words {
        let mut w = Words([0; (BITS / 64) as usize]);
        for run in bytes
            .split(|b| !WORD[*b as usize])
            .filter(|r| !r.is_empty())
        {
            w.set(hash_run(run, 0, run.len()));
        }
        w
    }

    #[test]
    fn the_mask_walk_finds_exactly_the_runs() {
        // Every byte value through the vector classifier.
        let all: Vec<u8> = (0..=255u8).collect();
        for block in all.chunks_exact(64) {
            let block: &[u8; 64] = block.try_into().unwrap();
            assert_eq!(mask64(block), mask_scalar(block));
        }
        // Runs that start, end and span at every offset around the 64-byte blocks, in
        // inputs of every length up to three blocks.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut text = Vec::new();
        for _ in 0..400 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 9) as usize;
            text.extend(std::iter::repeat_n(b'a' + (state >> 8) as u8 % 26, len));
            text.push([b' ', b'.', 0xc3, b'\n'][(state >> 16) as usize % 4]);
        }
        for len in 0..text.len().min(200) {
            assert_eq!(Words::of(&text[..len]), reference(&text[..len]), "{len}");
        }
        for start in 0..64 {
            assert_eq!(Words::of(&text[start..]), reference(&text[start..]));
        }
        let long = vec![b'x'; 300];
        assert_eq!(Words::of(&long), reference(&long));
        assert!(Words::of(&long).may_contain(std::str::from_utf8(&long).unwrap()));
    }

    /// Random bytes (every value, word bytes more often, runs of every length up to 40,
    /// so the 8- and 16-byte chunk limits and the 64-byte blocks are crossed at every
    /// offset) and this crate's own sources: the mask walk is bit-identical to the
    /// definition.
    #[test]
    fn the_mask_walk_equals_the_definition_on_random_and_real_inputs() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for round in 0..300 {
            let mut text = Vec::new();
            let len = (next() % 700) as usize;
            while text.len() < len {
                let r = next();
                if r.is_multiple_of(3) {
                    text.push((r >> 8) as u8);
                } else {
                    let run = ((r >> 8) % 41) as usize;
                    let alphabet = b"abcXYZ019_";
                    for k in 0..run {
                        text.push(alphabet[((r >> (16 + k % 40)) % 10) as usize]);
                    }
                    text.push(b" .(\n\xc3"[((r >> 24) % 5) as usize]);
                }
            }
            for cut in [0, 1, 7, 8, 15, 16, 17, 63, 64, 65] {
                let t = &text[cut.min(text.len())..];
                assert_eq!(Words::of(t), reference(t), "round {round} cut {cut}");
            }
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(Words::of(&bytes), reference(&bytes), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen} source files read");
    }

    /// The false-positive rate stays near a 1,024-bit, three-bit Bloom filter's 4.6% at 150
    /// distinct words, for random words and for families of similar ones (`eventAbc`,
    /// `eventAbd`, ...), which share most of their bytes.
    #[test]
    fn fp_rate() {
        let mut rnd = xorshift(88_172_645_463_325_252);
        for similar in [false, true] {
            let word = |r: &mut dyn FnMut() -> u64| -> String {
                let base = match similar {
                    true => ["event", "handle", "useFeat", "props", "EVENT_"][(r() % 5) as usize],
                    false => "",
                };
                let len = 3 + (r() % if similar { 6 } else { 14 }) as usize;
                let tail: String = (0..len)
                    .map(|_| (b'a' + (r() % 26) as u8) as char)
                    .collect();
                format!("{base}{tail}")
            };
            let (mut fps, mut total) = (0, 0);
            for _ in 0..200 {
                let present: Vec<String> = (0..150).map(|_| word(&mut rnd)).collect();
                let w = Words::of(present.join(" ").as_bytes());
                for _ in 0..200 {
                    let q = word(&mut rnd);
                    if !present.contains(&q) {
                        total += 1;
                        fps += usize::from(w.may_contain(&q));
                    }
                }
            }
            let rate = fps as f64 / total as f64;
            assert!(rate < 0.055, "similar words: {similar}: {rate:.4}");
        }
    }

    /// The filter's bits are part of the cache format: a change to the hash (or to what a
    /// word is) must bump `cache::FORMAT` and this value.
    const GOLDEN: &str = concat!(
        "0080000000000000000000000000000000000000000000000000000000000000",
        "0000000000010000000001000080000001000000200400400000000000000000",
        "0002000000000000000000080000000000000000000000000000000000000000",
        "0000000000000000000000000020000000020000000004000a00000000000000",
    );

    #[test]
    fn the_bits_are_those_the_cache_stores() {
        let w = Words::of(b"posthog.capture('user_signed_up', { plan: PLAN_PRO_MONTHLY_2026 })");
        let hex: Vec<String> = w.0.iter().map(|x| format!("{x:016x}")).collect();
        assert_eq!(hex.join(""), GOLDEN);
    }

    #[test]
    fn hash_short_is_hash_run() {
        let text: Vec<u8> = (0..70usize).map(|i| b'a' + (i * 7 % 26) as u8).collect();
        for s in 0..text.len() {
            for e in s + 1..=text.len().min(s + 30) {
                assert_eq!(hash_short(&text, s, e), hash_run(&text, s, e), "{s}..{e}");
            }
        }
    }
}
