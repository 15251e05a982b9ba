//! Replaying a request as every other caller: a mutating RPC is made once, then sent again —
//! same `request_id`, same body — by each other caller, and none of them may receive the first
//! answer. Each is either refused (and writes nothing) or makes a request of its own (and records
//! an idempotency key of its own).

use std::fmt::Debug;
use std::future::Future;

/// A caller of the API: a bearer token and, for tokens that work across municipalities, the
/// header naming the municipality.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who this is, for messages.
    pub label: &'static str,
    /// The bearer token.
    pub token: String,
    /// A header to add (name, value), e.g. the municipality of an operator's request.
    pub header: Option<(&'static str, String)>,
}

impl Caller {
    /// `body` as a request of this caller.
    pub fn request<T>(&self, body: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(body);
        let metadata = request.metadata_mut();
        if let Ok(value) = format!("Bearer {}", self.token).parse() {
            metadata.insert("authorization", value);
        }
        if let Some((name, value)) = &self.header
            && let Ok(value) = value.parse()
        {
            metadata.insert(*name, value);
        }
        request
    }
}

/// What the service under test has stored: its count of idempotency keys and its log head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Idempotency keys recorded.
    pub keys: u64,
    /// The last log position.
    pub head: u64,
}

/// Makes a request as the caller labelled `first` (it must succeed), then as every other caller
/// in `everyone`, and panics if one of them receives the first answer: an accepted replay must
/// record a key of its own, a refused one must write nothing and its message must not contain
/// `secret` (personal data of the first answer).
pub async fn replayed_by_everyone_else<R, F, Fut, P, PFut>(
    rpc: &str,
    first: &str,
    everyone: &[Caller],
    secret: &str,
    stored: P,
    call: F,
) where
    R: Debug,
    F: Fn(Caller) -> Fut,
    Fut: Future<Output = Result<R, tonic::Status>>,
    P: Fn() -> PFut,
    PFut: Future<Output = Stored>,
{
    let Some(by) = everyone.iter().find(|c| c.label == first) else {
        panic!("{rpc}: no caller labelled {first}");
    };
    let answer = call(by.clone()).await;
    assert!(answer.is_ok(), "{rpc} by the {first}: {answer:?}");
    for other in everyone.iter().filter(|c| c.label != first) {
        let before = stored().await;
        let replayed = call(other.clone()).await;
        let after = stored().await;
        match replayed {
            Ok(_) => assert_eq!(
                after.keys,
                before.keys + 1,
                "{rpc} replayed by the {} was answered from the {first}'s request",
                other.label
            ),
            Err(status) => {
                assert!(
                    secret.is_empty() || !status.message().contains(secret),
                    "{rpc} refused to the {} carries personal data: {status:?}",
                    other.label
                );
                assert_eq!(
                    after.head, before.head,
                    "{rpc} refused to the {} wrote an event: {status:?}",
                    other.label
                );
            }
        }
    }
}
