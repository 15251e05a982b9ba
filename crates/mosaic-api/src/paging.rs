//! `page_size` and `page_token`: keyset paging with tamper-evident tokens.
//!
//! A token carries the sort key of the last row served and an HMAC-SHA256 over that key *and*
//! the query it belongs to: the list (its request type), the municipality, and the request's
//! filters (the request itself with `page_size` and `page_token` cleared, as protobuf bytes). An
//! edited or forged token, or one from another list, other filters or another municipality,
//! is refused with a `page_token` violation, so a cursor cannot be steered to rows the query
//! would not reach, nor carried between lists.
//!
//! The MAC key is derived from the master key of personal data (`Vault::derived_secret`), which
//! every replica of a service in one deployment is started with: a token issued by one replica
//! is accepted by another, and by the same service after a restart. A new master key voids the
//! tokens issued before it (callers start the list again). The services with lists (registry,
//! activity) keep personal data, so they refuse to start in a distributed deployment without
//! `MOSAIC_MASTER_KEY`; the embedded platform keeps its key in `<data-dir>/keys/master.key`.
//! A list's `page_size` may change from page to page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use mosaic_privacy::Vault;
use mosaic_proto::v1 as pb;
use mosaic_types::MunicipalityCode;
use sha2::Sha256;

use crate::FieldErrors;

/// Page size when the request leaves it at 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page served.
pub const MAX_PAGE_SIZE: u32 = 500;

/// What the page-token key is derived for (see [`Vault::derived_secret`]).
pub const TOKEN_KEY_PURPOSE: &str = "mosaic-api/v1/page-token";

/// Leads every token, so a token of another format is told apart.
const TOKEN_VERSION: u8 = 2;
/// Length of the MAC in a token (all of HMAC-SHA256).
const MAC_LEN: usize = 32;

/// A list request: its page fields, and the rest of it, which is the query its tokens are bound
/// to. Implemented here for every list of the API, so a new list states itself once.
pub trait ListRequest: prost::Message + Clone {
    /// The list's name, bound into its tokens.
    const LIST: &'static str;
    /// `page_size` as sent.
    fn page_size(&self) -> i32;
    /// `page_token` as sent.
    fn page_token(&self) -> &str;
    /// The request without `page_size` and `page_token`.
    fn query(&self) -> Self;
}

macro_rules! list_request {
    ($($t:ident),+ $(,)?) => {$(
        impl ListRequest for pb::$t {
            const LIST: &'static str = concat!("mosaic.v1.", stringify!($t));
            fn page_size(&self) -> i32 {
                self.page_size
            }
            fn page_token(&self) -> &str {
                &self.page_token
            }
            fn query(&self) -> Self {
                Self {
                    page_size: 0,
                    page_token: String::new(),
                    ..self.clone()
                }
            }
        }
    )+};
}

list_request!(
    ListResidentsRequest,
    ListOrganisationsRequest,
    ListActivitiesRequest,
    ListMatchesRequest,
    ListPiecesOpenRequest,
    ListHostActivitiesRequest,
    ListEngagementsRequest,
);

/// Signs and checks the page tokens of one service.
#[derive(Clone)]
pub struct PageTokens {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTokens").finish_non_exhaustive()
    }
}

impl PageTokens {
    /// Tokens signed with `secret` as the HMAC key (built once, when a service starts).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            mac: <Hmac<Sha256> as Mac>::new_from_slice(secret)
                .expect("HMAC takes a key of any length"),
        }
    }

    /// Tokens signed with the deployment's key, derived from the vault's master key.
    pub fn from_vault(vault: &Vault) -> Self {
        Self::new(&*vault.derived_secret(TOKEN_KEY_PURPOSE))
    }

    /// Parses the page of a list request for `municipality`, recording violations of
    /// `page_size` and `page_token`.
    pub fn page<R: ListRequest>(
        &self,
        errors: &mut FieldErrors,
        municipality: MunicipalityCode,
        request: &R,
    ) -> Page {
        let mut mac = self.mac.clone();
        for part in [
            R::LIST.as_bytes(),
            municipality.as_str().as_bytes(),
            &request.query().encode_to_vec(),
        ] {
            feed(&mut mac, part);
        }
        let size = match request.page_size() {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                errors.add("page_size", "must not be negative");
                DEFAULT_PAGE_SIZE
            }
            n => (n as u32).min(MAX_PAGE_SIZE),
        };
        let token = request.page_token();
        let after = if token.is_empty() {
            None
        } else {
            let after = open(&mac, token);
            if after.is_none() {
                errors.add(
                    "page_token",
                    "is not a token this list issued for this query; start again without it",
                );
            }
            after
        };
        Page { size, after, mac }
    }
}

/// A validated page request: how many, and after which key.
#[derive(Clone)]
pub struct Page {
    /// Rows to return.
    pub size: u32,
    /// The sort key of the last row of the previous page, if any.
    pub after: Option<String>,
    /// The MAC, already fed with the query.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("size", &self.size)
            .field("after", &self.after)
            .finish_non_exhaustive()
    }
}

