use std::fmt;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use mosaic_types::MunicipalityCode;
use zeroize::Zeroizing;

use crate::master_key::KEY_LEN;
use crate::{PrivacyError, Sealed, aad};

/// One person's data key in one municipality, as handed out by a [`crate::Vault`]. Zeroized on
/// drop; `Debug` shows whose key it is, never the key.
#[derive(Clone)]
pub struct PersonKey {
    municipality: MunicipalityCode,
    subject: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl PersonKey {
    pub(crate) fn new(
        municipality: MunicipalityCode,
        subject: &str,
        key: Zeroizing<[u8; KEY_LEN]>,
    ) -> Self {
        Self {
            municipality,
            subject: subject.to_owned(),
            key,
        }
    }

    /// The municipality this key belongs to.
    pub fn municipality(&self) -> MunicipalityCode {
        self.municipality
    }

    /// The person (subject id) this key belongs to.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Encrypts `plaintext` with XChaCha20-Poly1305 under a fresh random 24-byte nonce. The
    /// associated data binds the municipality, the subject and `field` (e.g. `"name"`), so a
    /// ciphertext moved to another person or another field does not open.
    pub fn seal(&self, field: &str, plaintext: &str) -> Sealed {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ad = self.associated_data(field);
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &ad,
                },
            )
            // XChaCha20-Poly1305 refuses only messages over 256 GiB, far beyond any field.
            .expect("a personal-data field is within the AEAD's message limit");
        Sealed::from_parts(&nonce, &ciphertext)
    }

    /// Decrypts a value sealed by [`PersonKey::seal`] for this person and `field`.
    pub fn open(&self, field: &str, sealed: &Sealed) -> Result<String, PrivacyError> {
        let (nonce, ciphertext) = sealed.to_parts()?;
        let ad = self.associated_data(field);
        let mut plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &ad,
                    },
                )
                .map_err(|_| PrivacyError::Undecryptable)?,
        );
        String::from_utf8(std::mem::take(&mut *plain)).map_err(|_| PrivacyError::Undecryptable)
    }

    /// The raw key bytes, for tests that prove they are never stored.
    #[cfg(test)]
    pub(crate) fn raw(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }

    fn associated_data(&self, field: &str) -> Vec<u8> {
        aad::encode(
            "mosaic-privacy/v1/field",
            &[self.municipality.as_str(), &self.subject, field],
        )
    }
}

impl fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonKey")
            .field("municipality", &self.municipality)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn kashiwa() -> MunicipalityCode {
        MunicipalityCode::parse("122173").unwrap()
    }

    fn key(subject: &str, byte: u8) -> PersonKey {
        PersonKey::new(kashiwa(), subject, Zeroizing::new([byte; KEY_LEN]))
    }

    #[test]
    fn sealing_then_opening_gives_the_plaintext_back() {
        let k = key("p-1", 1);
        let sealed = k.seal("name", "山田　太郎");
        assert!(sealed.as_str().starts_with("v1."));
        assert!(!sealed.as_str().contains("山田"));
        assert_eq!(k.open("name", &sealed).unwrap(), "山田　太郎");
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let k = key("p-1", 1);
        assert_ne!(k.seal("name", "山田太郎"), k.seal("name", "山田太郎"));
    }

    #[test]
    fn a_value_sealed_for_one_field_does_not_open_as_another() {
        let k = key("p-1", 1);
        let sealed = k.seal("name", "山田太郎");
        assert!(matches!(
            k.open("address", &sealed),
            Err(PrivacyError::Undecryptable)
        ));
    }

    #[test]
    fn a_value_sealed_for_one_person_does_not_open_for_another_even_with_the_same_key_bytes() {
        let sealed = key("p-1", 1).seal("name", "山田太郎");
        assert!(matches!(
            key("p-2", 1).open("name", &sealed),
            Err(PrivacyError::Undecryptable)
        ));
    }

    #[test]
    fn a_tampered_ciphertext_does_not_open() {
        let k = key("p-1", 1);
        let sealed = k.seal("name", "山田太郎");
        // Flip one character inside the body (not the last one, whose low bits base64 ignores).
        let mut chars: Vec<char> = sealed.as_str().chars().collect();
        let at = chars.len() - 5;
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let tampered: Sealed = chars.into_iter().collect::<String>().parse().unwrap();
        assert!(matches!(
            k.open("name", &tampered),
            Err(PrivacyError::Undecryptable)
        ));
    }

    #[test]
    fn debug_shows_whose_key_and_not_the_key() {
        let shown = format!("{:?}", key("p-1", 0xab));
        assert!(shown.contains("p-1"));
        assert!(!shown.contains("171") && !shown.contains("ab, ab"));
    }
}
