//! Certificates on the wire: issued for a completed engagement, signed with the certificate key
//! derived from the master key (so every replica signs alike, and `mosaic certificate-keys`
//! prints its public half), read back, and verified.

use mosaic_api::status::from_db;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, KeySet, Role, SigningKeys};
use mosaic_privacy::{MasterKey, Vault};
use mosaic_proto::v1 as pb;
use mosaic_types::jst_date;
use tonic::{Request, Status};

use super::{FollowUpApi, READERS, STAFF, read_head};
use crate::domain::{AttendanceStatus, CERTIFICATE_TYPE, Certificate, Command, Engagement};

/// The purpose the certificate key is derived from the master key for.
const PURPOSE: &str = "followup.certificates";
/// Every role: anyone may verify a certificate or fetch the keys.
const ANYONE: &[Role] = &[
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
    Role::HostOrganisation,
    Role::Resident,
    Role::Analyst,
];

/// The certificate key pair of a vault's master key.
pub fn certificate_keys(vault: &Vault) -> SigningKeys {
    SigningKeys::from_secret(&vault.derived_secret(PURPOSE))
}

/// The certificate key pair of a master key (for `mosaic certificate-keys`).
pub fn certificate_keys_of(master: &MasterKey) -> SigningKeys {
    SigningKeys::from_secret(&master.derive(PURPOSE))
}

fn certificate_wire(c: &Certificate) -> pb::Certificate {
    pb::Certificate {
        certificate_id: c.certificate_id.clone(),
        municipality: c.municipality.clone(),
        resident_id: c.resident_id.to_string(),
        activity_id: c.activity_id.to_string(),
        activity_title: c.activity_title.clone(),
        engagement_form: c.engagement_form.clone(),
        host_organisation_id: c.host_organisation_id.to_string(),
        first_day: Some(wire::to_date(c.first_day)),
        last_day: Some(wire::to_date(c.last_day)),
        verified_minutes: c.verified_minutes,
        sessions_attended: c.sessions_attended,
        issued_on: Some(wire::to_date(c.issued_on)),
    }
}

impl FollowUpApi {
    /// The activity's title and form, and whether it offers certificates (or is an internship);
    /// `None` if follow-up does not know it.
    async fn certifying(
        &self,
        ctx: &RequestContext,
        activity: &str,
    ) -> Result<Option<(String, String, bool)>, Status> {
        Ok(mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT title, engagement_form, certificate OR internship_start IS NOT NULL \
                 FROM followup_activities WHERE municipality = $1 AND activity_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(activity)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        }))
    }

    /// The certificate `state` earns today, signed.
    async fn sign(
        &self,
        ctx: &RequestContext,
        id: &str,
        state: &Engagement,
    ) -> Result<(Certificate, String, bool), Status> {
        let (Some(o), Some(ended)) = (&state.opened, &state.ended) else {
            return Err(Status::failed_precondition(
                "engagement_id: a certificate is issued once the engagement is completed",
            ));
        };
        let (title, form, offered) = self
            .certifying(ctx, o.activity_id.as_str())
            .await?
            .unwrap_or_default();
        let certificate = Certificate {
            certificate_id: id.to_owned(),
            municipality: ctx.municipality.as_str().to_owned(),
            resident_id: o.resident_id.clone(),
            activity_id: o.activity_id.clone(),
            activity_title: title,
            engagement_form: form,
            host_organisation_id: o.host_organisation_id.clone(),
            first_day: o.commitment.first_day,
            last_day: ended.last_day,
            verified_minutes: state.minutes(),
            sessions_attended: u32::try_from(state.count(AttendanceStatus::Attended))
                .unwrap_or(u32::MAX),
            issued_on: jst_date(ctx.received_at),
        };
        let document = self
            .certificates
            .sign_document(CERTIFICATE_TYPE, &certificate)
            .map_err(|e| {
                tracing::error!(error = %e, "cannot sign a certificate");
                Status::internal("the certificate could not be signed")
            })?;
        Ok((certificate, document, offered))
    }

    pub(super) async fn issue_certificate_impl(
        &self,
        request: Request<pb::IssueCertificateRequest>,
    ) -> Result<pb::IssueCertificateResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let id = wire::id(&mut errors, "engagement_id", &body.engagement_id).unwrap_or_default();
        errors.finish()?;
        let (state, _) = self.visible(&ctx, "engagement_id", &id).await?;
        // One certificate per engagement: the one issued is the answer.
        if let Some(issued) = &state.certificate {
            return Ok(pb::IssueCertificateResponse {
                certificate: Some(certificate_wire(&issued.certificate)),
                document: issued.document.clone(),
            });
        }
        let (certificate, document, offered) = self.sign(&ctx, &id, &state).await?;
        let command = Command::Certify {
            certificate,
            document,
            offered,
        };
        let answer = self
            .on_one(&ctx, &id, &command, |_| {
                pb::IssueCertificateResponse::default()
            })
            .await;
        answer?;
        // The certificate as recorded (a concurrent issue may have recorded its own first).
        let (state, _) = self.visible(&ctx, "engagement_id", &id).await?;
        let issued = state
            .certificate
            .ok_or_else(|| Status::internal("the certificate was not recorded"))?;
        Ok(pb::IssueCertificateResponse {
            certificate: Some(certificate_wire(&issued.certificate)),
            document: issued.document,
        })
    }

    pub(super) async fn get_certificate_impl(
        &self,
        request: Request<pb::GetCertificateRequest>,
    ) -> Result<pb::GetCertificateResponse, Status> {
        let (ctx, id) = read_head(
            &request,
            READERS,
            "engagement_id",
            &request.get_ref().engagement_id,
        )?;
        let (state, _) = self.visible(&ctx, "engagement_id", &id).await?;
        let issued = state.certificate.ok_or_else(|| {
            Status::not_found(format!("engagement_id: engagement {id} has no certificate"))
        })?;
        Ok(pb::GetCertificateResponse {
            certificate: Some(certificate_wire(&issued.certificate)),
            document: issued.document,
        })
    }

    pub(super) async fn verify_certificate_impl(
        &self,
        request: Request<pb::VerifyCertificateRequest>,
    ) -> Result<pb::VerifyCertificateResponse, Status> {
        Caller::from_request(&request)?.require_role(ANYONE)?;
        let document = request.get_ref().document.trim();
        let mut errors = FieldErrors::new();
        errors.check(!document.is_empty(), "document", "is required");
        errors.check(
            document.len() <= 16 * 1024,
            "document",
            "is longer than any certificate (16 KiB)",
        );
        errors.finish()?;
        let keys: KeySet = self.certificates.key_set();
        Ok(
            match keys.verify_document::<Certificate>(CERTIFICATE_TYPE, document) {
                Ok(c) => pb::VerifyCertificateResponse {
                    valid: true,
                    reason: String::new(),
                    certificate: Some(certificate_wire(&c)),
                },
                Err(e) => pb::VerifyCertificateResponse {
                    valid: false,
                    reason: e.to_string(),
                    certificate: None,
                },
            },
        )
    }

    pub(super) async fn get_certificate_keys_impl(
        &self,
        request: Request<pb::GetCertificateKeysRequest>,
    ) -> Result<pb::GetCertificateKeysResponse, Status> {
        Caller::from_request(&request)?.require_role(ANYONE)?;
        Ok(pb::GetCertificateKeysResponse {
            jwks: self.certificates.jwks().to_string(),
        })
    }
}
