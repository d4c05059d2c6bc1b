//! Fly.io's region codes, for `primary_region`: a name flyctl does not know (`"sydney"` for
//! `"syd"`) fails the first machine's creation, long after the pull request was merged.
//!
//! Source: https://fly.io/docs/reference/regions/ ("Fly.io Regions", the code and location
//! of each region). Regions Fly has since retired are kept, so older files that name one are
//! not reported; a region added later is reported until it is added here.

/// (code, location), by code.
pub const REGIONS: &[(&str, &str)] = &[
    ("ams", "Amsterdam, Netherlands"),
    ("arn", "Stockholm, Sweden"),
    ("atl", "Atlanta, Georgia (US)"),
    ("bog", "Bogotá, Colombia"),
    ("bom", "Mumbai, India"),
    ("bos", "Boston, Massachusetts (US)"),
    ("cdg", "Paris, France"),
    ("den", "Denver, Colorado (US)"),
    ("dfw", "Dallas, Texas (US)"),
    ("ewr", "Secaucus, NJ (US)"),
    ("eze", "Ezeiza, Argentina"),
    ("fra", "Frankfurt, Germany"),
    ("gdl", "Guadalajara, Mexico"),
    ("gig", "Rio de Janeiro, Brazil"),
    ("gru", "Sao Paulo, Brazil"),
    ("hkg", "Hong Kong, Hong Kong"),
    ("iad", "Ashburn, Virginia (US)"),
    ("jnb", "Johannesburg, South Africa"),
    ("lax", "Los Angeles, California (US)"),
    ("lhr", "London, United Kingdom"),
    ("mad", "Madrid, Spain"),
    ("mia", "Miami, Florida (US)"),
    ("nrt", "Tokyo, Japan"),
    ("ord", "Chicago, Illinois (US)"),
    ("otp", "Bucharest, Romania"),
    ("phx", "Phoenix, Arizona (US)"),
    ("qro", "Querétaro, Mexico"),
    ("scl", "Santiago, Chile"),
    ("sea", "Seattle, Washington (US)"),
    ("sin", "Singapore, Singapore"),
    ("sjc", "San Jose, California (US)"),
    ("syd", "Sydney, Australia"),
    ("waw", "Warsaw, Poland"),
    ("yul", "Montreal, Canada"),
    ("yyz", "Toronto, Canada"),
];

pub fn is_region(code: &str) -> bool {
    REGIONS.iter().any(|(c, _)| *c == code)
}

/// The region `text` most likely means: its code in another case, the region whose city it
/// names (`sydney`, `Frankfurt`), else the code or city it is closest to.
pub fn nearest(text: &str) -> Option<(&'static str, &'static str)> {
    let t = text.trim().to_lowercase();
    let city = |location: &str| location.split(',').next().unwrap_or("").to_lowercase();
    REGIONS
        .iter()
        .find(|(c, _)| *c == t)
        .or_else(|| {
            REGIONS
                .iter()
                .find(|(_, l)| t.len() >= 3 && city(l).starts_with(&t))
        })
        .or_else(|| {
            let codes: Vec<&str> = REGIONS.iter().map(|(c, _)| *c).collect();
            let code = crate::config::suggest::did_you_mean(&t, &codes)?;
            REGIONS.iter().find(|(c, _)| *c == code)
        })
        .or_else(|| {
            REGIONS
                .iter()
                .map(|r| (strsim::jaro_winkler(&t, &city(r.1)), r))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, r)| r)
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_known_and_names_lead_to_their_code() {
        assert!(is_region("syd") && is_region("ams") && !is_region("sydney"));
        assert_eq!(nearest("sydney").map(|r| r.0), Some("syd"));
        assert_eq!(nearest("Frankfurt").map(|r| r.0), Some("fra"));
        assert_eq!(nearest("SYD").map(|r| r.0), Some("syd"));
        assert_eq!(nearest("londn").map(|r| r.0), Some("lhr"));
        assert_eq!(nearest("iadd").map(|r| r.0), Some("iad"));
        assert_eq!(nearest("xq"), None);
        let mut sorted: Vec<&str> = REGIONS.iter().map(|r| r.0).collect();
        sorted.sort();
        assert_eq!(sorted, REGIONS.iter().map(|r| r.0).collect::<Vec<_>>());
    }
}
