use unicode_normalization::UnicodeNormalization;

/// The form a name is compared in, so the same name typed differently finds the same person:
/// NFKC (folds full- and half-width forms and composes half-width voiced marks), katakana to
/// hiragana (readings are entered in either), no whitespace at all (including the ideographic
/// space U+3000, since family and given name are separated inconsistently), lowercase.
///
/// `"山田　太郎"`, `"山田 太郎"` and `"山田太郎"` normalise alike, as do `"ﾔﾏﾀﾞ ﾀﾛｳ"`, `"ヤマダタロウ"`
/// and `"やまだたろう"`. Kanji variants (髙/高, 﨑/崎) are not folded: they may be different names.
pub fn normalize_name(value: &str) -> String {
    value
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .map(katakana_to_hiragana)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Katakana letters ァ..ヶ and the iteration marks ヽヾ sit exactly 0x60 above their hiragana.
/// ヷ..ヺ have no hiragana counterpart and stay as they are.
fn katakana_to_hiragana(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' | '\u{30FD}' | '\u{30FE}' => {
            char::from_u32(c as u32 - 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideographic_and_ascii_spaces_and_none_normalise_alike() {
        let expected = normalize_name("山田太郎");
        assert_eq!(normalize_name("山田　太郎"), expected);
        assert_eq!(normalize_name("山田 太郎"), expected);
        assert_eq!(normalize_name(" 山田\t太郎 "), expected);
        assert_eq!(expected, "山田太郎");
    }

    #[test]
    fn half_width_katakana_full_width_katakana_and_hiragana_normalise_alike() {
        assert_eq!(normalize_name("ﾔﾏﾀﾞ ﾀﾛｳ"), "やまだたろう");
        assert_eq!(normalize_name("ヤマダタロウ"), "やまだたろう");
        assert_eq!(normalize_name("やまだたろう"), "やまだたろう");
        assert_eq!(normalize_name("ﾊﾟｸ ｼﾞｭﾝﾎ"), normalize_name("パク　ジュンホ"));
    }

    #[test]
    fn full_width_latin_folds_and_lowercases() {
        assert_eq!(normalize_name("ＹＡＭＡＤＡ　Ｔａｒｏ"), "yamadataro");
        assert_eq!(normalize_name("Yamada Taro"), "yamadataro");
    }

    #[test]
    fn different_kanji_stay_different() {
        assert_ne!(normalize_name("髙田"), normalize_name("高田"));
    }
}
