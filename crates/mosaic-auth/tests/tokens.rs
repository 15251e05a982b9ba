//! Minting and verifying tokens through the public API.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mosaic_auth::{
    AuthError, Claims, DEFAULT_AUDIENCE, DEFAULT_ISSUER, KeySet, MAX_TOKEN_HOURS, Role,
    SigningKeys, TokenVerifier,
};
use mosaic_types::{MunicipalityCode, OrganisationId};

const KASHIWA: &str = "122173";

fn kashiwa() -> MunicipalityCode {
    MunicipalityCode::parse(KASHIWA).unwrap()
}

fn verifier_for(keys: &SigningKeys) -> TokenVerifier {
    TokenVerifier::new(keys.key_set(), DEFAULT_ISSUER, DEFAULT_AUDIENCE)
}

fn claims(role: Role, municipality: Option<&str>) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: DEFAULT_ISSUER.to_owned(),
        aud: DEFAULT_AUDIENCE.to_owned(),
        exp: now + 600,
        iat: now,
        sub: "user-1".to_owned(),
        role,
        municipality: municipality.map(str::to_owned),
        org: None,
        jti: None,
    }
}

/// Signs with jsonwebtoken directly, bypassing the checks `TokenSigner` makes, the way a
/// misbehaving issuer would.
fn raw_token(keys: &SigningKeys, header: &Header, claims: &Claims) -> String {
    let key = EncodingKey::from_ed_pem(keys.to_pem().unwrap().as_bytes()).unwrap();
    jsonwebtoken::encode(header, claims, &key).unwrap()
}

#[test]
fn minted_token_verifies_to_its_caller() {
    let keys = SigningKeys::generate();
    let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let token = signer
        .mint(
            "coordinator-7",
            Role::Coordinator,
            Some(kashiwa()),
            Duration::minutes(5),
        )
        .unwrap();

    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(keys.kid()));

    let caller = verifier_for(&keys).verify(&token).unwrap();
    assert_eq!(caller.subject, "coordinator-7");
    assert_eq!(caller.role, Role::Coordinator);
    assert_eq!(caller.home, Some(kashiwa()));
    assert_eq!(caller.municipality, Some(kashiwa()));
}

#[test]
fn analysts_and_operators_may_omit_the_municipality() {
    let keys = SigningKeys::generate();
    let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    for role in [Role::Analyst, Role::Operator] {
        let token = signer
            .mint("staff", role, None, Duration::minutes(5))
            .unwrap();
        let caller = verifier_for(&keys).verify(&token).unwrap();
        assert_eq!(caller.home, None);
        assert_eq!(caller.municipality, None);
    }
}

#[test]
fn bound_roles_cannot_be_minted_without_a_municipality() {
    let signer = SigningKeys::generate()
        .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap();
    for role in [
        Role::Resident,
        Role::Coordinator,
        Role::HostOrganisation,
        Role::MunicipalityOfficer,
    ] {
        let err = signer
            .mint("x", role, None, Duration::minutes(5))
            .unwrap_err();
        assert_eq!(err, AuthError::RoleNeedsMunicipality { role });
    }
}

#[test]
fn bound_role_token_without_municipality_is_rejected_on_verify() {
    let keys = SigningKeys::generate();
    let token = raw_token(
        &keys,
        &Header::new(Algorithm::EdDSA),
        &claims(Role::Resident, None),
    );
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert_eq!(
        err,
        AuthError::RoleNeedsMunicipality {
            role: Role::Resident
        }
    );
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::Unauthenticated
    );
}

#[test]
fn malformed_municipality_claim_is_rejected() {
    let keys = SigningKeys::generate();
    let token = raw_token(
        &keys,
        &Header::new(Algorithm::EdDSA),
        &claims(Role::Resident, Some("122170")),
    );
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken { reason } if reason.contains("municipality")),
        "{err}"
    );
}

#[test]
fn expired_tokens_are_rejected_beyond_the_leeway() {
    let keys = SigningKeys::generate();
    let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let verifier = verifier_for(&keys);

    let expired = signer
        .mint("x", Role::Operator, None, Duration::minutes(-5))
        .unwrap();
    let err = verifier.verify(&expired).unwrap_err();
    assert_eq!(err, AuthError::Expired);
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::Unauthenticated
    );

    // Within the 30 s clock-skew allowance.
    let just_expired = signer
        .mint("x", Role::Operator, None, Duration::seconds(-10))
        .unwrap();
    assert!(verifier.verify(&just_expired).is_ok());
}

