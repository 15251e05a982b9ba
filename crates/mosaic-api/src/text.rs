//! What free text from the wire may contain: names, titles, districts, notes. Text is read after
//! NFKC normalisation (so full-width and half-width forms, and the ideographic space U+3000,
//! count as their ordinary forms), then each character's Unicode general category decides:
//!
//! - refused everywhere: controls (Cc; a line break or tab only where a text may span lines),
//!   format characters (Cf: bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069,
//!   zero-width spaces and joiners, the soft hyphen…), private-use (Co) and unassigned (Cn) code
//!   points, and the line and paragraph separators U+2028 / U+2029;
//! - and a text must show at least one letter, digit, punctuation mark or symbol: spaces, marks
//!   and filler characters alone (e.g. U+3164) are not a name.
//!
//! The text is stored as given (trimmed); the normalised form is only what is checked. Such
//! characters let a name display as something else, or as nothing, in lists, logs and exports.
//!
//! Phone numbers and e-mail addresses get a shape check on top (see [`phone`] and [`email`]).

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Names, titles, districts, tags: no line breaks, no tabs.
    One,
    /// Notes and descriptions: line breaks (LF, CR) and tabs are allowed.
    Many,
}

/// Letters and symbols that render as nothing: Hangul fillers and the blank Braille pattern.
const FILLERS: [char; 5] = ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];

/// Why `value` is not acceptable free text, or `None` when it is. Emptiness and length are the
/// caller's to check.
pub fn problem(value: &str, lines: Lines) -> Option<String> {
    let mut visible = false;
    for c in value.nfkc() {
        let code = c as u32;
        match c.general_category() {
            GeneralCategory::Control => {
                if !(lines == Lines::Many && matches!(c, '\n' | '\r' | '\t')) {
                    return Some(match lines {
                        Lines::One => format!(
                            "must not contain control characters (U+{code:04X}), line breaks or tabs"
                        ),
                        Lines::Many => {
                            format!("must not contain control characters (U+{code:04X})")
                        }
                    });
                }
            }
            GeneralCategory::Format => {
                return Some(format!(
                    "must not contain invisible formatting characters (U+{code:04X}: bidirectional \
                     controls, zero-width characters)"
                ));
            }
            GeneralCategory::PrivateUse => {
                return Some(format!(
                    "must not contain private-use characters (U+{code:04X})"
                ));
            }
            GeneralCategory::Unassigned | GeneralCategory::Surrogate => {
                return Some(format!(
                    "must not contain unassigned code points (U+{code:04X})"
                ));
            }
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                return Some(format!(
                    "must not contain U+{code:04X}; use an ordinary line break where one is allowed"
                ));
            }
            _ => {
                if !FILLERS.contains(&c)
                    && matches!(
                        c.general_category_group(),
                        GeneralCategoryGroup::Letter
                            | GeneralCategoryGroup::Number
                            | GeneralCategoryGroup::Punctuation
                            | GeneralCategoryGroup::Symbol
                    )
                {
                    visible = true;
                }
            }
        }
    }
    (!visible).then(|| "must contain a visible character".to_owned())
}

/// Fewest digits of a phone number: a Japanese number has 10 or 11, a short local one 6.
pub const PHONE_DIGITS_MIN: usize = 6;
/// Most digits of a phone number: E.164 allows 15, and an international prefix (e.g. 010) and
/// an extension need room.
pub const PHONE_DIGITS_MAX: usize = 20;

/// Why `value` is not a phone number, or `None` when it is: digits, spaces, `-`, parentheses and
/// one leading `+`, with 6 to 20 digits (checked after NFKC, so full-width digits count).
pub fn phone(value: &str) -> Option<String> {
    let normal: String = value.trim().nfkc().collect();
    let mut digits = 0;
    for (i, c) in normal.chars().enumerate() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '-' | '(' | ')' => {}
            '+' if i == 0 => {}
            _ => {
                return Some(
                    "may contain only digits, spaces, '-', parentheses and a leading '+'".into(),
                );
            }
        }
    }
    (!(PHONE_DIGITS_MIN..=PHONE_DIGITS_MAX).contains(&digits))
        .then(|| format!("must have {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits, not {digits}"))
}

