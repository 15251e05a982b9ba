#![allow(dead_code)]

//! What every matching benchmark starts from: Kashiwa registered by an operator and one host
//! organisation (a social welfare council) registered by a coordinator, through the registry's
//! API.

use anyhow::{Context, Result};
use mosaic_auth::{Role, TokenSigner};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_testkit::sample::KASHIWA;
use mosaic_types::MunicipalityCode;
use tonic::Request;
use tonic::transport::Channel;

/// The host's world: tokens, its id and the registry's consistency token of its registration.
pub struct Host {
    /// A coordinator of Kashiwa.
    pub coordinator: String,
    /// The host organisation's id.
    pub host: String,
    /// A token of the host organisation's staff.
    pub host_token: String,
    /// The consistency token of the host's registration.
    pub seen: String,
}

/// A request with a bearer token and, if any, consistency tokens.
pub fn authed<T>(body: T, token: &str, seen: &str) -> Request<T> {
    let mut r = Request::new(body);
    if let Ok(v) = format!("Bearer {token}").parse() {
        r.metadata_mut().insert("authorization", v);
    }
    if !seen.is_empty()
        && let Ok(v) = seen.parse()
    {
        r.metadata_mut().insert(mosaic_api::consistency::HEADER, v);
    }
    r
}

/// The consistency token an answer carries.
pub fn token_of<T>(answer: &tonic::Response<T>) -> String {
    answer
        .metadata()
        .get(mosaic_api::consistency::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Registers Kashiwa and its host organisation.
pub async fn register(registry: Channel, signer: &TokenSigner) -> Result<Host> {
    let m = MunicipalityCode::parse(KASHIWA)?;
    let hours = chrono::Duration::hours(4);
    let operator = signer.mint("operator", Role::Operator, None, hours)?;
    let coordinator = signer.mint("coordinator", Role::Coordinator, Some(m), hours)?;
    let mut r = RegistryServiceClient::new(registry);
    let mut municipality = authed(
        pb::RegisterMunicipalityRequest {
            request_id: "m".into(),
            code: KASHIWA.into(),
            name: "柏市".into(),
            prefecture: "千葉県".into(),
            occurred_at: None,
            profile: None,
        },
        &operator,
        "",
    );
    municipality
        .metadata_mut()
        .insert(mosaic_auth::MUNICIPALITY_HEADER, KASHIWA.parse()?);
    r.register_municipality(municipality).await?;
    let org = r
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: "host".into(),
                details: Some(pb::OrganisationDetails {
                    kind: pb::OrganisationKind::SocialWelfareCouncil as i32,
                    name: "柏市社会福祉協議会".into(),
                    fields: vec![pb::Field::Welfare as i32],
                    district: "柏".into(),
                    contact: Some(pb::ContactPerson {
                        name: "佐藤".into(),
                        ..Default::default()
                    }),
                    licences: vec![],
                }),
                occurred_at: None,
            },
            &coordinator,
            "",
        ))
        .await?;
    let seen = token_of(&org);
    let host = org
        .into_inner()
        .organisation
        .context("no organisation")?
        .organisation_id;
    let host_token = signer.mint_scoped(
        "host-staff",
        Role::HostOrganisation,
        Some(m),
        Some(mosaic_types::OrganisationId::parse(&host)?),
        hours,
    )?;
    Ok(Host {
        coordinator,
        host,
        host_token,
        seen,
    })
}
