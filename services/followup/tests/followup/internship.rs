//! An internship from end to end, across activity design, matching and follow-up (over NATS on
//! PostgreSQL): defined with its milestones, confirmed after an interview, then orientation,
//! weekly sessions, a mid-term and a final reflection, completion, and a certificate that another
//! system verifies offline with the platform's public keys.

use mosaic_auth::KeySet;
use mosaic_followup::domain::{CERTIFICATE_TYPE, Certificate};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;

use crate::common::*;
use crate::support::*;

fn reflect(
    id: &str,
    milestone: pb::Milestone,
    day: chrono::NaiveDate,
) -> pb::RecordReflectionRequest {
    pb::RecordReflectionRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        engagement_id: id.into(),
        milestone: milestone as i32,
        on: on(day),
        went_well: "毎週の作業を最後までやり遂げた".into(),
        learned: "農家の方との段取りの付け方".into(),
        next_steps: "地域の農業法人の仕事を調べる".into(),
    }
}

per_backend!(Platform, async fn an_internship_runs_from_confirmation_to_a_certificate_verified_offline(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);

    // Activity design: an internship on Mondays; orientation on its first Monday, the mid-term
    // review two weeks later, the final reflection on the last Monday before today.
    let (first, last) = (first_monday(), last_monday());
    let (activity, piece) = monday_activity(&mut w, pb::EngagementForm::Internship).await?;
    let defined = w
        .activity
        .define_internship(w.req(
            pb::DefineInternshipRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                activity_id: activity.clone(),
                expected_version: 0,
                internship: Some(pb::Internship {
                    goal: "地域農業のデジタル化".into(),
                    start: on(first),
                    end: on(weeks(last, 17)),
                    weekly_hours: 3,
                    mentor_name: "田中 一郎".into(),
                    milestones: Some(pb::Milestones {
                        orientation: on(first),
                        mid_term_review: on(weeks(first, 2)),
                        final_reflection: on(last),
                    }),
                }),
                occurred_at: None,
            },
            &w.coordinator,
        ))
        .await?;
    w.saw(&defined);
    w.publish(&activity).await?;

    // Matching: the student applies, the host accepts, interviews and confirms.
    let student = w.resident(&p, Person::default()).await?;
    let m = w.accepted(&student, &piece).await?;
    w.interviewed(&m).await?;
    w.confirm(&m).await?;
    let id = engagements(&mut f, &w, &piece, 1).await?.remove(0).engagement_id;

    // Follow-up: orientation, five Mondays attended, the mid-term reflection.
    f.record_reflection(w.req(reflect(&id, pb::Milestone::Orientation, first), &w.host_token)).await?;
    for week in 0..5 {
        let roster = roster(&format!("week-{week}"), &piece, weeks(first, week), &[(id.as_str(), pb::AttendanceStatus::Attended, 180)]);
        f.record_attendance(w.req(roster, &w.host_token)).await?;
    }
    f.record_reflection(w.req(reflect(&id, pb::Milestone::MidTerm, weeks(first, 2)), &student.token)).await?;
    let issue = |request_id: &str| pb::IssueCertificateRequest { request_id: request_id.into(), engagement_id: id.clone() };
    let early = f.issue_certificate(w.req(issue("cert-0"), &w.coordinator)).await;
    assert!(refused(early, Code::FailedPrecondition).contains("completed"));

    // The final reflection, then completion on the last Monday.
    f.record_reflection(w.req(reflect(&id, pb::Milestone::Final, last), &w.coordinator)).await?;
    let ended = f
        .end_engagement(w.req(
            pb::EndEngagementRequest {
                request_id: "end".into(),
                engagement_id: id.clone(),
                reason: pb::EngagementEndReason::Completed as i32,
                last_day: on(last),
            },
            &w.host_token,
        ))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(ended.reflections.len(), 3);
    assert_eq!(ended.minutes_attended, 900);

    // The certificate: staff issue it, once; the student reads it.
    refused(f.issue_certificate(w.req(issue("cert-1"), &w.host_token)).await, Code::PermissionDenied);
    let issued = f.issue_certificate(w.req(issue("cert-2"), &w.coordinator)).await?.into_inner();
    let c = issued.certificate.clone().unwrap();
    assert_eq!((c.certificate_id.as_str(), c.resident_id.as_str(), c.activity_id.as_str()), (id.as_str(), student.id.as_str(), activity.as_str()));
    assert_eq!((c.engagement_form.as_str(), c.verified_minutes, c.sessions_attended), ("internship", 900, 5));
    assert_eq!((c.first_day, c.last_day, c.issued_on), (on(first), on(last), on(today())));
    assert_eq!(c.host_organisation_id, w.host);
    assert_eq!(f.issue_certificate(w.req(issue("cert-3"), &w.coordinator)).await?.into_inner(), issued);
    let own = f
        .get_certificate(w.req(pb::GetCertificateRequest { engagement_id: id.clone() }, &student.token))
        .await?
        .into_inner();
    assert_eq!(own.document, issued.document);
    assert_eq!(p.events("followup", KASHIWA, "CertificateIssued").await?.len(), 1);

    // Another system verifies it offline, with the public keys alone.
    let jwks = f
        .get_certificate_keys(w.req(pb::GetCertificateKeysRequest {}, &p.token(mosaic_auth::Role::Analyst, KASHIWA)))
        .await?
        .into_inner()
        .jwks;
    let keys = KeySet::from_jwks_json(&jwks)?;
    let offline: Certificate = keys.verify_document(CERTIFICATE_TYPE, &issued.document)?;
    assert_eq!((offline.verified_minutes, offline.resident_id.as_str()), (900, student.id.as_str()));
    // ... and the platform says the same; a forged one (more hours) does not hold.
    let verify = |document: String| w.req(pb::VerifyCertificateRequest { document }, &w.host_token);
    let checked = f.verify_certificate(verify(issued.document.clone())).await?.into_inner();
    assert!(checked.valid, "{}", checked.reason);
    assert_eq!(checked.certificate, issued.certificate);
    let mut parts: Vec<String> = issued.document.split('.').map(str::to_owned).collect();
    let forged = serde_json::to_vec(&Certificate { verified_minutes: 9_000, ..offline })?;
    parts[1] = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, forged);
    let forged = parts.join(".");
    assert!(keys.verify_document::<Certificate>(CERTIFICATE_TYPE, &forged).is_err());
    let checked = f.verify_certificate(verify(forged)).await?.into_inner();
    assert!(!checked.valid && checked.certificate.is_none());
    Ok(())
});
