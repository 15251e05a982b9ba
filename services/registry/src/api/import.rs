//! `ImportResidents`: a Silver Center's or municipality's roster, streamed row by row.
//!
//! Rows are taken in chunks of what has arrived: each chunk is validated, its retried rows found,
//! the keys of its new residents made in one insert, and its registrations appended concurrently
//! (the store groups their commits); answers go back in the order rows were sent. Every row is
//! idempotent by its key, so an interrupted import is simply sent again.

use futures::StreamExt;
use futures::future::join_all;
use mosaic_api::command::first_answers;
use mosaic_api::occurred_at::occurred_at;
use mosaic_api::{Answer, FieldErrors, RequestContext};
use mosaic_auth::Caller;
use mosaic_proto::v1 as pb;
use tonic::{Request, Status, Streaming};

use super::resident::{Registration, vault_error};
use super::{ImportStream, RegistryApi, access};

/// Most rows handled together.
const CHUNK: usize = 256;
/// Longest row key.
const ROW_KEY_MAX: usize = 100;

fn rejected(row_key: String, violations: Vec<pb::RowViolation>) -> pb::ImportResidentsResponse {
    pb::ImportResidentsResponse {
        row_key,
        accepted: false,
        resident_id: String::new(),
        violations,
        duplicate: false,
    }
}

fn accepted(row_key: String, resident_id: String, duplicate: bool) -> pb::ImportResidentsResponse {
    pb::ImportResidentsResponse {
        row_key,
        accepted: true,
        resident_id,
        violations: Vec::new(),
        duplicate,
    }
}

fn violations(errors: &FieldErrors) -> Vec<pb::RowViolation> {
    errors
        .violations()
        .iter()
        .map(|(field, description)| pb::RowViolation {
            field: field.clone(),
            description: description.clone(),
        })
        .collect()
}

/// A failure of the platform (not of the row) still answers the row, so the client knows to
/// send it again.
fn failed(row_key: String, status: &Status) -> pb::ImportResidentsResponse {
    rejected(
        row_key,
        vec![pb::RowViolation {
            field: String::new(),
            description: status.message().to_owned(),
        }],
    )
}

/// A row that passed validation.
struct Valid {
    key: String,
    ctx: RequestContext,
    body: pb::RegisterResidentRequest,
    registration: Registration,
    at: chrono::DateTime<chrono::Utc>,
}

/// Where a row stands while its chunk is handled.
enum Row {
    Answered(pb::ImportResidentsResponse),
    Valid(Box<Valid>),
}

impl RegistryApi {
    pub(super) async fn import_residents_impl(
        &self,
        request: Request<Streaming<pb::ImportResidentsRequest>>,
    ) -> Result<ImportStream, Status> {
        Caller::from_request(&request)?.require_role(access::STAFF)?;
        let base = RequestContext::query(&request)?;
        let api = self.clone();
        let answers = request
            .into_inner()
            .ready_chunks(CHUNK)
            .map(move |rows| {
                let api = api.clone();
                let base = base.clone();
                async move { api.import_chunk(&base, rows).await }
            })
            // The next chunk is validated while this one commits.
            .buffered(2)
            .flat_map(futures::stream::iter);
        Ok(Box::pin(answers))
    }

    async fn import_chunk(
        &self,
        base: &RequestContext,
        rows: Vec<Result<pb::ImportResidentsRequest, Status>>,
    ) -> Vec<Result<pb::ImportResidentsResponse, Status>> {
        let mut out = Vec::with_capacity(rows.len());
        let mut ready = Vec::with_capacity(rows.len());
        for row in rows {
            match row {
                Ok(row) => ready.push(Self::validate_row(base, row)),
                // A broken stream ends the import after the rows before it.
                Err(status) => {
                    out.extend(self.finish_chunk(ready).await.into_iter().map(Ok));
                    out.push(Err(status));
                    return out;
                }
            }
        }
        out.extend(self.finish_chunk(ready).await.into_iter().map(Ok));
        out
    }