#[test]
fn issuer_and_audience_must_match() {
    let keys = SigningKeys::generate();
    let verifier = verifier_for(&keys);

    let other_issuer = keys.signer("someone-else", DEFAULT_AUDIENCE).unwrap();
    let token = other_issuer
        .mint("x", Role::Operator, None, Duration::minutes(5))
        .unwrap();
    assert_eq!(verifier.verify(&token).unwrap_err(), AuthError::WrongIssuer);

    let other_audience = keys.signer(DEFAULT_ISSUER, "another-app").unwrap();
    let token = other_audience
        .mint("x", Role::Operator, None, Duration::minutes(5))
        .unwrap();
    assert_eq!(
        verifier.verify(&token).unwrap_err(),
        AuthError::WrongAudience
    );
}

#[test]
fn missing_issuer_or_audience_is_not_accepted() {
    let keys = SigningKeys::generate();
    let mut c = serde_json::to_value(claims(Role::Operator, None)).unwrap();
    c.as_object_mut().unwrap().remove("aud");
    let key = EncodingKey::from_ed_pem(keys.to_pem().unwrap().as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &c, &key).unwrap();
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken { .. }), "{err}");
}

#[test]
fn key_is_selected_by_kid() {
    let a = SigningKeys::generate();
    let b = SigningKeys::generate();
    let stranger = SigningKeys::generate();
    let mut keys = a.jwks()["keys"].as_array().unwrap().clone();
    keys.extend(b.jwks()["keys"].as_array().unwrap().iter().cloned());
    let set = KeySet::from_jwks_json(&serde_json::json!({ "keys": keys }).to_string()).unwrap();
    let verifier = TokenVerifier::new(set, DEFAULT_ISSUER, DEFAULT_AUDIENCE);

    for keys in [&a, &b] {
        let token = keys
            .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
            .unwrap()
            .mint("x", Role::Analyst, None, Duration::minutes(5))
            .unwrap();
        assert!(verifier.verify(&token).is_ok());
    }

    let token = stranger
        .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap()
        .mint("x", Role::Analyst, None, Duration::minutes(5))
        .unwrap();
    assert_eq!(
        verifier.verify(&token).unwrap_err(),
        AuthError::UnknownKeyId {
            kid: Some(stranger.kid().to_owned())
        }
    );

    // A token without a kid cannot choose between two keys.
    let no_kid = raw_token(
        &a,
        &Header::new(Algorithm::EdDSA),
        &claims(Role::Analyst, None),
    );
    assert_eq!(
        verifier.verify(&no_kid).unwrap_err(),
        AuthError::UnknownKeyId { kid: None }
    );
}

#[test]
fn a_lone_key_verifies_tokens_without_kid() {
    let keys = SigningKeys::generate();
    let token = raw_token(
        &keys,
        &Header::new(Algorithm::EdDSA),
        &claims(Role::Analyst, None),
    );
    assert!(verifier_for(&keys).verify(&token).is_ok());
}

#[test]
fn token_signed_by_another_key_under_the_same_kid_fails_the_signature() {
    let keys = SigningKeys::generate();
    let impostor = SigningKeys::generate();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(keys.kid().to_owned());
    let token = raw_token(&impostor, &header, &claims(Role::Operator, None));
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken { reason } if reason.contains("InvalidSignature")),
        "{err}"
    );
}

#[test]
fn tampered_claims_fail_the_signature() {
    let keys = SigningKeys::generate();
    let token = keys
        .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap()
        .mint("x", Role::Resident, Some(kashiwa()), Duration::minutes(5))
        .unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["role"] = "operator".into();
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let err = verifier_for(&keys).verify(&parts.join(".")).unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken { .. }), "{err}");
}

#[test]
fn unsigned_tokens_are_rejected() {
    let keys = SigningKeys::generate();
    let header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
        keys.kid()
    ));
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims(Role::Operator, None)).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        let err = verifier_for(&keys).verify(&token).unwrap_err();
        assert!(matches!(err, AuthError::InvalidToken { .. }), "{err}");
    }
}

#[test]
fn hmac_tokens_keyed_with_the_public_key_are_rejected() {
    // The classic confusion attack: HS256 with the published public key as the shared secret.
    let keys = SigningKeys::generate();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(keys.kid().to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &claims(Role::Operator, None),
        &EncodingKey::from_secret(&keys.public_key()),
    )
    .unwrap();
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken { reason } if reason.contains("EdDSA")),
        "{err}"
    );
}

