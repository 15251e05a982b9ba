use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use mosaic_types::MunicipalityCode;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{MasterKey, aad, normalize_name};

/// HMAC-SHA256 of the normalised value under a key derived (HKDF-SHA256) from the master key for
/// this municipality and purpose, as lowercase hex. A separate key per municipality and purpose
/// keeps indexes from being compared across tenants or across uses (a name index says nothing
/// about a phone index).
pub(crate) fn blind_index(
    master: &MasterKey,
    municipality: MunicipalityCode,
    purpose: &str,
    value: &str,
) -> String {
    exact_index(master, municipality, purpose, &normalize_name(value))
}

/// [`blind_index`] of the value exactly as given (identifiers such as a login subject, where two
/// spellings are two values).
pub(crate) fn exact_index(
    master: &MasterKey,
    municipality: MunicipalityCode,
    purpose: &str,
    value: &str,
) -> String {
    let hkdf = Hkdf::<Sha256>::new(Some(b"mosaic-privacy/v1/blind-index"), master.bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf.expand(
        &aad::encode("", &[municipality.as_str(), purpose]),
        &mut *key,
    )
    .expect("32 bytes is within HKDF-SHA256's output limit");
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&*key).expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn code(s: &str) -> MunicipalityCode {
        MunicipalityCode::parse(s).unwrap()
    }

    #[test]
    fn names_equal_after_normalising_have_equal_indexes() {
        let m = MasterKey::generate();
        let k = code("122173");
        let a = blind_index(&m, k, "name", "山田　太郎");
        assert_eq!(a, blind_index(&m, k, "name", "山田 太郎"));
        assert_eq!(a, blind_index(&m, k, "name", "山田太郎"));
        let r = blind_index(&m, k, "reading", "ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(r, blind_index(&m, k, "reading", "ヤマダタロウ"));
        assert_eq!(r, blind_index(&m, k, "reading", "やまだたろう"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn exact_indexes_keep_spellings_apart() {
        let m = MasterKey::generate();
        let k = code("122173");
        let a = exact_index(&m, k, "account", "Taro@example.jp");
        assert_ne!(a, exact_index(&m, k, "account", "taro@example.jp"));
        assert_eq!(a, exact_index(&m, k, "account", "Taro@example.jp"));
        assert_ne!(
            a,
            exact_index(&m, code("142077"), "account", "Taro@example.jp")
        );
    }

    #[test]
    fn indexes_differ_across_municipalities_purposes_names_and_master_keys() {
        let m = MasterKey::generate();
        let a = blind_index(&m, code("122173"), "name", "山田太郎");
        assert_ne!(a, blind_index(&m, code("142077"), "name", "山田太郎"));
        assert_ne!(a, blind_index(&m, code("122173"), "reading", "山田太郎"));
        assert_ne!(a, blind_index(&m, code("122173"), "name", "山田花子"));
        assert_ne!(
            a,
            blind_index(&MasterKey::generate(), code("122173"), "name", "山田太郎")
        );
    }
}
