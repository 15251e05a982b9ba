//! Wellbeing measures on the wire: checked against their instrument, refused without research
//! consent, sealed under the resident's key before anything is decided, and opened only for the
//! resident and coordinators.

use mosaic_api::command::{first_answer, load};
use mosaic_api::status::{from_db, from_vault};
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_domain::Aggregate;
use mosaic_privacy::PrivacyError;
use mosaic_proto::v1 as pb;
use mosaic_types::{ResidentId, jst_date};
use tonic::{Request, Status};

use super::{FollowUpApi, read_head, refused};
use crate::domain::Instrument;
use crate::domain::wellbeing::{Measure, Reading, Wellbeing, score};

/// Special-care data: coordinators and the resident themself, nobody else.
const NARROWEST: &[Role] = &[Role::Coordinator, Role::Resident];
/// The field readings are sealed under.
const READING: &str = "followup.measure";
/// How often a measure is decided again after another came first.
const ATTEMPTS: usize = 16;

/// The stream of a resident's measures.
fn wellbeing_stream(resident: &str) -> String {
    format!("wellbeing-{resident}")
}

impl FollowUpApi {
    /// Refuses a resident the caller may not see: a resident other than themself (NOT_FOUND).
    async fn measured(&self, ctx: &RequestContext, resident: &str) -> Result<(), Status> {
        if ctx.caller.role == Role::Resident && self.me(ctx).await?.as_deref() != Some(resident) {
            return Err(Status::not_found(format!(
                "resident_id: resident {resident} does not exist in this municipality"
            )));
        }
        Ok(())
    }

    pub(super) async fn record_measure_impl(
        &self,
        request: Request<pb::RecordMeasureRequest>,
    ) -> Result<pb::RecordMeasureResponse, Status> {
        Caller::from_request(&request)?.require_role(NARROWEST)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let resident = wire::id(&mut errors, "resident_id", &body.resident_id).unwrap_or_default();
        let today = jst_date(ctx.received_at);
        let on = body
            .on
            .as_ref()
            .and_then(|d| wire::date(&mut errors, "on", Some(d)))
            .unwrap_or(today);
        let instrument = Instrument::from_wire(body.instrument);
        let reading = match instrument {
            None => {
                errors.add(
                    "instrument",
                    "is required: WHO5, LONELINESS3, SELF_RATED_HEALTH or CUSTOM",
                );
                None
            }
            Some(Instrument::Custom) => {
                errors.text("name", &body.name, 100);
                errors.text("unit", &body.unit, 20);
                errors.check(body.value.is_finite(), "value", "must be a finite number");
                Some(Reading::Custom {
                    name: body.name.trim().to_owned(),
                    value: body.value,
                    unit: body.unit.trim().to_owned(),
                })
            }
            Some(i) => match score(i, &body.items) {
                Ok(score) => Some(Reading::Scored {
                    items: body.items.clone(),
                    score,
                }),
                Err((field, why)) => {
                    errors.add(field, why);
                    None
                }
            },
        };
        errors.finish()?;
        self.measured(&ctx, &resident).await?;
        // Without research consent nothing is taken, whoever asks.
        let consent: Option<bool> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT research FROM followup_consents WHERE municipality = $1 \
                 AND resident_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(&resident)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        if consent != Some(true) {
            return Err(Status::failed_precondition(format!(
                "resident_id: resident {resident} has not consented to research use"
            )));
        }
        if let Some(first) = first_answer(self.store.as_ref(), &ctx).await? {
            return Ok(first);
        }
        let key = self
            .vault
            .key(ctx.municipality, &resident)
            .await
            .map_err(from_vault)?;
        let json = serde_json::to_string(&reading)
            .map_err(|_| Status::internal("a reading could not be written"))?;
        let command = Measure {
            resident_id: ResidentId::from(resident.as_str()),
            instrument: instrument.unwrap_or(Instrument::Custom),
            on,
            today,
            reading: key.seal(READING, &json),
        };
        for _ in 0..ATTEMPTS {
            let (state, version) = load::<Wellbeing>(
                self.store.as_ref(),
                ctx.municipality,
                &wellbeing_stream(&resident),
            )
            .await?;
            let events = state
                .decide(&command)
                .map_err(|e| refused(e, "resident_id", &resident))?;
            let answer = pb::RecordMeasureResponse {
                measures: u32::try_from(state.measures.len() + events.len()).unwrap_or(u32::MAX),
            };
            if let Some(answer) = self
                .append(&ctx, wellbeing_stream(&resident), version, &events, answer)
                .await?
            {
                return Ok(answer);
            }
        }
        Err(Status::aborted(
            "resident_id: other measures of the resident kept coming first; retry",
        ))
    }

    pub(super) async fn get_measures_impl(
        &self,
        request: Request<pb::GetMeasuresRequest>,
    ) -> Result<pb::GetMeasuresResponse, Status> {
        let (ctx, resident) = read_head(
            &request,
            NARROWEST,
            "resident_id",
            &request.get_ref().resident_id,
        )?;
        self.measured(&ctx, &resident).await?;
        let (state, _) = load::<Wellbeing>(
            self.store.as_ref(),
            ctx.municipality,
            &wellbeing_stream(&resident),
        )
        .await?;
        let key = if state.measures.is_empty() {
            None
        } else {
            match self.vault.key(ctx.municipality, &resident).await {
                Ok(key) => Some(key),
                Err(PrivacyError::Erased) => None,
                Err(e) => return Err(from_vault(e)),
            }
        };
        // In the order taken (a measure entered late takes its place); the baseline of each
        // instrument (of a custom measure, of its name) is its first.
        let mut taken: Vec<&crate::domain::MeasureRecorded> = state.measures.iter().collect();
        taken.sort_by_key(|m| m.on);
        let mut baselines: Vec<(Instrument, String, f64)> = Vec::new();
        let mut measures = Vec::with_capacity(taken.len());
        for m in taken {
            let mut wire_measure = pb::Measure {
                instrument: m.instrument.wire(),
                on: Some(wire::to_date(m.on)),
                ..Default::default()
            };
            if let Some(key) = &key {
                let json = key.open(READING, &m.reading).map_err(from_vault)?;
                let reading: Reading = serde_json::from_str(&json)
                    .map_err(|_| Status::data_loss("a sealed reading does not parse"))?;
                let (name, value) = match reading {
                    Reading::Scored { items, score } => {
                        wire_measure.items = items;
                        (String::new(), score)
                    }
                    Reading::Custom { name, value, unit } => {
                        wire_measure.unit = unit;
                        (name, value)
                    }
                };
                wire_measure.score = value;
                wire_measure.name = name.clone();
                match baselines
                    .iter()
                    .find(|(i, n, _)| *i == m.instrument && *n == name)
                {
                    Some((.., base)) => wire_measure.change = value - base,
                    None => {
                        wire_measure.baseline = true;
                        baselines.push((m.instrument, name, value));
                    }
                }
            }
            measures.push(wire_measure);
        }
        Ok(pb::GetMeasuresResponse {
            measures,
            erased: !state.measures.is_empty() && key.is_none(),
        })
    }
}
