//! How long classifying and ordering 2,000 real tags takes: the first 2,000 tags of
//! opentelemetry-go (`{app}/v{version}` and `v{version}`, the largest list in the corpus),
//! split, SemVer-parsed, sorted, and each one's previous version found.
//! Run with `benches/tags.sh` (release build).

use stage_gate::git::TagRef;
use stage_gate::tag::{Releases, TagPattern};
use std::time::{Duration, Instant};

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tags/open-telemetry__opentelemetry-go.txt"
    );
    let text = std::fs::read_to_string(path).expect("the corpus is in tests/fixtures/tags");
    let tags: Vec<TagRef> = text
        .lines()
        .take(2000)
        .enumerate()
        .map(|(i, name)| TagRef {
            name: name.to_string(),
            target: format!("{i:040x}"),
            annotated: false,
            date: i as i64,
        })
        .collect();
    assert_eq!(tags.len(), 2000);
    let patterns = [
        TagPattern::new("{app}/v{version}", None).expect("pattern"),
        TagPattern::new("v{version}", None).expect("pattern"),
    ];
    let runs = 50;
    // Two measures: classify + sort (what every gate run does once), and that plus the
    // previous version of EVERY tag (what a full changelog needs; quadratic by design).
    let mut sort_times: Vec<Duration> = Vec::with_capacity(runs);
    let mut all_times: Vec<Duration> = Vec::with_capacity(runs);
    let mut checksum = 0usize;
    for _ in 0..runs {
        let start = Instant::now();
        let classified: Vec<Releases> = patterns
            .iter()
            .map(|p| Releases::classify(p, &tags))
            .collect();
        sort_times.push(start.elapsed());
        for releases in &classified {
            for r in &releases.releases {
                if releases.previous(&r.version).is_some() {
                    checksum += 1;
                }
            }
        }
        all_times.push(start.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (what, times) in [
        ("classify + sort", &mut sort_times),
        ("classify + sort + previous of each", &mut all_times),
    ] {
        times.sort();
        println!(
            "bench-result: {what}, 2000 tags: median {:.2} ms (min {:.2}, max {:.2}; {runs} runs)",
            ms(times[runs / 2]),
            ms(times[0]),
            ms(times[runs - 1]),
        );
    }
    println!("checksum {checksum}");
}
