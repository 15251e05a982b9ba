//! Caller identity for Mosaic's gRPC services.
//!
//! A caller proves who it is with an EdDSA-signed JWT in the `authorization: Bearer` header.
//! This crate verifies such tokens against a JWKS key set, turns them into a [`Caller`] (subject,
//! [`Role`], the municipality the request acts in and, for a host organisation, the organisation
//! it acts for), and enforces that with [`AuthLayer`], a tower layer put in front of every tonic
//! service. Municipality officers, coordinators, host organisations and residents are bound to
//! the one municipality their token names; a host organisation's token is also bound to one
//! organisation. Analysts and operators may work across municipalities and pick one per request
//! with the [`MUNICIPALITY_HEADER`] header.
//!
//! For a self-contained deployment it also generates and stores an Ed25519 key pair
//! ([`SigningKeys`]) and mints tokens with it ([`TokenSigner`]). Verification only ever sees a
//! [`KeySet`], so an external OIDC provider can take over issuing by supplying its JWKS.
//! The same keys sign documents that other systems verify offline
//! ([`SigningKeys::sign_document`], [`KeySet::verify_document`]).
//! What each role may do inside a service is the service's decision
//! ([`Caller::require_role`]); this crate only establishes who is calling and where.

mod caller;
mod claims;
mod document;
mod error;
mod keys;
mod keyset;
mod layer;
mod role;
mod sign;
mod verify;

pub use caller::Caller;
pub use claims::Claims;
pub use error::AuthError;
pub use keys::{JWKS_FILE, SIGNING_KEY_FILE, SigningKeys};
pub use keyset::KeySet;
pub use layer::{AuthLayer, AuthService};
pub use role::{ParseRoleError, Role};
pub use sign::TokenSigner;
pub use verify::{Clock, TokenVerifier};

/// Request metadata naming the municipality a request acts in.
pub const MUNICIPALITY_HEADER: &str = "x-mosaic-municipality";

/// Issuer of tokens minted by a local deployment.
pub const DEFAULT_ISSUER: &str = "mosaic-local";

/// Audience every Mosaic service expects in its tokens.
pub const DEFAULT_AUDIENCE: &str = "mosaic";

/// The longest lifetime, in hours (30 days), [`TokenSigner`] gives a token; also the furthest
/// in the past an already expired test token may lie.
pub const MAX_TOKEN_HOURS: i64 = 720;
