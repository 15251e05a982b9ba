//! Field violations: collect every problem of a request, answer them together.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

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

    /// Checks a required text: not blank, at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
    }

    /// Checks an optional text: at most `max` characters (blank is fine).
    pub fn max_len(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
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

    /// A list of proto enums: each required, none twice.
    pub fn enum_list<T: PartialEq>(
        &mut self,
        field: &str,
        values: &[i32],
        parse: fn(i32) -> Option<T>,
    ) -> Vec<T> {
        let mut out: Vec<T> = Vec::with_capacity(values.len());
        for (i, n) in values.iter().enumerate() {
            if let Some(v) = self.required(&format!("{field}[{i}]"), *n, parse) {
                if out.contains(&v) {
                    self.add(format!("{field}[{i}]"), "is listed twice");
                } else {
                    out.push(v);
                }
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

    /// `Ok(())` when nothing was recorded, else the `INVALID_ARGUMENT` status naming every field.
    pub fn finish(self) -> Result<(), Status> {
        if self.violations.is_empty() {
            return Ok(());
        }
        let summary = self
            .violations
            .iter()
            .map(|(f, d)| format!("{f}: {d}"))
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
