//! "Did you mean" hints for misspelt keys and values.

/// The closest candidate to `word`, if it is close enough to be a plausible typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The help for a value that is not one of `allowed`: every allowed value, and the nearest
/// one when it is near (`blue-green` → `bluegreen`, whatever the case or separators).
pub(crate) fn one_of(word: &str, allowed: &[&str]) -> String {
    let listed = allowed
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let bare = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_lowercase()
    };
    let nearest = allowed
        .iter()
        .find(|a| bare(a) == bare(word))
        .copied()
        .or_else(|| did_you_mean(&word.to_lowercase(), allowed));
    match nearest {
        Some(n) => format!("did you mean `{n}`? (expected one of {listed})"),
        None => format!("expected one of {listed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_not_allowed_lists_them_all_and_the_nearest() {
        let strategies = ["rolling", "immediate", "canary", "bluegreen"];
        assert_eq!(
            one_of("blue-green", &strategies),
            "did you mean `bluegreen`? (expected one of `rolling`, `immediate`, `canary`, `bluegreen`)"
        );
        assert_eq!(
            one_of("Rolling", &strategies),
            "did you mean `rolling`? (expected one of `rolling`, `immediate`, `canary`, `bluegreen`)"
        );
        assert_eq!(
            one_of("zzz", &strategies),
            "expected one of `rolling`, `immediate`, `canary`, `bluegreen`"
        );
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["environments", "tag-pattern", "dockerfiles"];
        assert_eq!(did_you_mean("enviroments", &keys), Some("environments"));
        assert_eq!(did_you_mean("tag_pattern", &keys), Some("tag-pattern"));
        assert_eq!(did_you_mean("zzz", &keys), None);
    }
}