#[test]
fn errors_never_echo_the_token() {
    let keys = SigningKeys::generate();
    let other = SigningKeys::generate();
    let signer = other.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let tokens = [
        signer
            .mint("x", Role::Operator, None, Duration::minutes(5))
            .unwrap(),
        signer
            .mint("x", Role::Operator, None, Duration::minutes(-5))
            .unwrap(),
        "not-a-token".to_owned(),
        "a.b.c".to_owned(),
    ];
    for token in tokens {
        let err = verifier_for(&keys).verify(&token).unwrap_err();
        let message = tonic::Status::from(err.clone()).message().to_owned();
        for text in [err.to_string(), format!("{err:?}"), message] {
            assert!(!text.contains(&token), "{text}");
        }
    }
}

#[test]
fn tokens_minted_from_a_pem_file_verify_against_the_jwks_file() {
    // What `mosaic token --key FILE` does against a server that generated its own keys.
    let dir = tempfile::tempdir().unwrap();
    let server_keys = SigningKeys::load_or_generate(dir.path()).unwrap();
    let cli_keys =
        SigningKeys::from_pem_file(dir.path().join(mosaic_auth::SIGNING_KEY_FILE)).unwrap();
    assert_eq!(cli_keys.kid(), server_keys.kid());

    let token = cli_keys
        .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap()
        .mint(
            "officer",
            Role::MunicipalityOfficer,
            Some(kashiwa()),
            Duration::hours(1),
        )
        .unwrap();
    let set = KeySet::from_jwks_file(dir.path().join(mosaic_auth::JWKS_FILE)).unwrap();
    let caller = TokenVerifier::new(set, DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .verify(&token)
        .unwrap();
    assert_eq!(caller.role, Role::MunicipalityOfficer);
}

#[test]
fn a_remembered_token_is_refused_once_it_expires() {
    let keys = SigningKeys::generate();
    // Time moves by hand: the test does not wait for the token to expire.
    let now = Arc::new(AtomicI64::new(chrono::Utc::now().timestamp()));
    let clock = now.clone();
    let verifier = verifier_for(&keys).with_clock(Arc::new(move || clock.load(Ordering::Relaxed)));
    let header = Header {
        kid: Some(keys.kid().to_owned()),
        ..Header::new(Algorithm::EdDSA)
    };
    // Expired 29 s ago: still inside the 30 s leeway, for about one more second.
    let mut late = claims(Role::Coordinator, Some(KASHIWA));
    late.exp = now.load(Ordering::Relaxed) - 29;
    let token = raw_token(&keys, &header, &late);
    let first = verifier.verify(&token).unwrap();
    assert_eq!(verifier.verify(&token).unwrap(), first, "remembered");
    now.fetch_add(2, Ordering::Relaxed);
    assert!(matches!(
        verifier.verify(&token),
        Err(AuthError::InvalidToken { .. } | AuthError::Expired)
    ));
    // A token that fails a check is never remembered: a tampered copy is refused every time.
    let fresh = raw_token(&keys, &header, &claims(Role::Coordinator, Some(KASHIWA)));
    verifier.verify(&fresh).unwrap();
    // What is remembered never shows a token.
    assert!(!format!("{verifier:?}").contains(&fresh[..20]));
    let mut tampered = fresh.clone();
    tampered.pop();
    assert!(verifier.verify(&tampered).is_err());
    assert!(verifier.verify(&tampered).is_err());
}

#[test]
fn tokens_issued_in_the_future_are_refused_beyond_the_leeway() {
    let keys = SigningKeys::generate();
    let verifier = verifier_for(&keys);
    let mut early = claims(Role::Operator, None);
    early.iat = chrono::Utc::now().timestamp() + 120;
    early.exp = early.iat + 600;
    let token = raw_token(&keys, &Header::new(Algorithm::EdDSA), &early);
    let err = verifier.verify(&token).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken { reason } if reason.contains("`iat`")),
        "{err}"
    );
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::Unauthenticated
    );

    // A few seconds ahead is clock skew, not a forgery.
    let mut skewed = claims(Role::Operator, None);
    skewed.iat = chrono::Utc::now().timestamp() + 10;
    let token = raw_token(&keys, &Header::new(Algorithm::EdDSA), &skewed);
    assert!(verifier.verify(&token).is_ok());
}

