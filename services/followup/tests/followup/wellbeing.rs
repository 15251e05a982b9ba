//! Wellbeing measures: only with research consent; scored as each instrument publishes; read by
//! the resident and coordinators only; their readings sealed, never in an event in clear.

use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;

use crate::common::*;
use crate::support::*;

fn measure(resident: &str, instrument: pb::Instrument, items: &[u32]) -> pb::RecordMeasureRequest {
    pb::RecordMeasureRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        resident_id: resident.into(),
        instrument: instrument as i32,
        items: items.to_vec(),
        ..Default::default()
    }
}

per_backend!(Platform, async fn measures_need_research_consent_score_as_published_and_reach_only_the_resident_and_coordinators(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let r = w.resident(&p, Person::default()).await?;
    let other = w.resident(&p, Person::default()).await?;
    use pb::Instrument::{Custom, Loneliness3, SelfRatedHealth, Who5};

    // Without research consent nothing is taken.
    let r0 = f.record_measure(w.req(measure(&r.id, Who5, &[3, 4, 2, 5, 3]), &w.coordinator)).await;
    assert!(refused(r0, Code::FailedPrecondition).contains("research"));
    let mut registry = w.registry.clone();
    let consent = |granted: bool| pb::SetConsentRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        resident_id: r.id.clone(),
        purpose: pb::ConsentPurpose::Research as i32,
        granted,
        occurred_at: None,
    };
    let granted = registry.set_consent(w.req(consent(true), &r.token)).await?;
    w.saw(&granted);

    // A baseline, a repeat by the resident themself, another instrument, a measure of the
    // municipality's own.
    f.record_measure(w.req(measure(&r.id, Who5, &[3, 4, 2, 5, 3]), &w.coordinator)).await?;
    f.record_measure(w.req(measure(&r.id, Who5, &[4, 4, 4, 4, 4]), &r.token)).await?;
    f.record_measure(w.req(measure(&r.id, Loneliness3, &[1, 2, 3]), &w.coordinator)).await?;
    let grip = pb::RecordMeasureRequest {
        name: "握力".into(),
        value: 28.5,
        unit: "kg".into(),
        ..measure(&r.id, Custom, &[])
    };
    let n = f.record_measure(w.req(grip.clone(), &w.coordinator)).await?.into_inner().measures;
    assert_eq!(n, 4);

    // Bad input names the field and writes nothing.
    let before = p.events("followup", KASHIWA, "MeasureRecorded").await?.len();
    for (request, field) in [
        (measure(&r.id, Who5, &[3, 4, 6, 5, 3]), "items[2]"),
        (measure(&r.id, Who5, &[3, 4, 5, 3]), "items"),
        (measure(&r.id, Loneliness3, &[0, 2, 3]), "items[0]"),
        (measure(&r.id, SelfRatedHealth, &[6]), "items[0]"),
        (measure(&r.id, pb::Instrument::Unspecified, &[1]), "instrument"),
        (pb::RecordMeasureRequest { name: String::new(), ..grip.clone() }, "name"),
        (pb::RecordMeasureRequest { value: f64::NAN, ..grip.clone() }, "value"),
        (pb::RecordMeasureRequest { on: on(days(today(), 3)), ..measure(&r.id, SelfRatedHealth, &[2]) }, "on"),
    ] {
        let refusal = f.record_measure(w.req(request, &w.coordinator)).await;
        assert!(refused(refusal, Code::InvalidArgument).contains(field), "{field}");
    }
    assert_eq!(p.events("followup", KASHIWA, "MeasureRecorded").await?.len(), before);

    // Read back with the change from the baseline, by the resident and coordinators only.
    let get = |resident: &str, token: &str| w.req(pb::GetMeasuresRequest { resident_id: resident.into() }, token);
    let seen = f.get_measures(get(&r.id, &r.token)).await?.into_inner();
    let scores: Vec<(i32, f64, bool, f64)> = seen.measures.iter().map(|m| (m.instrument, m.score, m.baseline, m.change)).collect();
    assert_eq!(scores, [
        (Who5 as i32, 68.0, true, 0.0),
        (Who5 as i32, 80.0, false, 12.0),
        (Loneliness3 as i32, 6.0, true, 0.0),
        (Custom as i32, 28.5, true, 0.0),
    ]);
    assert_eq!((seen.measures[3].name.as_str(), seen.measures[3].unit.as_str()), ("握力", "kg"));
    assert_eq!(f.get_measures(get(&r.id, &w.coordinator)).await?.into_inner(), seen);
    for token in [&w.host_token, &w.officer, &p.token(Role::Operator, KASHIWA), &p.token(Role::Analyst, KASHIWA)] {
        refused(f.get_measures(get(&r.id, token)).await, Code::PermissionDenied);
    }
    refused(f.get_measures(get(&r.id, &other.token)).await, Code::NotFound);
    refused(f.record_measure(w.req(measure(&r.id, SelfRatedHealth, &[2]), &other.token)).await, Code::NotFound);
    // The events keep the instrument and the day; the reading only sealed.
    for e in p.events("followup", KASHIWA, "MeasureRecorded").await? {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["instrument", "on", "reading", "resident_id"]);
        assert!(!e["reading"].as_str().unwrap().contains("28.5"));
    }

    // Consent revoked: nothing more is taken.
    let revoked = registry.set_consent(w.req(consent(false), &r.token)).await?;
    w.saw(&revoked);
    let r1 = f.record_measure(w.req(measure(&r.id, SelfRatedHealth, &[2]), &w.coordinator)).await;
    assert!(refused(r1, Code::FailedPrecondition).contains("research"));
    Ok(())
});
