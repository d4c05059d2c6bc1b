//! "Did you mean" hints for misspelt keys and values.

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["environments", "tag-pattern", "dockerfiles"];
        assert_eq!(did_you_mean("enviroments", &keys), Some("environments"));
        assert_eq!(did_you_mean("tag_pattern", &keys), Some("tag-pattern"));
        assert_eq!(did_you_mean("zzz", &keys), None);
    }
}
