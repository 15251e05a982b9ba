//! Per-caller rates on the embedded platform: one token's subject cannot use up another's.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::num::NonZeroU32;

use common::*;
use mosaic_api::limits::ServeLimits;
use mosaic_auth::Role;
use mosaic_proto::v1::GetMunicipalityRequest;
use mosaic_runtime::embedded::{Embedded, EmbeddedOptions};
use tonic::Code;
use tonic::transport::Channel;

#[tokio::test]
async fn calls_beyond_the_rate_of_a_token_subject_are_resource_exhausted_for_that_subject_only()
-> anyhow::Result<()> {
    telemetry();
    let dir = tempfile::tempdir()?;
    let platform = Embedded::start(
        &mosaic::modules(),
        EmbeddedOptions {
            limits: ServeLimits {
                calls_per_subject: NonZeroU32::new(3),
                ..ServeLimits::default()
            },
            ..EmbeddedOptions::new("127.0.0.1:0".parse()?, dir.path().to_owned())
        },
    )
    .await?;
    let addr = platform.local_addr();
    let signer = platform
        .keys
        .signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(platform.serve(async {
        let _ = stopped.await;
    }));
    let mint = |subject: &str| {
        signer
            .mint(
                subject,
                Role::Coordinator,
                Some(code(KASHIWA)),
                chrono::Duration::minutes(5),
            )
            .unwrap()
    };
    let (busy, other) = (mint("busy"), mint("other"));
    let mut registry = Registry::new(
        Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?,
    );

    let mut codes = Vec::new();
    for _ in 0..10 {
        let answer = registry
            .get_municipality(authed(GetMunicipalityRequest {}, &busy, None))
            .await;
        codes.push(answer.err().map(|s| s.code()).unwrap_or(Code::Ok));
    }
    let exhausted = codes
        .iter()
        .filter(|c| **c == Code::ResourceExhausted)
        .count();
    assert!(exhausted >= 1, "{codes:?}");
    assert!(exhausted < codes.len(), "the first calls pass: {codes:?}");

    let answer = registry
        .get_municipality(authed(GetMunicipalityRequest {}, &other, None))
        .await;
    assert_ne!(
        answer.err().map(|s| s.code()),
        Some(Code::ResourceExhausted),
        "another subject has a budget of its own"
    );

    let _ = stop.send(());
    task.await??;
    Ok(())
}
