//! PostgreSQL `pg_trgm` similarity, as PostHog's list searches use it
//! (postgresql.org/docs/current/pgtrgm.html).
//!
//! A string's trigrams: it is lower-cased and split into words (runs of alphanumeric
//! characters); each word is padded with two spaces before and one after, and every three
//! consecutive characters of a padded word are a trigram. `similarity(a, b)` is the number of
//! trigrams the two sets share over the number in their union. `word_similarity(a, b)` is "the
//! greatest similarity between the set of trigrams in the first string and any continuous
//! extent of an ordered set of trigrams in the second string".

use std::collections::{BTreeMap, BTreeSet};

/// The trigrams of `text`, in order of appearance (repeats kept).
fn ordered(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    for word in lower.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let padded: Vec<char> = "  ".chars().chain(word.chars()).chain([' ']).collect();
        for window in padded.windows(3) {
            out.push(window.iter().collect());
        }
    }
    out
}

fn set(text: &str) -> BTreeSet<String> {
    ordered(text).into_iter().collect()
}

/// `similarity(a, b)`.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (set(a), set(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// `word_similarity(needle, text)`.
pub fn word_similarity(needle: &str, text: &str) -> f64 {
    let wanted = set(needle);
    if wanted.is_empty() {
        return 0.0;
    }
    let trigrams = ordered(text);
    // The best extent starts and ends on a trigram of `needle`: trimming others off its ends
    // only shrinks the union.
    let hits: Vec<usize> = (0..trigrams.len())
        .filter(|&i| wanted.contains(&trigrams[i]))
        .collect();
    let mut best = 0.0_f64;
    for (n, &start) in hits.iter().enumerate() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut next = start;
        for &end in &hits[n..] {
            for t in &trigrams[next..=end] {
                *counts.entry(t.as_str()).or_default() += 1;
            }
            next = end + 1;
            let shared = counts.keys().filter(|t| wanted.contains(**t)).count();
            let union = wanted.len() + counts.keys().filter(|t| !wanted.contains(**t)).count();
            best = best.max(shared as f64 / union as f64);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_are_per_padded_lower_case_word() {
        assert_eq!(ordered("Cat"), ["  c", " ca", "cat", "at "]);
        assert_eq!(ordered("a-b").len(), 4, "punctuation splits words");
    }

    #[test]
    fn similarity_matches_postgres_examples() {
        // similarity('word', 'two words') = 4 / 11 (pg_trgm docs' example trigram sets).
        assert!((similarity("word", "two words") - 4.0 / 11.0).abs() < 1e-9);
        assert_eq!(similarity("API Performance", "api performance"), 1.0);
        assert_eq!(similarity("", ""), 0.0);
    }

    #[test]
    fn word_similarity_finds_the_best_extent() {
        // word_similarity('word', 'two words') = 0.8 (pg_trgm docs).
        assert!((word_similarity("word", "two words") - 0.8).abs() < 1e-9);
        assert_eq!(word_similarity("performance", "API Performance"), 1.0);
        assert!(
            word_similarity("perfromance", "API Performance") > 0.3,
            "a typo"
        );
        assert!(word_similarity("checkout", "API Performance") < 0.3);
    }
}
