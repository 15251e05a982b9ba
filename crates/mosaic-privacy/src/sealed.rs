use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::PrivacyError;

/// The prefix of the current format; a later format gets a new prefix and old values stay readable.
const PREFIX: &str = "v1.";
/// XChaCha20-Poly1305 nonce length.
pub(crate) const NONCE_LEN: usize = 24;
/// Poly1305 tag length: the shortest valid body is a nonce and a tag (an empty plaintext).
const TAG_LEN: usize = 16;

/// A personal-data value sealed under a person's key: `v1.<base64url(nonce || ciphertext)>`. It is
/// plain text so it sits in JSON event payloads and read-model columns; it reveals only roughly how
/// long the plaintext was.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Sealed(String);

impl Sealed {
    /// The text form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_parts(nonce: &[u8], ciphertext: &[u8]) -> Self {
        let mut body = Vec::with_capacity(nonce.len() + ciphertext.len());
        body.extend_from_slice(nonce);
        body.extend_from_slice(ciphertext);
        Self(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(body)))
    }

    /// The nonce and the ciphertext (with its tag).
    pub(crate) fn to_parts(&self) -> Result<([u8; NONCE_LEN], Vec<u8>), PrivacyError> {
        let body = decode(&self.0)?;
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = nonce
            .try_into()
            .map_err(|_| PrivacyError::Malformed("the nonce is cut short".into()))?;
        Ok((nonce, ciphertext.to_vec()))
    }
}

/// Checks the prefix and the body; a value deserialised from an event is checked when opened.
fn decode(text: &str) -> Result<Vec<u8>, PrivacyError> {
    let encoded = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| PrivacyError::Malformed(format!("expected the prefix {PREFIX:?}")))?;
    let body = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| PrivacyError::Malformed("the body is not base64url without padding".into()))?;
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(PrivacyError::Malformed(format!(
            "the body is {} bytes, shorter than a nonce and a tag ({})",
            body.len(),
            NONCE_LEN + TAG_LEN
        )));
    }
    Ok(body)
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Even ciphertext stays out of logs: it would let a reader correlate values across lines.
        f.write_str("Sealed(..)")
    }
}

impl FromStr for Sealed {
    type Err = PrivacyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode(s)?;
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for Sealed {
    type Error = PrivacyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        decode(&s)?;
        Ok(Self(s))
    }
}

impl From<Sealed> for String {
    fn from(s: Sealed) -> Self {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_the_version_prefix_is_not_a_sealed_value() {
        assert!(matches!(
            "v2.AAAA".parse::<Sealed>(),
            Err(PrivacyError::Malformed(_))
        ));
        assert!(matches!(
            Sealed::try_from("山田太郎".to_owned()),
            Err(PrivacyError::Malformed(_))
        ));
    }

    #[test]
    fn a_body_shorter_than_nonce_and_tag_is_not_a_sealed_value() {
        let short = format!("v1.{}", URL_SAFE_NO_PAD.encode([0u8; 30]));
        assert!(matches!(
            short.parse::<Sealed>(),
            Err(PrivacyError::Malformed(_))
        ));
    }

    #[test]
    fn debug_shows_no_ciphertext() {
        let s = Sealed::from_parts(&[1; NONCE_LEN], &[2; 20]);
        assert_eq!(format!("{s:?}"), "Sealed(..)");
        assert_eq!(s.as_str().parse::<Sealed>().ok(), Some(s));
    }

    #[test]
    fn serialises_as_a_plain_json_string() {
        let s = Sealed::from_parts(&[1; NONCE_LEN], &[2; 20]);
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", s.as_str()));
    }
}
