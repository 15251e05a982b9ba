use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Japanese local government code (全国地方公共団体コード, JIS X 0402): five digits plus a check
/// digit, e.g. Kashiwa `122173`. The tenant key of every event, read model and request.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityCode([u8; 6]);

/// Why a string is not a municipality code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MunicipalityCodeError {
    /// Not exactly six ASCII digits.
    #[error("a municipality code is six digits, e.g. 122173")]
    Format,
    /// Six digits whose last one is not the check digit of the first five.
    #[error("check digit does not match: expected {expected}")]
    CheckDigit {
        /// The check digit the first five digits call for.
        expected: u8,
    },
}

impl MunicipalityCode {
    /// Parses and validates a six-digit code including its check digit.
    pub fn parse(s: &str) -> Result<Self, MunicipalityCodeError> {
        let bytes = s.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(MunicipalityCodeError::Format);
        }
        let expected = check_digit(&bytes[..5]);
        if bytes[5] - b'0' != expected {
            return Err(MunicipalityCodeError::CheckDigit { expected });
        }
        let mut code = [0u8; 6];
        code.copy_from_slice(bytes);
        Ok(Self(code))
    }

    /// The code as a string slice, e.g. `"122173"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("000000")
    }

    /// The two-digit prefecture part (都道府県コード), e.g. `"12"` for Chiba.
    pub fn prefecture(&self) -> &str {
        &self.as_str()[..2]
    }
}

/// JIS X 0402: weights 6,5,4,3,2; check = (11 - sum mod 11) mod 10.
fn check_digit(first_five: &[u8]) -> u8 {
    let sum: u32 = first_five
        .iter()
        .zip([6u32, 5, 4, 3, 2])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    ((11 - sum % 11) % 10) as u8
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MunicipalityCode({})", self.as_str())
    }
}

impl FromStr for MunicipalityCode {
    type Err = MunicipalityCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MunicipalityCode {
    type Error = MunicipalityCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MunicipalityCode> for String {
    fn from(c: MunicipalityCode) -> Self {
        c.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_codes_from_the_seeds_are_valid() {
        for code in ["122173", "142077", "131199", "110001", "090000", "130001"] {
            assert!(MunicipalityCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn a_wrong_check_digit_names_the_expected_one() {
        assert_eq!(
            MunicipalityCode::parse("122174"),
            Err(MunicipalityCodeError::CheckDigit { expected: 3 })
        );
    }

    #[test]
    fn non_digits_and_wrong_lengths_are_rejected() {
        for bad in ["", "12217", "1221734", "12217a", "１２２１７３"] {
            assert_eq!(
                MunicipalityCode::parse(bad),
                Err(MunicipalityCodeError::Format),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_fits_every_five_digits(n in 0u32..100_000) {
            let five = format!("{n:05}");
            let valid: Vec<_> = (0..10)
                .filter(|d| MunicipalityCode::parse(&format!("{five}{d}")).is_ok())
                .collect();
            prop_assert_eq!(valid.len(), 1);
        }
    }
}
