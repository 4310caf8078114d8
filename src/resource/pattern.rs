//! `pattern=` rules. The regular expression is the `regex` crate's syntax,
//! which the generated service checks with the same crate. Here it is
//! checked when the field is read (it must compile, and values that match it
//! within the field's length bounds must exist), and the generated tests get
//! values that match it and one that does not, drawn by `rand_regex` from a
//! fixed seed: the same field always gives the same values.

use rand::{RngExt as _, SeedableRng as _};
use regex::Regex;
use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};

/// How many distinct matching values the tests cycle through (records made
/// from different numbers then differ, as a `unique` field needs).
const SAMPLES: usize = 16;
/// Draws before giving up on finding values within the length bounds.
const DRAWS: usize = 4000;
/// The most repetitions of `*` and `+` in a drawn value.
const MAX_REPEAT: u32 = 8;
/// Longest pattern accepted: it is compiled by every instance of the service.
const MAX_PATTERN_LEN: usize = 500;

/// Values for the tests of a field with a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values {
    /// Distinct values that match, within the length bounds; at least one.
    pub matching: Vec<String>,
    /// A value that does not match (within the length bounds when one
    /// exists); `None` when every value matches (such as `.*`).
    pub failing: Option<String>,
    /// Values that match but are shorter than `min` / longer than `max`:
    /// they break the length rule alone. `None` when none was found.
    pub too_short: Option<String>,
    pub too_long: Option<String>,
}

/// Checks `pattern` for a field whose length (in characters) is within
/// `min..=max`, and draws the values of its tests. `Err`: why the pattern
/// cannot be used, with what to do.
pub fn values(pattern: &str, min: usize, max: Option<usize>) -> Result<Values, (String, String)> {
    if pattern.chars().count() > MAX_PATTERN_LEN {
        return Err((
            format!("the pattern is longer than {MAX_PATTERN_LEN} characters"),
            "shorten it, or check the value in the handler".to_owned(),
        ));
    }
    let regex = Regex::new(pattern).map_err(|e| {
        (
            format!(
                "the pattern is not a valid regular expression: {}",
                last_line(&e.to_string())
            ),
            "patterns use the syntax of the Rust `regex` crate, e.g. pattern=^[A-Z]{3}-[0-9]{2}"
                .to_owned(),
        )
    })?;
    let fits = |value: &str| {
        let length = value.chars().count();
        length >= min && max.is_none_or(|max| length <= max)
    };
    // ASCII classes first (`\d` as 0-9, `\w` as letters, digits and `_`):
    // readable test values; the full Unicode classes when the pattern
    // cannot be read that way.
    let parse = |unicode: bool| {
        regex_syntax::ParserBuilder::new()
            .unicode(unicode)
            .utf8(true)
            .build()
            .parse(pattern)
            .ok()
    };
    let generator = parse(false)
        .or_else(|| parse(true))
        .and_then(|hir| rand_regex::Regex::with_hir(without_assertions(&hir), MAX_REPEAT).ok())
        .ok_or_else(|| {
            (
                "cannot make values that match the pattern".to_owned(),
                "keep to classes, literals, groups, alternatives and repetition, or check the value in the handler"
                    .to_owned(),
            )
        })?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7061_7474_6572_6e00);
    let length = |value: &str| value.chars().count();
    let mut matching: Vec<String> = Vec::new();
    let mut too_short = None;
    let mut too_long = None;
    for _ in 0..DRAWS {
        let value: String = rng.sample(&generator);
        if !regex.is_match(&value) || value.chars().any(char::is_control) {
            continue;
        }
        if fits(&value) {
            if matching.len() < SAMPLES && !matching.contains(&value) {
                matching.push(value);
            }
        } else if length(&value) < min {
            // Made long enough around the match, when the pattern allows it.
            let padded = pad(&value, min, |v| regex.is_match(v));
            if let Some(padded) = padded.filter(|v| fits(v))
                && matching.len() < SAMPLES
                && !matching.contains(&padded)
            {
                matching.push(padded);
            }
            too_short.get_or_insert(value);
        } else {
            too_long.get_or_insert(value);
        }
        if matching.len() == SAMPLES && (min == 0 || too_short.is_some()) {
            break;
        }
    }
    if matching.is_empty() {
        return Err((
            "no value within the field's `min`/`max` matches the pattern".to_owned(),
            "widen `min`/`max`, or change the pattern".to_owned(),
        ));
    }
    let candidates = [
        "", "!", " ", "0", "a", "A", "-", "~~~~", "0000", "zzzz", "ZZZZ", "?!?!",
    ];
    let padded = |c: &str| {
        let length = c.chars().count();
        if length >= min || c.is_empty() {
            c.to_owned()
        } else {
            c.repeat(min.div_ceil(length))
        }
    };
    let failing: Vec<String> = candidates
        .iter()
        .map(|c| padded(c))
        .filter(|c| !regex.is_match(c))
        .collect();
    let failing = failing
        .iter()
        .find(|c| fits(c))
        .or(failing.first())
        .cloned();
    // One character past `max` that still matches: the first value with
    // letters, digits or spaces appended or prepended that the pattern takes.
    let too_long = max.and_then(|max| {
        too_long
            .filter(|v| length(v) > max)
            .or_else(|| pad(&matching[0], max + 1, |v| regex.is_match(v)))
    });
    Ok(Values {
        matching,
        failing,
        too_short,
        too_long,
    })
}