#[test]
fn tokens_without_exp_are_refused() {
    // jsonwebtoken requires `exp` by default and the claims type has no default for it; a token
    // signed by a trusted key without one must still fail.
    let keys = SigningKeys::generate();
    let mut c = serde_json::to_value(claims(Role::Operator, None)).unwrap();
    c.as_object_mut().unwrap().remove("exp");
    let key = EncodingKey::from_ed_pem(keys.to_pem().unwrap().as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &c, &key).unwrap();
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken { reason } if reason.contains("exp")),
        "{err}"
    );
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::Unauthenticated
    );
}

#[test]
fn mint_refuses_lifetimes_beyond_the_bound_instead_of_panicking() {
    let keys = SigningKeys::generate();
    let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let longest = signer
        .mint("x", Role::Operator, None, Duration::hours(MAX_TOKEN_HOURS))
        .unwrap();
    assert!(verifier_for(&keys).verify(&longest).is_ok());
    for ttl in [
        Duration::hours(MAX_TOKEN_HOURS + 1),
        Duration::hours(-MAX_TOKEN_HOURS - 1),
        Duration::MAX,
        Duration::MIN,
    ] {
        let err = signer.mint("x", Role::Operator, None, ttl).unwrap_err();
        assert!(matches!(err, AuthError::Lifetime { .. }), "{err}");
        assert!(err.to_string().contains("720 hours"), "{err}");
    }
}

#[test]
fn host_tokens_carry_their_organisation() {
    let keys = SigningKeys::generate();
    let org = OrganisationId::new();
    let token = keys
        .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap()
        .mint_scoped(
            "host-staff",
            Role::HostOrganisation,
            Some(kashiwa()),
            Some(org.clone()),
            Duration::minutes(5),
        )
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["org"], org.to_string());
    let caller = verifier_for(&keys).verify(&token).unwrap();
    assert_eq!(caller.organisation, Some(org.clone()));
    assert!(caller.acts_for_organisation(org.as_str()));

    // Every other role acts for no organisation.
    let coordinator = keys
        .signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE)
        .unwrap()
        .mint(
            "c",
            Role::Coordinator,
            Some(kashiwa()),
            Duration::minutes(5),
        )
        .unwrap();
    assert_eq!(
        verifier_for(&keys)
            .verify(&coordinator)
            .unwrap()
            .organisation,
        None
    );
}

#[test]
fn host_tokens_without_an_organisation_are_neither_minted_nor_accepted() {
    let keys = SigningKeys::generate();
    let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let err = signer
        .mint(
            "x",
            Role::HostOrganisation,
            Some(kashiwa()),
            Duration::minutes(5),
        )
        .unwrap_err();
    assert_eq!(
        err,
        AuthError::RoleNeedsOrganisation {
            role: Role::HostOrganisation
        }
    );

    // As an issuer that does not know the rule would sign it.
    let token = raw_token(
        &keys,
        &Header::new(Algorithm::EdDSA),
        &claims(Role::HostOrganisation, Some(KASHIWA)),
    );
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert_eq!(
        err,
        AuthError::RoleNeedsOrganisation {
            role: Role::HostOrganisation
        }
    );
    assert_eq!(
        tonic::Status::from(err).code(),
        tonic::Code::Unauthenticated
    );

    let mut malformed = claims(Role::HostOrganisation, Some(KASHIWA));
    malformed.org = Some("org-1".to_owned());
    let token = raw_token(&keys, &Header::new(Algorithm::EdDSA), &malformed);
    let err = verifier_for(&keys).verify(&token).unwrap_err();
    assert!(
        matches!(&err, AuthError::InvalidToken { reason } if reason.contains("org claim")),
        "{err}"
    );
}

#[test]
fn only_host_tokens_may_name_an_organisation() {
    let keys = SigningKeys::generate();
    let signer = keys.signer(DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    for role in [
        Role::Resident,
        Role::Coordinator,
        Role::MunicipalityOfficer,
        Role::Analyst,
        Role::Operator,
    ] {
        let err = signer
            .mint_scoped(
                "x",
                role,
                Some(kashiwa()),
                Some(OrganisationId::new()),
                Duration::minutes(5),
            )
            .unwrap_err();
        assert_eq!(err, AuthError::OrganisationNotForRole { role });

        let mut c = claims(role, Some(KASHIWA));
        c.org = Some(OrganisationId::new().to_string());
        let token = raw_token(&keys, &Header::new(Algorithm::EdDSA), &c);
        let err = verifier_for(&keys).verify(&token).unwrap_err();
        assert_eq!(err, AuthError::OrganisationNotForRole { role });
        assert_eq!(
            tonic::Status::from(err).code(),
            tonic::Code::Unauthenticated
        );
    }
}
