//! Associated data and key-derivation labels. Every part is length-prefixed, so no two different
//! lists of parts ever encode to the same bytes (`("12", "3")` and `("1", "23")` stay apart).

/// `label` followed by each part as a big-endian u32 length and its bytes.
pub(crate) fn encode(label: &str, parts: &[&str]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(label.len() + parts.iter().map(|p| p.len() + 4).sum::<usize>());
    out.extend_from_slice(label.as_bytes());
    for part in parts {
        // Field names, subjects and codes are short; a part over 4 GiB would be a bug upstream.
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_splits_of_the_same_text_encode_differently() {
        assert_ne!(encode("l", &["12", "3"]), encode("l", &["1", "23"]));
    }
}