/// Longest local part of an e-mail address (RFC 5321).
const LOCAL_PART_MAX: usize = 64;

/// Why `value` is not shaped like an e-mail address, or `None` when it is: one `@`, a local part
/// of 1 to 64 characters, a domain of dot-separated non-empty labels (at least two), no spaces.
/// Not a full RFC 5322 parser: the address is for people to read and write to.
pub fn email(value: &str) -> Option<String> {
    let normal: String = value.trim().nfkc().collect();
    if let Some(why) = problem(&normal, Lines::One) {
        return Some(why);
    }
    if normal.chars().any(char::is_whitespace) {
        return Some("must not contain spaces".into());
    }
    let Some((local, domain)) = normal.split_once('@') else {
        return Some("must be an address like name@example.jp".into());
    };
    if domain.contains('@') {
        return Some("must contain one '@'".into());
    }
    if local.is_empty() || local.chars().count() > LOCAL_PART_MAX {
        return Some(format!(
            "the part before '@' must be 1 to {LOCAL_PART_MAX} characters"
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Some("the part after '@' must be a domain like example.jp".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(value: &str, lines: Lines) -> bool {
        problem(value, lines).is_none()
    }

    #[test]
    fn japanese_names_with_ideographic_spaces_and_half_width_kana_pass() {
        for name in [
            "柏 太郎",
            "柏\u{3000}太郎",
            "ｶｼﾜ ﾀﾛｳ",
            "カシワ・タロウ",
            "O'Brien-Smith",
            "髙橋 𠮷野",
            "①番地",
            "（株）柏",
        ] {
            assert!(
                ok(name, Lines::One),
                "{name}: {:?}",
                problem(name, Lines::One)
            );
        }
    }

    #[test]
    fn controls_format_characters_private_use_and_unassigned_are_refused() {
        for bad in [
            "柏\0太郎",
            "柏\u{7}",
            "a\nb",
            "a\tb",
            "\u{202E}gpj.exe",
            "a\u{202A}b",
            "a\u{2066}b",
            "a\u{2069}b",
            "a\u{200B}b",
            "a\u{200D}b",
            "a\u{FEFF}b",
            "a\u{00AD}b",
            "a\u{E000}b",
            "a\u{10FFFD}b",
            "a\u{0378}b",
            "a\u{2028}b",
        ] {
            assert!(!ok(bad, Lines::One), "{bad:?} passed");
        }
    }

    #[test]
    fn line_breaks_and_tabs_are_allowed_only_in_text_that_spans_lines() {
        assert!(ok("一行目\n二行目\r\n\t三行目", Lines::Many));
        assert!(!ok("一行目\n二行目", Lines::One));
        assert!(!ok("a\u{7}b", Lines::Many));
        assert!(!ok("a\u{202E}b", Lines::Many));
    }

    #[test]
    fn text_without_a_visible_character_is_refused() {
        for blank in [
            "\u{3164}",
            "\u{3164}\u{3000}\u{3164}",
            "\u{FFA0}",
            "\u{0301}",
            " ",
        ] {
            assert_eq!(
                problem(blank, Lines::One).as_deref(),
                Some("must contain a visible character"),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn phone_numbers_take_digits_and_separators() {
        for good in [
            "04-7167-1111",
            "(04) 7167 1111",
            "+81-4-7167-1111",
            "０４－７１６７－１１１１",
            "09012345678",
        ] {
            assert_eq!(phone(good), None, "{good}");
        }
        for bad in [
            "12345",
            "04-7167-1111 ext",
            "81+4",
            "0\u{202E}47167",
            "1".repeat(21).as_str(),
        ] {
            assert!(phone(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn e_mail_addresses_need_one_at_a_local_part_and_a_dotted_domain() {
        for good in [
            "taro@example.jp",
            "t.kashiwa+x@city.kashiwa.lg.jp",
            "太郎@例え.jp",
        ] {
            assert_eq!(email(good), None, "{good}");
        }
        for bad in [
            "taro",
            "@example.jp",
            "taro@",
            "taro@localhost",
            "taro@example..jp",
            "taro@@example.jp",
            "ta ro@example.jp",
            "taro@example.jp\u{202E}",
            "a@b@example.jp",
        ] {
            assert!(email(bad).is_some(), "{bad}");
        }
    }
}
