//! Field violations: collect every problem of a request, answer them together.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::text::{self, Lines};

/// Most violations one answer lists; the rest are counted in one more violation. A request with
/// thousands of bad items would otherwise get a status (message and details) of megabytes, more
/// than common clients read from a trailer.
pub const MAX_VIOLATIONS: usize = 20;

/// Most items of a list of enum values. Each value may appear once and no enum of the API has
/// this many values, so a longer list is refused whole, before its items are read.
pub const ENUM_LIST_MAX: usize = 32;

/// The bad fields of one request.
#[derive(Debug, Default)]
pub struct FieldErrors {
    violations: Vec<(String, String)>,
}

impl FieldErrors {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is bad, and why.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations.push((field.into(), description.into()));
    }

    /// Records a violation when `ok` is false.
    pub fn check(&mut self, ok: bool, field: &str, description: &str) {
        if !ok {
            self.add(field, description);
        }
    }

    /// Keeps the value of a parse, or records its error against `field`.
    pub fn take<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Checks a required one-line text: not blank, at most `max` characters, only characters
    /// [`text::problem`] accepts.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else {
            self.free_text(field, value, max, Lines::One);
        }
    }

    /// Checks an optional one-line text: blank is fine, else as [`FieldErrors::text`].
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if !value.trim().is_empty() || value.chars().count() > max {
            self.free_text(field, value, max, Lines::One);
        }
    }

    /// Checks an optional text that may span lines (notes, descriptions): blank is fine, else at
    /// most `max` characters, line breaks and tabs allowed, otherwise as [`FieldErrors::text`].
    pub fn prose(&mut self, field: &str, value: &str, max: usize) {
        if !value.trim().is_empty() || value.chars().count() > max {
            self.free_text(field, value, max, Lines::Many);
        }
    }

    fn free_text(&mut self, field: &str, value: &str, max: usize, lines: Lines) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if let Some(why) = text::problem(value, lines) {
            self.add(field, why);
        }
    }

    /// Checks an optional phone number: blank is fine, else at most `max` characters shaped as
    /// [`text::phone`] says.
    pub fn phone(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if !value.trim().is_empty()
            && let Some(why) = text::phone(value)
        {
            self.add(field, why);
        }
    }

    /// Checks an optional e-mail address: blank is fine, else at most `max` characters shaped as
    /// [`text::email`] says.
    pub fn email(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        } else if !value.trim().is_empty()
            && let Some(why) = text::email(value)
        {
            self.add(field, why);
        }
    }

    /// Refuses a repeated field of more than `max` items, naming the field and the maximum.
    /// False when the list is too long, so the caller skips reading its items.
    pub fn at_most<T>(&mut self, field: &str, items: &[T], max: usize, what: &str) -> bool {
        if items.len() > max {
            self.add(field, format!("at most {max} {what}, not {}", items.len()));
            return false;
        }
        true
    }

    /// A required proto enum: 0 (unspecified) and unknown numbers are violations.
    pub fn required<T>(&mut self, field: &str, n: i32, parse: fn(i32) -> Option<T>) -> Option<T> {
        if n == 0 {
            self.add(field, "is required");
            return None;
        }
        self.optional(field, n, parse)
    }

    /// An optional proto enum: 0 (unspecified) is `None`; unknown numbers are violations.
    pub fn optional<T>(&mut self, field: &str, n: i32, parse: fn(i32) -> Option<T>) -> Option<T> {
        if n == 0 {
            return None;
        }
        let parsed = parse(n);
        if parsed.is_none() {
            self.add(field, format!("unknown value {n}"));
        }
        parsed
    }

    /// A list of proto enums: at most [`ENUM_LIST_MAX`], each required, none twice. A value
    /// repeated many times is reported once, at its first repeat; so is an unknown value.
    pub fn enum_list<T: PartialEq>(
        &mut self,
        field: &str,
        values: &[i32],
        parse: fn(i32) -> Option<T>,
    ) -> Vec<T> {
        if !self.at_most(field, values, ENUM_LIST_MAX, "values, each once") {
            return Vec::new();
        }
        let mut out: Vec<T> = Vec::with_capacity(values.len());
        let mut reported: Vec<i32> = Vec::new();
        for (i, n) in values.iter().enumerate() {
            if reported.contains(n) {
                continue;
            }
            let at = format!("{field}[{i}]");
            let before = self.violations.len();
            if let Some(v) = self.required(&at, *n, parse) {
                if out.contains(&v) {
                    self.add(at, "is listed twice");
                    reported.push(*n);
                } else {
                    out.push(v);
                }
            } else if self.violations.len() > before {
                reported.push(*n);
            }
        }
        out
    }

    /// The violations recorded so far, as (field, description).
    pub fn violations(&self) -> &[(String, String)] {
        &self.violations
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else the `INVALID_ARGUMENT` status naming every bad
    /// field: the first [`MAX_VIOLATIONS`], then one violation with an empty field that says how
    /// many more there are.
    pub fn finish(mut self) -> Result<(), Status> {
        if self.violations.is_empty() {
            return Ok(());
        }
        if self.violations.len() > MAX_VIOLATIONS {
            let more = self.violations.len() - MAX_VIOLATIONS;
            self.violations.truncate(MAX_VIOLATIONS);
            self.violations.push((
                String::new(),
                format!("and {more} more violations not listed"),
            ));
        }
        let summary = self
            .violations
            .iter()
            .map(|(f, d)| {
                if f.is_empty() {
                    d.clone()
                } else {
                    format!("{f}: {d}")
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut details = ErrorDetails::new();
        for (field, description) in self.violations {
            details.add_bad_request_violation(field, description);
        }
        Err(Status::with_error_details(
            Code::InvalidArgument,
            summary,
            details,
        ))
    }
}

/// An `INVALID_ARGUMENT` status for one bad field.
pub fn invalid(field: &str, description: impl Into<String>) -> Status {
    let mut errors = FieldErrors::new();
    errors.add(field, description);
    errors
        .finish()
        .err()
        .unwrap_or_else(|| Status::invalid_argument(field.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_lists_twenty_violations_and_counts_the_rest() {
        let mut errors = FieldErrors::new();
        for i in 0..1_000 {
            errors.add(format!("items[{i}]"), "is bad");
        }
        let status = errors.finish().err().unwrap_or_else(|| Status::ok(""));
        let details = status.get_error_details();
        let violations = details
            .bad_request()
            .map(|b| b.field_violations.clone())
            .unwrap_or_default();
        assert_eq!(violations.len(), MAX_VIOLATIONS + 1);
        assert_eq!(violations[MAX_VIOLATIONS].field, "");
        assert_eq!(
            violations[MAX_VIOLATIONS].description,
            "and 980 more violations not listed"
        );
        assert!(status.message().len() < 1_000, "{}", status.message());
    }

    #[test]
    fn a_repeated_or_unknown_enum_value_is_reported_once() {
        let mut errors = FieldErrors::new();
        let mut values = vec![1, 2, 1, 1, 99, 99, 2];
        values.extend(std::iter::repeat_n(1, 20));
        let parsed = errors.enum_list("xs", &values, |n| (n < 10).then_some(n));
        assert_eq!(parsed, vec![1, 2]);
        let fields: Vec<&str> = errors
            .violations()
            .iter()
            .map(|(f, _)| f.as_str())
            .collect();
        assert_eq!(fields, vec!["xs[2]", "xs[4]", "xs[6]"]);
    }

    #[test]
    fn a_list_of_enums_longer_than_any_enum_is_refused_whole() {
        let mut errors = FieldErrors::new();
        let parsed = errors.enum_list("xs", &vec![1; 10_000], Some);
        assert!(parsed.is_empty());
        assert_eq!(
            errors.violations(),
            &[(
                "xs".to_owned(),
                format!("at most {ENUM_LIST_MAX} values, each once, not 10000")
            )]
        );
    }
}
