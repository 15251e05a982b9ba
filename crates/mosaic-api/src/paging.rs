//! `page_size` and `page_token`: keyset paging with an opaque token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::FieldErrors;

/// Page size when the request leaves it at 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page served.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A validated page request: how many, and after which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows to return.
    pub size: u32,
    /// The sort key of the last row of the previous page, if any.
    pub after: Option<String>,
}

impl Page {
    /// Parses `page_size` and `page_token`, recording violations.
    pub fn parse(errors: &mut FieldErrors, page_size: i32, page_token: &str) -> Page {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                errors.add("page_size", "must not be negative");
                DEFAULT_PAGE_SIZE
            }
            n => (n as u32).min(MAX_PAGE_SIZE),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            match decode(page_token) {
                Some(key) => Some(key),
                None => {
                    errors.add("page_token", "is not a token this service issued");
                    None
                }
            }
        };
        Page { size, after }
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Trims the extra row and returns the token of the next page (empty when this is the last).
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        if rows.len() > self.size as usize {
            rows.truncate(self.size as usize);
            rows.last().map(|r| encode(&key(r))).unwrap_or_default()
        } else {
            String::new()
        }
    }
}

const TOKEN_PREFIX: &str = "v1:";

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{key}"))
}

fn decode(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(TOKEN_PREFIX)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_token_round_trips_and_a_forged_one_is_refused() {
        let mut errors = FieldErrors::new();
        let page = Page::parse(&mut errors, 2, "");
        let mut rows = vec!["a", "b", "c"];
        let token = page.finish(&mut rows, |r| r.to_string());
        assert_eq!(rows, vec!["a", "b"]);
        let next = Page::parse(&mut errors, 2, &token);
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(errors.is_empty());
        Page::parse(&mut errors, 2, "not-a-token");
        assert!(!errors.is_empty());
    }

    #[test]
    fn page_sizes_default_and_cap() {
        let mut errors = FieldErrors::new();
        assert_eq!(Page::parse(&mut errors, 0, "").size, DEFAULT_PAGE_SIZE);
        assert_eq!(Page::parse(&mut errors, 10_000, "").size, MAX_PAGE_SIZE);
        assert!(errors.is_empty());
        Page::parse(&mut errors, -1, "");
        assert!(!errors.is_empty());
    }
}