    fn validate_row(base: &RequestContext, row: pb::ImportResidentsRequest) -> Row {
        let key = row.row_key;
        let mut errors = FieldErrors::new();
        if key.is_empty() || key.len() > ROW_KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
            errors.add(
                "row_key",
                format!("must be 1 to {ROW_KEY_MAX} visible ASCII characters"),
            );
            return Row::Answered(rejected(key, violations(&errors)));
        }
        // A roster row as a registration without a `request_id`: its key is the retry key.
        let body = pb::RegisterResidentRequest::from(row.resident.unwrap_or_default());
        let ctx = base.clone().with_row_key(&key, &body);
        let registration = Self::validate_registration(&ctx, &mut errors, "resident", &body, true);
        let at = occurred_at(
            &mut errors,
            "resident.occurred_at",
            body.occurred_at.as_ref(),
            ctx.received_at,
        );
        match registration.filter(|_| errors.is_empty()) {
            Some(registration) => Row::Valid(Box::new(Valid {
                key,
                ctx,
                body,
                registration,
                at,
            })),
            None => Row::Answered(rejected(key, violations(&errors))),
        }
    }

    /// Answers validated rows: retried ones with their first resident, new ones registered.
    async fn finish_chunk(&self, rows: Vec<Row>) -> Vec<pb::ImportResidentsResponse> {
        // One lookup for the chunk's keys (every row of an import is of the caller's
        // municipality).
        let ctxs: Vec<&RequestContext> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Valid(v) => Some(&v.ctx),
                Row::Answered(_) => None,
            })
            .collect();
        let looked_up = match ctxs.first() {
            Some(ctx) => {
                first_answers::<pb::Resident>(self.store.as_ref(), ctx.municipality, &ctxs).await
            }
            None => Ok(Vec::new()),
        };
        let mut looked_up = match looked_up {
            Ok(found) => found.into_iter(),
            Err(status) => {
                return rows
                    .into_iter()
                    .map(|row| match row {
                        Row::Answered(a) => a,
                        Row::Valid(v) => failed(v.key, &status),
                    })
                    .collect();
            }
        };
        let firsts = rows.iter().map(|row| match row {
            Row::Valid(_) => looked_up.next().unwrap_or(Ok(None)),
            Row::Answered(_) => Ok(None),
        });
        let firsts: Vec<_> = firsts.collect();
        let mut answers: Vec<Option<pb::ImportResidentsResponse>> = Vec::with_capacity(rows.len());
        let mut new = Vec::new();
        for (row, first) in rows.into_iter().zip(firsts) {
            match (row, first) {
                (Row::Answered(a), _) => answers.push(Some(a)),
                (Row::Valid(v), Ok(Some(first))) => {
                    answers.push(Some(accepted(v.key, first.resident_id, true)))
                }
                (Row::Valid(v), Err(status)) => answers.push(Some(failed(v.key, &status))),
                (Row::Valid(v), Ok(None)) => {
                    new.push((answers.len(), uuid::Uuid::now_v7().to_string(), v));
                    answers.push(None);
                }
            }
        }
        let Some(municipality) = new.first().map(|(_, _, v)| v.ctx.municipality) else {
            return answers.into_iter().flatten().collect();
        };
        let ids: Vec<String> = new.iter().map(|(_, id, _)| id.clone()).collect();
        let keys = match self.vault.new_keys(municipality, &ids).await {
            Ok(keys) => keys,
            Err(e) => {
                let status = vault_error(e);
                for (at, _, v) in new {
                    answers[at] = Some(failed(v.key, &status));
                }
                return answers.into_iter().flatten().collect();
            }
        };
        let registered = join_all(new.into_iter().map(|(at, id, v)| {
            let key = keys.get(&id);
            async move {
                let Valid {
                    key: row_key,
                    ctx,
                    body,
                    registration,
                    at: occurred,
                } = *v;
                let answer = match key {
                    Some(key) => {
                        self.register(
                            &ctx,
                            &body,
                            registration,
                            occurred,
                            Some(row_key.clone()),
                            (id, key),
                        )
                        .await
                    }
                    None => Err(Status::internal("a new resident's key was not made")),
                };
                let response = match answer {
                    Ok(Answer::Fresh(r, _)) => accepted(row_key, r.resident_id, false),
                    // The same row raced in on another stream: its first answer stands.
                    Ok(Answer::Replayed(r)) => accepted(row_key, r.resident_id, true),
                    Err(status) => failed(row_key, &status),
                };
                (at, response)
            }
        }))
        .await;
        for (at, response) in registered {
            answers[at] = Some(response);
        }
        answers.into_iter().flatten().collect()
    }
}
