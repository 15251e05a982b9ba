//! The auth layer, both in front of a real tonic server and driven directly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::Duration;
use http::uri::PathAndQuery;
use mosaic_auth::{
    AuthLayer, AuthService, Caller, DEFAULT_AUDIENCE, DEFAULT_ISSUER, MUNICIPALITY_HEADER, Role,
    SigningKeys, TokenSigner, TokenVerifier,
};
use mosaic_types::MunicipalityCode;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::{Service, ServiceExt};

const KASHIWA: &str = "122173";
const CHIYODA: &str = "131016";
const PROTECTED_PATH: &str = "/mosaic.registry.v1.Registry/GetResident";

struct Fixture {
    keys: SigningKeys,
    signer: TokenSigner,
    verifier: Arc<TokenVerifier>,
}

impl Fixture {
    fn new() -> Self {
        let keys = SigningKeys::generate();
        let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
        let verifier = Arc::new(TokenVerifier::new(
            keys.key_set(),
            DEFAULT_ISSUER,
            DEFAULT_AUDIENCE,
        ));
        Self {
            keys,
            signer,
            verifier,
        }
    }

    fn token(&self, role: Role, municipality: Option<&str>) -> String {
        let municipality = municipality.map(|m| MunicipalityCode::parse(m).unwrap());
        self.signer
            .mint("user-1", role, municipality, Duration::minutes(5))
            .unwrap()
    }

    /// An inner service that hands back, in the response extensions, the caller it was given.
    fn service(
        &self,
    ) -> impl Service<
        http::Request<()>,
        Response = http::Response<tonic::body::Body>,
        Error = std::convert::Infallible,
    > + Clone {
        let inner = tower::service_fn(|req: http::Request<()>| async move {
            let mut response = http::Response::new(tonic::body::Body::default());
            response
                .extensions_mut()
                .insert(req.extensions().get::<Caller>().cloned());
            Ok::<_, std::convert::Infallible>(response)
        });
        AuthService::new(inner, Arc::clone(&self.verifier))
    }
}

fn request(path: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn grpc_status<B>(response: &http::Response<B>) -> Option<&str> {
    response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap())
}

/// The caller the inner service saw, or `None` if the request never reached it.
fn seen_caller<B>(response: &http::Response<B>) -> Option<Caller> {
    response
        .extensions()
        .get::<Option<Caller>>()
        .cloned()
        .flatten()
}

#[tokio::test]
async fn request_without_token_is_unauthenticated() {
    let f = Fixture::new();
    let response = f
        .service()
        .oneshot(request(PROTECTED_PATH, &[]))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("16"));
    assert_eq!(response.headers()["content-type"], "application/grpc");
    assert!(
        response.extensions().get::<Option<Caller>>().is_none(),
        "inner service was called"
    );
}

#[tokio::test]
async fn malformed_authorization_is_unauthenticated() {
    let f = Fixture::new();
    let token = f.token(Role::Operator, None);
    for value in [
        token.clone(),
        format!("Basic {token}"),
        "Bearer ".to_owned(),
    ] {
        let response = f
            .service()
            .oneshot(request(PROTECTED_PATH, &[("authorization", &value)]))
            .await
            .unwrap();
        assert_eq!(grpc_status(&response), Some("16"), "{value}");
    }
}

#[tokio::test]
async fn expired_token_is_unauthenticated() {
    let f = Fixture::new();
    let token = f
        .signer
        .mint("user-1", Role::Operator, None, Duration::minutes(-10))
        .unwrap();
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[("authorization", &bearer(&token))],
        ))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("16"));
}

#[tokio::test]
async fn token_from_another_key_is_unauthenticated() {
    let f = Fixture::new();
    let token = Fixture::new().token(Role::Operator, None);
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[("authorization", &bearer(&token))],
        ))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("16"));
}

#[tokio::test]
async fn token_for_another_audience_is_unauthenticated() {
    let f = Fixture::new();
    let token = f
        .keys
        .signer(DEFAULT_ISSUER, "another-app")
        .unwrap()
        .mint("user-1", Role::Operator, None, Duration::minutes(5))
        .unwrap();
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[("authorization", &bearer(&token))],
        ))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("16"));
}

#[tokio::test]
async fn bound_token_naming_another_municipality_is_permission_denied() {
    let f = Fixture::new();
    let token = f.token(Role::Coordinator, Some(KASHIWA));
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[
                ("authorization", &bearer(&token)),
                (MUNICIPALITY_HEADER, CHIYODA),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("7"));
    assert!(seen_caller(&response).is_none());
}

