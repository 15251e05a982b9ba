//! A request body that does not decode answers `INVALID_ARGUMENT`, not `INTERNAL`.
//!
//! tonic's protobuf codec reports a message it cannot decode (malformed bytes, a string field
//! that is not UTF-8) as `INTERNAL`, the code gRPC gives a receiver's own parse failures; on a
//! server the bytes are the caller's, and `INTERNAL` tells clients and alerting that the server
//! is broken. The codec's error is a `Status` by the time it leaves tonic, so this layer
//! recognises tonic's two messages for a request without a decodable message (prost's "failed
//! to decode Protobuf message" and tonic's "Missing request message.") and answers them again as
//! `INVALID_ARGUMENT` with a `google.rpc.BadRequest` violation. The field is taken from the
//! decoder's field stack when it names one (e.g. `profile.district`), else left empty (the body
//! as a whole). A unary call answers in the headers; a streamed request (an import) ends with
//! the status in the trailers, so both are rewritten.
//!
//! A custom codec in the generated code would see the error typed, but the same code decodes
//! answers in clients, where a message that does not decode is not the caller's fault.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::HeaderMap;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::util::MapResponseLayer;

use crate::FieldErrors;

/// How prost's decode errors start (`prost::DecodeError`'s `Display`).
const PROST_PREFIX: &str = "failed to decode Protobuf message: ";
/// tonic's answer to a unary request whose body holds no message.
const MISSING_MESSAGE: &str = "Missing request message.";

/// A response rewriter for `Server::builder().layer(…)`.
pub type DecodeErrorLayer = MapResponseLayer<fn(http::Response<Body>) -> http::Response<Body>>;

/// The layer that answers undecodable requests with `INVALID_ARGUMENT`.
pub fn layer() -> DecodeErrorLayer {
    MapResponseLayer::new(rewrite_response)
}

fn rewrite_response(mut response: http::Response<Body>) -> http::Response<Body> {
    // A status in the headers is a trailers-only answer: its body is empty.
    if response.headers().contains_key("grpc-status") {
        rewrite(response.headers_mut());
        return response;
    }
    response.map(|inner| Body::new(Trailers { inner }))
}

/// Rewrites the status in `headers` (headers or trailers) when it reports a decode failure.
fn rewrite(headers: &mut HeaderMap) {
    let Some(answer) = Status::from_header_map(headers).and_then(|s| invalid_argument(&s)) else {
        return;
    };
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if answer.add_header(headers).is_err() {
        // The new status always fits a header; should it not, the caller still learns the code.
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
}

/// The `INVALID_ARGUMENT` answer for a status that reports an undecodable request.
fn invalid_argument(status: &Status) -> Option<Status> {
    if status.code() != Code::Internal {
        return None;
    }
    let message = status.message();
    let mut errors = FieldErrors::new();
    if let Some(rest) = message.strip_prefix(PROST_PREFIX) {
        let (field, why) = field_and_reason(rest);
        errors.add(field, format!("is not a valid protobuf message: {why}"));
    } else if message == MISSING_MESSAGE {
        errors.add("", "the request body holds no message");
    } else {
        return None;
    }
    errors.finish().err()
}

/// prost lists the fields it was in, innermost first (`Inner.field: Outer.field: why`); the
/// path reads outermost first (`field.field`).
fn field_and_reason(rest: &str) -> (String, &str) {
    let mut path = Vec::new();
    let mut rest = rest;
    while let Some((segment, tail)) = rest.split_once(": ") {
        match segment.split_once('.') {
            Some((message, field))
                if !message.is_empty()
                    && !field.is_empty()
                    && segment
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
            {
                path.push(field);
                rest = tail;
            }
            _ => break,
        }
    }
    path.reverse();
    (path.join("."), rest)
}

/// A response body whose closing status is rewritten when it reports a decode failure.
struct Trailers {
    inner: Body,
}

impl http_body::Body for Trailers {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(frame.map(|frame| {
            frame.map(|frame| match frame.into_trailers() {
                Ok(mut trailers) => {
                    rewrite(&mut trailers);
                    http_body::Frame::trailers(trailers)
                }
                Err(frame) => frame,
            })
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_path_is_read_outermost_first() {
        assert_eq!(
            field_and_reason(
                "ResidentProfile.district: RegisterResidentRequest.profile: invalid string value: data is not UTF-8 encoded"
            ),
            (
                "profile.district".to_owned(),
                "invalid string value: data is not UTF-8 encoded"
            )
        );
        assert_eq!(
            field_and_reason("invalid wire type value: 7"),
            (String::new(), "invalid wire type value: 7")
        );
    }

    #[test]
    fn other_internal_errors_are_left_alone() {
        assert!(invalid_argument(&Status::internal("a stored event is unreadable")).is_none());
        assert!(
            invalid_argument(&Status::unavailable(
                "failed to decode Protobuf message: buffer underflow"
            ))
            .is_none()
        );
        let answer = invalid_argument(&Status::internal(
            "failed to decode Protobuf message: buffer underflow",
        ));
        assert_eq!(answer.map(|s| s.code()), Some(Code::InvalidArgument));
    }
}