impl Page {
    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Trims the extra row and returns the token of the next page (empty when this is the last).
    pub fn finish<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> String) -> String {
        if rows.len() > self.size as usize {
            rows.truncate(self.size as usize);
            rows.last()
                .map(|r| seal(&self.mac, &key(r)))
                .unwrap_or_default()
        } else {
            String::new()
        }
    }
}

/// Feeds one length-prefixed part, so no two different sequences of parts feed the same bytes.
fn feed(mac: &mut Hmac<Sha256>, part: &[u8]) {
    mac.update(&(part.len() as u64).to_be_bytes());
    mac.update(part);
}

fn seal(query: &Hmac<Sha256>, cursor: &str) -> String {
    let mut mac = query.clone();
    feed(&mut mac, cursor.as_bytes());
    let mut bytes = Vec::with_capacity(1 + MAC_LEN + cursor.len());
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&mac.finalize().into_bytes());
    bytes.extend_from_slice(cursor.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The cursor of a token sealed for this query, or `None`.
fn open(query: &Hmac<Sha256>, token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let (&version, rest) = bytes.split_first()?;
    if version != TOKEN_VERSION || rest.len() < MAC_LEN {
        return None;
    }
    let (tag, cursor) = rest.split_at(MAC_LEN);
    let mut mac = query.clone();
    feed(&mut mac, cursor);
    // Compared in constant time.
    mac.verify_slice(tag).ok()?;
    String::from_utf8(cursor.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kashiwa() -> MunicipalityCode {
        MunicipalityCode::parse("122173").unwrap_or_else(|_| unreachable!())
    }

    fn request(page_size: i32, page_token: &str, district: &str) -> pb::ListResidentsRequest {
        pb::ListResidentsRequest {
            page_size,
            page_token: page_token.into(),
            district: district.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_page_token_round_trips_with_any_page_size() {
        let tokens = PageTokens::new(b"secret");
        let mut errors = FieldErrors::new();
        let page = tokens.page(&mut errors, kashiwa(), &request(2, "", "柏"));
        let mut rows = vec!["a", "b", "c"];
        let token = page.finish(&mut rows, |r| r.to_string());
        assert_eq!(rows, vec!["a", "b"]);
        let next = tokens.page(&mut errors, kashiwa(), &request(7, &token, "柏"));
        assert_eq!(next.after.as_deref(), Some("b"));
        // Another instance with the same secret (another replica) accepts it too.
        let again =
            PageTokens::new(b"secret").page(&mut errors, kashiwa(), &request(2, &token, "柏"));
        assert_eq!(again.after.as_deref(), Some("b"));
        assert!(errors.is_empty(), "{:?}", errors.violations());
    }

    #[test]
    fn edited_forged_or_foreign_tokens_are_refused() {
        let tokens = PageTokens::new(b"secret");
        let mut errors = FieldErrors::new();
        let page = tokens.page(&mut errors, kashiwa(), &request(1, "", "柏"));
        let token = page.finish(&mut vec!["a", "b"], |r| r.to_string());
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap_or_default();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        let edited = URL_SAFE_NO_PAD.encode(bytes);
        let old_format = URL_SAFE_NO_PAD.encode("v1:a");
        let chigasaki = MunicipalityCode::parse("142077").unwrap_or_else(|_| unreachable!());
        let cases: Vec<(MunicipalityCode, pb::ListResidentsRequest, &PageTokens)> = vec![
            (kashiwa(), request(1, &edited, "柏"), &tokens),
            (kashiwa(), request(1, &old_format, "柏"), &tokens),
            (kashiwa(), request(1, "not-a-token", "柏"), &tokens),
            (kashiwa(), request(1, &token, "我孫子"), &tokens),
            (chigasaki, request(1, &token, "柏"), &tokens),
        ];
        let other_key = PageTokens::new(b"other");
        for (m, r, t) in
            cases
                .into_iter()
                .chain([(kashiwa(), request(1, &token, "柏"), &other_key)])
        {
            let mut errors = FieldErrors::new();
            let page = t.page(&mut errors, m, &r);
            assert_eq!(page.after, None);
            assert_eq!(errors.violations().len(), 1, "{r:?}");
            assert_eq!(errors.violations()[0].0, "page_token");
        }
        // Another list with the same filters.
        let mut errors = FieldErrors::new();
        tokens.page(
            &mut errors,
            kashiwa(),
            &pb::ListOrganisationsRequest {
                page_size: 1,
                page_token: token.clone(),
                district: "柏".into(),
                ..Default::default()
            },
        );
        assert_eq!(errors.violations().len(), 1);
    }

    #[test]
    fn page_sizes_default_and_cap() {
        let tokens = PageTokens::new(b"secret");
        let mut errors = FieldErrors::new();
        assert_eq!(
            tokens
                .page(&mut errors, kashiwa(), &request(0, "", ""))
                .size,
            DEFAULT_PAGE_SIZE
        );
        assert_eq!(
            tokens
                .page(&mut errors, kashiwa(), &request(10_000, "", ""))
                .size,
            MAX_PAGE_SIZE
        );
        assert!(errors.is_empty());
        tokens.page(&mut errors, kashiwa(), &request(-1, "", ""));
        assert!(!errors.is_empty());
    }
}
