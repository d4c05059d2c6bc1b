//! Durations as the config takes them: humantime text (`90s`, `10m`, `1h 30m`), with a unit,
//! and at most [`MAX`]. humantime reads `15M` as 15 months and `1y` as a year: in a soak, a
//! timeout or a deadline that is a mistyped `15m` (or no limit at all), which would show only
//! as a gate that never opens or a deploy that never times out.

use std::time::Duration;

/// Longer than any soak, timeout, interval or deadline a pipeline means.
pub(crate) const MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a text is not a duration here, and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refused {
    pub message: String,
    pub help: String,
}

/// Parse `s`, refusing a bare number, months, years and anything over [`MAX`].
pub fn parse(s: &str) -> Result<Duration, Refused> {
    parse_at_most(s, MAX)
}

/// [`parse`] with another ceiling (a preview's time to live may be weeks), in whole days.
pub(crate) fn parse_at_most(s: &str, max: Duration) -> Result<Duration, Refused> {
    let s = s.trim();
    let days = max.as_secs() / 86_400;
    if s.parse::<f64>().is_ok() {
        return Err(Refused {
            message: format!("`{s}` has no unit"),
            help: format!("write `{s}s` for seconds or `{s}m` for minutes"),
        });
    }
    let d = humantime::parse_duration(s).map_err(|e| Refused {
        message: format!("`{s}` is not a duration: {e}"),
        help: "write durations like `90s`, `10m` or `1h 30m`".into(),
    })?;
    let lower = sane_lowercase(s);
    let did_you_mean = |why: &str| match &lower {
        Some(l) => format!("did you mean `{l}`? ({why})"),
        None => format!("write it in seconds, minutes or hours (`90s`, `15m`, `2h`); {why}"),
    };
    if let Some(unit) = units(s).into_iter().find(|u| is_months(u)) {
        return Err(Refused {
            message: format!("`{s}` is in months (`{unit}` is months)"),
            help: did_you_mean("minutes are a lowercase `m`"),
        });
    }
    if let Some(unit) = units(s).into_iter().find(|u| is_years(u)) {
        return Err(Refused {
            message: format!("`{s}` is in years (`{unit}` is years)"),
            help: did_you_mean(&format!("a duration here is at most {days} days")),
        });
    }
    if d > max {
        let help = if days > 7 {
            format!("write it in days, e.g. `14d`: a duration here is at most {days} days")
        } else {
            did_you_mean(&format!("a duration here is at most {days} days"))
        };
        return Err(Refused {
            message: format!("`{s}` is longer than {days} days"),
            help,
        });
    }
    Ok(d)
}

/// The units written in `s` (`1h 30m` → `h`, `m`).
fn units(s: &str) -> Vec<&str> {
    s.split(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
        .filter(|u| !u.is_empty())
        .collect()
}

fn is_months(unit: &str) -> bool {
    unit == "M" || unit.starts_with("month")
}

fn is_years(unit: &str) -> bool {
    matches!(unit, "y" | "year" | "years")
}

/// `s` in lowercase, when that is a duration this module takes (`15M` → `15m`).
fn sane_lowercase(s: &str) -> Option<String> {
    let lower = s.to_lowercase();
    if lower == s || units(&lower).iter().any(|u| is_months(u) || is_years(u)) {
        return None;
    }
    humantime::parse_duration(&lower)
        .ok()
        .filter(|d| *d <= MAX)
        .map(|_| lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_years_and_weeks_of_waiting_are_refused_with_the_lowercase_form() {
        let r = parse("15M").unwrap_err();
        assert_eq!(r.message, "`15M` is in months (`M` is months)");
        assert!(r.help.starts_with("did you mean `15m`?"), "{}", r.help);
        assert!(parse("2months").unwrap_err().message.contains("months"));
        let r = parse("1y").unwrap_err();
        assert!(r.message.contains("years"), "{}", r.message);
        assert!(r.help.contains("at most 7 days"), "{}", r.help);
        let r = parse("30d").unwrap_err();
        assert_eq!(r.message, "`30d` is longer than 7 days");
        let r = parse_at_most("100d", Duration::from_secs(90 * 86_400)).unwrap_err();
        assert_eq!(r.message, "`100d` is longer than 90 days");
        assert!(r.help.starts_with("write it in days"), "{}", r.help);
        assert!(parse("7d").is_ok());
        assert_eq!(parse("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("15m").unwrap(), Duration::from_secs(900));
    }

    #[test]
    fn a_bare_number_has_no_unit() {
        let r = parse("30").unwrap_err();
        assert_eq!(r.help, "write `30s` for seconds or `30m` for minutes");
        assert!(parse("soon")
            .unwrap_err()
            .message
            .contains("not a duration"));
    }
}