/// `value` grown to `length` characters with letters, digits or spaces
/// after or before it, the first way that `accepts` takes.
fn pad(value: &str, length: usize, accepts: impl Fn(&str) -> bool) -> Option<String> {
    let extra = length.checked_sub(value.chars().count())?;
    ["A", "a", "0", " "].iter().find_map(|c| {
        [
            format!("{value}{}", c.repeat(extra)),
            format!("{}{value}", c.repeat(extra)),
        ]
        .into_iter()
        .find(|v| accepts(v))
    })
}

/// `hir` without its assertions (`^`, `$`, `\b`), which `rand_regex` cannot
/// draw: it then draws the text between them, and each value drawn is kept
/// only if the real pattern matches it.
fn without_assertions(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Repetition(repetition) => Hir::repetition(Repetition {
            sub: Box::new(without_assertions(&repetition.sub)),
            ..repetition.clone()
        }),
        HirKind::Capture(capture) => Hir::capture(Capture {
            sub: Box::new(without_assertions(&capture.sub)),
            ..capture.clone()
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(without_assertions).collect()),
        HirKind::Alternation(parts) => {
            Hir::alternation(parts.iter().map(without_assertions).collect())
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => hir.clone(),
    }
}

/// The message of a `regex` error (its last line; those above show where).
fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_values_match_fit_the_bounds_and_do_not_change() {
        let values = values("^[A-Z]{3}-[0-9]{2}", 6, Some(6)).unwrap();
        let regex = Regex::new("^[A-Z]{3}-[0-9]{2}").unwrap();
        assert_eq!(values.matching.len(), SAMPLES);
        assert!(
            values
                .matching
                .iter()
                .all(|v| regex.is_match(v) && v.len() == 6)
        );
        let failing = values.failing.clone().unwrap();
        assert!(!regex.is_match(&failing), "{failing}");
        assert_eq!(
            super::values("^[A-Z]{3}-[0-9]{2}", 6, Some(6)).unwrap(),
            values
        );
        // `max` broken alone: matches, one character too long.
        let too_long = values.too_long.unwrap();
        assert!(
            regex.is_match(&too_long) && too_long.len() == 7,
            "{too_long}"
        );
    }

    #[test]
    fn values_are_made_long_enough_around_an_unanchored_match() {
        let values = values(r"\d{4}", 5, Some(9)).unwrap();
        assert!(
            values.matching.iter().all(|v| (5..=9).contains(&v.len())),
            "{values:?}"
        );
    }

    #[test]
    fn a_value_too_short_for_min_is_one_the_pattern_takes() {
        let values = values("^[a-z]+", 3, Some(8)).unwrap();
        let too_short = values.too_short.unwrap();
        assert!(too_short.len() < 3 && Regex::new("^[a-z]+").unwrap().is_match(&too_short));
    }

    #[test]
    fn ascii_classes_give_ascii_values() {
        let values = values(r"^\d{4}$", 0, None).unwrap();
        assert!(
            values
                .matching
                .iter()
                .all(|v| v.bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn bad_or_unsatisfiable_patterns_are_refused_with_the_reason() {
        let invalid = values("^[A-Z", 0, None).unwrap_err();
        assert!(
            invalid.0.contains("not a valid regular expression"),
            "{invalid:?}"
        );
        let too_short = values("^[A-Z]{10}$", 0, Some(5)).unwrap_err();
        assert!(too_short.0.contains("min`/`max"), "{too_short:?}");
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(values(&long, 0, None).unwrap_err().0.contains("longer"));
    }

    #[test]
    fn a_pattern_that_matches_everything_has_no_failing_value() {
        assert_eq!(values(".*", 0, None).unwrap().failing, None);
    }
}