#[tokio::test]
async fn malformed_municipality_header_is_invalid_argument() {
    let f = Fixture::new();
    let token = f.token(Role::Operator, None);
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[
                ("authorization", &bearer(&token)),
                (MUNICIPALITY_HEADER, "kashiwa"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("3"));
}

#[tokio::test]
async fn valid_token_reaches_the_service_with_its_caller() {
    let f = Fixture::new();
    let token = f.token(Role::Coordinator, Some(KASHIWA));
    let kashiwa = MunicipalityCode::parse(KASHIWA).unwrap();
    // The scheme is case-insensitive; the header may repeat the token's own municipality.
    for headers in [
        vec![("authorization", bearer(&token))],
        vec![
            ("authorization", format!("bearer {token}")),
            (MUNICIPALITY_HEADER, KASHIWA.to_owned()),
        ],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let response = f
            .service()
            .oneshot(request(PROTECTED_PATH, &headers))
            .await
            .unwrap();
        assert_eq!(grpc_status(&response), None);
        let caller = seen_caller(&response).expect("inner service saw no caller");
        assert_eq!(caller.subject, "user-1");
        assert_eq!(caller.role, Role::Coordinator);
        assert_eq!(caller.home, Some(kashiwa));
        assert_eq!(caller.municipality, Some(kashiwa));
    }
}

#[tokio::test]
async fn operator_acts_in_the_municipality_the_header_names() {
    let f = Fixture::new();
    let token = f.token(Role::Operator, None);
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[
                ("authorization", &bearer(&token)),
                (MUNICIPALITY_HEADER, CHIYODA),
            ],
        ))
        .await
        .unwrap();
    let caller = seen_caller(&response).expect("inner service saw no caller");
    assert_eq!(caller.role, Role::Operator);
    assert_eq!(caller.home, None);
    assert_eq!(
        caller.municipality,
        Some(MunicipalityCode::parse(CHIYODA).unwrap())
    );
}

#[tokio::test]
async fn health_and_reflection_pass_without_a_token() {
    let f = Fixture::new();
    for path in [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ] {
        let response = f.service().oneshot(request(path, &[])).await.unwrap();
        assert_eq!(grpc_status(&response), None, "{path}");
        assert!(
            response.extensions().get::<Option<Caller>>().is_some(),
            "{path} did not reach the service"
        );
    }
}

/// A real server with the layer in front of every service, reached by real clients.
#[tokio::test]
async fn layer_composes_with_a_tonic_server() {
    let f = Fixture::new();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .layer(AuthLayer::from_shared(Arc::clone(&f.verifier)))
        .add_service(health)
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    let server = tokio::spawn(server);

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();

    let mut health_client = HealthClient::new(channel.clone());
    let status = health_client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);

    // Any other path is guarded: without a token the layer answers; with one the request gets
    // through to the router, which knows no such service.
    let call = |token: Option<String>| {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        async move {
            grpc.ready().await.unwrap();
            let mut req = tonic::Request::new(());
            if let Some(token) = token {
                req.metadata_mut()
                    .insert("authorization", bearer(&token).parse().unwrap());
            }
            grpc.unary::<(), (), _>(
                req,
                PathAndQuery::from_static(PROTECTED_PATH),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err()
        }
    };
    let status = call(None).await;
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(status.message().contains("Bearer"), "{}", status.message());
    let status = call(Some(f.token(Role::Operator, None))).await;
    assert_eq!(status.code(), tonic::Code::Unimplemented);

    server.abort();
}

#[tokio::test]
async fn host_token_without_its_organisation_never_reaches_the_service() {
    let f = Fixture::new();
    let now = chrono::Utc::now().timestamp();
    let mut claims = mosaic_auth::Claims {
        iss: DEFAULT_ISSUER.to_owned(),
        aud: DEFAULT_AUDIENCE.to_owned(),
        exp: now + 300,
        iat: now,
        sub: "host-staff".to_owned(),
        role: Role::HostOrganisation,
        municipality: Some(KASHIWA.to_owned()),
        org: None,
        jti: None,
    };
    // Signed the way an issuer that does not know the rule would: TokenSigner refuses it.
    let key = jsonwebtoken::EncodingKey::from_ed_pem(f.keys.to_pem().unwrap().as_bytes()).unwrap();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    let unbound = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[("authorization", &bearer(&unbound))],
        ))
        .await
        .unwrap();
    assert_eq!(grpc_status(&response), Some("16"));
    assert!(seen_caller(&response).is_none());

    let org = mosaic_types::OrganisationId::new();
    claims.org = Some(org.to_string());
    let bound = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let response = f
        .service()
        .oneshot(request(
            PROTECTED_PATH,
            &[("authorization", &bearer(&bound))],
        ))
        .await
        .unwrap();
    assert_eq!(seen_caller(&response).unwrap().organisation, Some(org));
}
