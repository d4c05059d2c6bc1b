//! The units fly.toml is written in, read as flyctl reads them: Go durations
//! (`time.ParseDuration`, printed back as `Duration.String()` in machine configs) and docker's
//! go-units sizes (`RAMInBytes` for memory, binary; `FromHumanSize` for volumes, decimal).

/// Nanoseconds of a Go duration string: `"10s"`, `"1m30s"`, `"1.5h"`, `"500ms"`, `"0"`.
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let text = s.trim();
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(format!("invalid duration {s:?}"));
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("missing unit in duration {s:?} (write \"{s}s\")")),
            u => return Err(format!("unknown unit {u:?} in duration {s:?}")),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    let nanos = total.round() as i128;
    Ok(if negative { -nanos } else { nanos })
}

/// Go's `time.Duration.String()`: `"0s"`, `"500ms"`, `"1.5s"`, `"1m30s"`, `"1h0m0s"`.
pub fn format_duration(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let fraction = |value: u128, unit: u128| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let frac = format!("{rest:0digits$}");
        format!("{whole}.{}", frac.trim_end_matches('0'))
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}µs", fraction(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(n, 1_000_000));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = (n / 60_000_000_000) % 60;
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// A duration as flyctl normalises it before use: strings parsed, integers counted in `unit`
/// nanoseconds (seconds for `kill_timeout`, milliseconds for check intervals).
pub fn normalise_duration(v: &serde_json::Value, unit_nanos: i128) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => parse_duration(s).map(format_duration),
        serde_json::Value::Number(n) => {
            let value = n.as_f64().unwrap_or(0.0);
            Ok(format_duration((value * unit_nanos as f64) as i128))
        }
        other => Err(format!(
            "a duration must be a string like \"10s\", not {other}"
        )),
    }
}

/// A size in `quotient` units: a bare integer is already in them, anything else goes through
/// go-units (`binary`: 1k = 1024, as `RAMInBytes`; else 1k = 1000, as `FromHumanSize`).
pub fn parse_size(s: &str, binary: bool, quotient: u64) -> Result<u64, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    static SIZE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = SIZE.get_or_init(|| {
        regex::Regex::new(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$").expect("valid regex")
    });
    let caps = re
        .captures(s)
        .ok_or_else(|| format!("invalid size {s:?} (write e.g. \"512mb\" or \"1gb\")"))?;
    let number: f64 = caps[1].parse().map_err(|_| format!("invalid size {s:?}"))?;
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let power = match caps.get(2).map(|m| m.as_str().to_ascii_lowercase()) {
        None => 0,
        Some(u) => match u.as_str() {
            "k" => 1,
            "m" => 2,
            "g" => 3,
            "t" => 4,
            _ => 5,
        },
    };
    let bytes = number * base.powi(power);
    Ok((bytes as u64) / quotient)
}

/// Memory in MB, as flyctl reads `[[vm]] memory`.
pub fn memory_mb(s: &str) -> Result<u64, String> {
    parse_size(s, true, 1024 * 1024)
}

/// Volume sizes in GB, as flyctl reads `[mounts] initial_size` and the auto-extend sizes.
pub fn volume_gb(s: &str) -> Result<u64, String> {
    parse_size(s, false, 1000 * 1000 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_prints_them() {
        let cases = [
            ("10s", "10s"),
            ("1m", "1m0s"),
            ("90s", "1m30s"),
            ("1h", "1h0m0s"),
            ("1.5s", "1.5s"),
            ("500ms", "500ms"),
            ("15000ms", "15s"),
            ("0", "0s"),
            ("2h45m", "2h45m0s"),
        ];
        for (given, want) in cases {
            assert_eq!(
                format_duration(parse_duration(given).unwrap()),
                want,
                "{given}"
            );
        }
        assert!(parse_duration("10").unwrap_err().contains("missing unit"));
        assert!(parse_duration("ten").is_err());
        assert_eq!(
            normalise_duration(&serde_json::json!(10), 1_000_000_000).unwrap(),
            "10s"
        );
        assert_eq!(
            normalise_duration(&serde_json::json!(2000), 1_000_000).unwrap(),
            "2s"
        );
    }

    #[test]
    fn sizes_read_as_go_units_reads_them() {
        assert_eq!(memory_mb("4G").unwrap(), 4096);
        assert_eq!(memory_mb("64gb").unwrap(), 65536);
        assert_eq!(memory_mb("256Mi").unwrap(), 256);
        assert_eq!(memory_mb("1GiB").unwrap(), 1024);
        assert_eq!(memory_mb("512").unwrap(), 512);
        assert_eq!(volume_gb("10GB").unwrap(), 10);
        assert_eq!(volume_gb("3").unwrap(), 3);
        assert!(memory_mb("lots").is_err());
    }
}
