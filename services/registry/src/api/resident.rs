use chrono::{DateTime, Utc};
use mosaic_api::command::{first_answer, load};
use mosaic_api::occurred_at::timestamp;
use mosaic_api::pipeline::{CommandRequest, Preamble, get, not_found};
use mosaic_api::request::caller_scope;
use mosaic_api::wire;
use mosaic_api::{Answer, Done, Execute, FieldErrors, RequestContext, execute_with};
use mosaic_auth::Role;
use mosaic_privacy::PersonKey;
use mosaic_proto::v1 as pb;
use tonic::{Request, Status};

use super::access::{self, Needs};
use super::personal::{kept, open_personal, seal_personal};
use super::view::{self, Stamps, request_stamp};
use super::{RegistryApi, this_year, validate};
use crate::domain::coordinator::{self, Coordinator, CoordinatorCommand};
use crate::domain::resident::{LoginRef, Resident, ResidentCommand, stream_id};
use crate::domain::{
    AgreementMethod, Confirmer, ConsentPurpose, Login, RegistrationMode, RegistryError,
    ResidentRegistered, WithdrawalReason,
};

pub(super) use mosaic_api::status::from_vault as vault_error;

/// A registration, validated and ready to seal.
pub(super) struct Registration {
    pub mode: RegistrationMode,
    pub profile: crate::domain::ResidentProfile,
    pub consents: Vec<ConsentPurpose>,
    pub proxy: Option<AgreementMethod>,
    pub account_subject: Option<String>,
}

impl RegistryApi {
    /// The key of a resident who exists and was not erased, without creating one.
    async fn existing_key(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Option<PersonKey>, Status> {
        let mut keys = self
            .vault
            .keys(ctx.municipality, &[id.to_owned()])
            .await
            .map_err(vault_error)?;
        Ok(keys.remove(id))
    }

    /// Deletes the key made for a registration that wrote nothing under it. A key left behind
    /// would only protect nothing, so a failure here is logged, not answered.
    async fn forget_unused_key(&self, ctx: &RequestContext, id: &str) {
        if let Err(e) = self.vault.forget_unused(ctx.municipality, id).await {
            tracing::warn!(error = %e, "cannot delete the unused key of a registration");
        }
    }

    /// Adds personal data to an answer for callers allowed to read it.
    pub(super) async fn fill_personal(
        &self,
        ctx: &RequestContext,
        resident: &mut pb::Resident,
        state: &Resident,
    ) -> Result<(), Status> {
        let (Some(id), Some(sealed)) = (state.resident_id.as_ref(), state.personal.as_ref()) else {
            return Ok(());
        };
        if let Some(key) = self.existing_key(ctx, id).await? {
            resident.personal = Some(open_personal(&key, sealed));
            if let Some(LoginRef::Sealed(login)) = &state.login {
                resident.account_subject =
                    key.open(LOGIN_FIELD, &login.subject).unwrap_or_default();
            }
        }
        Ok(())
    }

    /// The keyed hash of a resident caller's login subject (empty for other roles), which
    /// finds their own record.
    pub(super) fn login_index(&self, ctx: &RequestContext) -> String {
        if ctx.caller.role == Role::Resident {
            self.vault
                .exact_index(ctx.municipality, LOGIN_INDEX, &ctx.caller.subject)
        } else {
            String::new()
        }
    }

    /// Runs a command on a resident: access check on the loaded record, decide, append, answer
    /// with personal data in clear for the caller.
    async fn resident_command(
        &self,
        ctx: &RequestContext,
        id: &str,
        expected: Option<u64>,
        at: DateTime<Utc>,
        needs: Needs,
        command: ResidentCommand,
    ) -> Result<pb::Resident, Status> {
        let now = request_stamp(ctx, at);
        let year = this_year(ctx);
        let exec = Execute::<Resident> {
            stream_id: stream_id(id),
            expected_version: expected,
            command,
            occurred_at: at,
            fresh: false,
        };
        let caller = ctx.caller.clone();
        let login_index = self.login_index(ctx);
        let respond = |done: Done<'_, Resident>| {
            let stamps = Stamps::of_done(&done, now)?;
            Ok(view::resident(done.state, done.version, &stamps, year))
        };
        let answer = execute_with(
            self.store.as_ref(),
            ctx,
            exec,
            |state| access::check(&caller, &login_index, state, needs),
            respond,
        )
        .await?;
        self.finish_resident(ctx, id, answer).await
    }

    async fn finish_resident(
        &self,
        ctx: &RequestContext,
        id: &str,
        answer: Answer<pb::Resident, Resident>,
    ) -> Result<pb::Resident, Status> {
        let (mut resident, state) = match answer {
            Answer::Fresh(r, state) => (r, state),
            Answer::Replayed(r) => {
                let (state, _) =
                    load::<Resident>(self.store.as_ref(), ctx.municipality, &stream_id(id)).await?;
                (r, state)
            }
        };
        self.fill_personal(ctx, &mut resident, &state).await?;
        Ok(resident)
    }

    /// The id of the one live resident record a login may have in this municipality, or
    /// `ALREADY_EXISTS` naming the record it has. The id is derived from a keyed hash of the
    /// login subject (and how many records of the login were erased before), so two
    /// registrations of one login append to one stream and the store itself refuses the second,
    /// however close together they come.
    async fn login_record(&self, ctx: &RequestContext, subject: &str) -> Result<String, Status> {
        for erased_before in 0..MAX_ERASED_RECORDS_PER_LOGIN {
            let id = login_resident_id(&self.vault.exact_index(
                ctx.municipality,
                LOGIN_RECORD_INDEX,
                &format!("{subject}\u{0}{erased_before}"),
            ));
            let (state, _) =
                load::<Resident>(self.store.as_ref(), ctx.municipality, &stream_id(&id)).await?;
            if state.resident_id.is_none() {
                return Ok(id);
            }
            if !state.erased {
                return Err(linked_already(&id));
            }
        }
        Err(Status::failed_precondition(
            "this login's records were erased too many times to register it again",
        ))
    }

    /// Validates a registration (recording violations), bound to the caller: a resident
    /// registers themself; staff register with the resident's proxy agreement.
    pub(super) fn validate_registration(
        ctx: &RequestContext,
        errors: &mut FieldErrors,
        field: &str,
        body: &pb::RegisterResidentRequest,
        imported: bool,
    ) -> Option<Registration> {
        let prefix = |name: &str| {
            if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        };
        let mode = errors.required(&prefix("mode"), body.mode, RegistrationMode::from_wire);
        validate::personal(errors, &prefix("personal"), body.personal.as_ref());
        let profile = validate::resident_profile(
            errors,
            &prefix("profile"),
            body.profile.as_ref(),
            mode,
            this_year(ctx),
        );
        let consents = errors.enum_list(
            &prefix("consents"),
            &body.consents,
            ConsentPurpose::from_wire,
        );
        errors.max_len(
            &prefix("account_subject"),
            &body.account_subject,
            validate::SUBJECT_MAX,
        );
        let proxy = body.proxy.as_ref().and_then(|p| {
            errors.required(
                &prefix("proxy.method"),
                p.method,
                AgreementMethod::from_wire,
            )
        });
        let subject = body.account_subject.trim();
        let account_subject = if ctx.caller.role == Role::Resident {
            if !subject.is_empty() && subject != ctx.caller.subject {
                errors.add(
                    prefix("account_subject"),
                    "a resident registers only themself",
                );
            }
            if body.proxy.is_some() {
                errors.add(prefix("proxy"), "is for staff registering someone else");
            }
            Some(ctx.caller.subject.clone())
        } else {
            if proxy.is_none() && body.proxy.is_none() && !imported {
                errors.add(
                    prefix("proxy"),
                    "is required when staff register a resident: how did the resident agree?",
                );
            }
            (!subject.is_empty()).then(|| subject.to_owned())
        };
        Some(Registration {
            mode: mode?,
            profile,
            consents,
            proxy,
            account_subject,
        })
    }

    /// Registers a validated resident under a new id with its new key: personal data sealed,
    /// appended to a stream that cannot exist yet (the caller looked for a first answer).
    pub(super) async fn register(
        &self,
        ctx: &RequestContext,
        body: &pb::RegisterResidentRequest,
        registration: Registration,
        at: DateTime<Utc>,
        import_row: Option<String>,
        (id, key): (String, &PersonKey),
    ) -> Result<Answer<pb::Resident, Resident>, Status> {
        let personal = seal_personal(key, &body.personal.clone().unwrap_or_default());
        let login = registration
            .account_subject
            .as_deref()
            .map(|subject| Login {
                index: self
                    .vault
                    .exact_index(ctx.municipality, LOGIN_INDEX, subject),
                subject: key.seal(LOGIN_FIELD, subject),
            });
        let imported = import_row.is_some();
        let command = ResidentCommand::Register {
            registration: ResidentRegistered {
                resident_id: id.clone().into(),
                mode: registration.mode,
                personal,
                profile: registration.profile,
                consents: registration.consents,
                account_subject: None,
                login,
                // Staff record the agreement; it waits for the resident's or an officer's
                // confirmation before staff may change consents or withdraw the resident.
                proxy_recorded_by_staff: (registration.proxy.is_some()
                    && ctx.caller.role != Role::Resident)
                    .then(|| caller_scope(&ctx.caller)),
                proxy: registration.proxy,
                guardian_consent: body.guardian_consent,
                import_row,
            },
            this_year: this_year(ctx),
        };
        let now = request_stamp(ctx, at);
        let year = this_year(ctx);
        let exec = Execute::<Resident> {
            stream_id: stream_id(&id),
            expected_version: None,
            command,
            occurred_at: at,
            fresh: true,
        };
        let answer = execute_with(
            self.store.as_ref(),
            ctx,
            exec,
            |_| Ok(()),
            |done| {
                // An import row is answered with its resident's id only, now and on a retry, so
                // only that is kept with its key.
                if imported {
                    return Ok(pb::Resident {
                        resident_id: id.clone(),
                        version: done.version,
                        ..Default::default()
                    });
                }
                let stamps = Stamps::of_done(&done, now)?;
                Ok(view::resident(done.state, done.version, &stamps, year))
            },
        )
        .await?;
        Ok(answer)
    }

    pub(super) async fn register_resident_impl(
        &self,
        request: Request<pb::RegisterResidentRequest>,
    ) -> Result<pb::RegisterResidentResponse, Status> {
        let mut p = Preamble::begin(&request, access::RESIDENT_OR_STAFF)?;
        let body = request.get_ref();
        let registration = Self::validate_registration(&p.ctx, &mut p.errors, "", body, false);
        let (ctx, at, _) = p.finish()?;
        let registration =
            registration.ok_or_else(|| Status::invalid_argument("mode is required"))?;
        let id = match registration.account_subject.as_deref() {
            Some(subject) => {
                // A retry answers first; then the login's one record decides.
                if let Some(first) = first_answer::<pb::Resident>(self.store.as_ref(), &ctx).await?
                {
                    let id = first.resident_id.clone();
                    let resident = self
                        .finish_resident(&ctx, &id, Answer::Replayed(first))
                        .await?;
                    return Ok(pb::RegisterResidentResponse {
                        resident: Some(resident),
                    });
                }
                Some(self.login_record(&ctx, subject).await?)
            }
            None => None,
        };
        // Without a login, a retry is not looked up first: the append finds the request's first
        // result in the same statement that would record it, so a fresh registration (by far the
        // most common) makes one round trip fewer, and a retry costs a key made and deleted again.
        let per_login = id.is_some();
        let login = registration.account_subject.clone().unwrap_or_default();
        let id = id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let key = self
            .vault
            .new_key(ctx.municipality, &id)
            .await
            .map_err(vault_error)?;
        let answer = self
            .register(&ctx, body, registration, at, None, (id.clone(), &key))
            .await;
        // A login's record id is not made up for this request alone: a concurrent registration
        // of the same login may have sealed its data under the same key.
        if written_nothing(&answer) && !per_login {
            self.forget_unused_key(&ctx, &id).await;
        }
        let answer = match answer {
            Err(status) if per_login && status.code() == tonic::Code::Aborted => {
                return Err(linked_already(&id));
            }
            answer => answer,
        };
        let resident = match answer? {
            // What was just sealed is answered as given, not opened again.
            Answer::Fresh(mut resident, _) => {
                resident.personal = Some(kept(&body.personal.clone().unwrap_or_default()));
                resident.account_subject = login;
                resident
            }
            // The first registration with this request_id: its own personal data, opened with
            // its key.
            Answer::Replayed(r) => {
                let id = r.resident_id.clone();
                self.finish_resident(&ctx, &id, Answer::Replayed(r)).await?
            }
        };
        Ok(pb::RegisterResidentResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn upgrade_resident_impl(
        &self,
        request: Request<pb::UpgradeResidentRequest>,
    ) -> Result<pb::UpgradeResidentResponse, Status> {
        let resident = self
            .on_resident(&request, |errors, body, ctx| {
                let profile = validate::resident_profile(
                    errors,
                    "profile",
                    body.profile.as_ref(),
                    Some(RegistrationMode::Full),
                    this_year(ctx),
                );
                let command = ResidentCommand::Upgrade { profile };
                Some((command, Needs::ResidentOrProxy, body.expected_version))
            })
            .await?;
        Ok(pb::UpgradeResidentResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn update_resident_profile_impl(
        &self,
        request: Request<pb::UpdateResidentProfileRequest>,
    ) -> Result<pb::UpdateResidentProfileResponse, Status> {
        // Who may act is decided on the resident, for every role.
        let mut p = Preamble::begin(&request, &Role::ALL)?;
        let body = request.get_ref();
        validate::personal(&mut p.errors, "personal", body.personal.as_ref());
        let id = p.entity().unwrap_or_default().to_owned();
        // The mode decides which parts of the profile are required.
        let (state, _) =
            load::<Resident>(self.store.as_ref(), p.ctx.municipality, &stream_id(&id)).await?;
        let profile = validate::resident_profile(
            &mut p.errors,
            "profile",
            body.profile.as_ref(),
            state.mode,
            this_year(&p.ctx),
        );
        let (ctx, at, _) = p.finish()?;
        // Checked on a retry too, before its first answer is returned.
        access::check(
            &ctx.caller,
            &self.login_index(&ctx),
            &state,
            Needs::ResidentOrProxy,
        )?;
        let Some(key) = self.existing_key(&ctx, &id).await? else {
            // No key: the resident does not exist or was erased; the command says which.
            let e = if state.resident_id.is_none() {
                RegistryError::NotFound {
                    kind: "resident",
                    id,
                }
            } else {
                RegistryError::Erased(id)
            };
            return Err(e.into());
        };
        let command = ResidentCommand::UpdateProfile {
            personal: seal_personal(&key, &body.personal.clone().unwrap_or_default()),
            profile,
            this_year: this_year(&ctx),
        };
        let resident = self
            .resident_command(
                &ctx,
                &id,
                wire::expected_version(body.expected_version),
                at,
                Needs::ResidentOrProxy,
                command,
            )
            .await?;
        Ok(pb::UpdateResidentProfileResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn set_consent_impl(
        &self,
        request: Request<pb::SetConsentRequest>,
    ) -> Result<pb::SetConsentResponse, Status> {
        let resident = self
            .on_resident(&request, |errors, body, ctx| {
                let purpose =
                    errors.required("purpose", body.purpose, ConsentPurpose::from_wire)?;
                let command = ResidentCommand::SetConsent {
                    purpose,
                    granted: body.granted,
                    this_year: this_year(ctx),
                };
                Some((command, Needs::ResidentOrConfirmedProxy, 0))
            })
            .await?;
        Ok(pb::SetConsentResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn record_guardian_consent_impl(
        &self,
        request: Request<pb::RecordGuardianConsentRequest>,
    ) -> Result<pb::RecordGuardianConsentResponse, Status> {
        let resident = self
            .on_resident(&request, |errors, body, _| {
                let method = errors.required("method", body.method, AgreementMethod::from_wire)?;
                let command = ResidentCommand::RecordGuardianConsent { method };
                Some((command, Needs::ResidentOrStaff, 0))
            })
            .await?;
        Ok(pb::RecordGuardianConsentResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn set_proxy_agreement_impl(
        &self,
        request: Request<pb::SetProxyAgreementRequest>,
    ) -> Result<pb::SetProxyAgreementResponse, Status> {
        let resident = self
            .on_resident(&request, |errors, body, ctx| {
                let agreement = match &body.agreement {
                    Some(a) => Some(errors.required(
                        "agreement.method",
                        a.method,
                        AgreementMethod::from_wire,
                    )?),
                    None => None,
                };
                // Staff record an agreement the resident gave them; ending one is the
                // resident's or a proxy's act.
                let needs = if agreement.is_some() {
                    Needs::ResidentOrStaff
                } else {
                    Needs::ResidentOrProxy
                };
                let by_staff =
                    (ctx.caller.role != Role::Resident).then(|| caller_scope(&ctx.caller));
                Some((
                    ResidentCommand::SetProxy {
                        agreement,
                        by_staff,
                    },
                    needs,
                    0,
                ))
            })
            .await?;
        Ok(pb::SetProxyAgreementResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn confirm_proxy_agreement_impl(
        &self,
        request: Request<pb::ConfirmProxyAgreementRequest>,
    ) -> Result<pb::ConfirmProxyAgreementResponse, Status> {
        let resident = self
            .on_resident(&request, |_, _, ctx| {
                let by = if ctx.caller.role == Role::Resident {
                    Confirmer::Resident
                } else {
                    Confirmer::Officer
                };
                let command = ResidentCommand::ConfirmProxy {
                    by,
                    confirmer: caller_scope(&ctx.caller),
                };
                Some((command, Needs::ResidentOrOfficer, 0))
            })
            .await?;
        Ok(pb::ConfirmProxyAgreementResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn withdraw_resident_impl(
        &self,
        request: Request<pb::WithdrawResidentRequest>,
    ) -> Result<pb::WithdrawResidentResponse, Status> {
        let resident = self
            .on_resident(&request, |errors, body, _| {
                let reason = errors.required("reason", body.reason, WithdrawalReason::from_wire)?;
                Some((
                    ResidentCommand::Withdraw { reason },
                    Needs::ResidentOrConfirmedProxy,
                    0,
                ))
            })
            .await?;
        Ok(pb::WithdrawResidentResponse {
            resident: Some(resident),
        })
    }

    pub(super) async fn rejoin_resident_impl(
        &self,
        request: Request<pb::RejoinResidentRequest>,
    ) -> Result<pb::RejoinResidentResponse, Status> {
        let resident = self
            .on_resident(&request, |_, _, _| {
                Some((ResidentCommand::Rejoin, Needs::ResidentOrProxy, 0))
            })
            .await?;
        Ok(pb::RejoinResidentResponse {
            resident: Some(resident),
        })
    }

    /// The shape of most commands on one resident: check the request's id, `resident_id` and
    /// `occurred_at`, let `command` read the rest (recording violations), then run it.
    async fn on_resident<T: CommandRequest>(
        &self,
        request: &Request<T>,
        command: impl FnOnce(
            &mut FieldErrors,
            &T,
            &RequestContext,
        ) -> Option<(ResidentCommand, Needs, u64)>,
    ) -> Result<pb::Resident, Status> {
        // Who may act is decided on the resident (`Needs`), for every role.
        let mut p = Preamble::begin(request, &Role::ALL)?;
        let command = command(&mut p.errors, request.get_ref(), &p.ctx);
        let (ctx, at, id) = p.finish()?;
        let Some((command, needs, expected)) = command else {
            return Err(Status::invalid_argument("the request is incomplete"));
        };
        self.resident_command(
            &ctx,
            &id,
            wire::expected_version(expected),
            at,
            needs,
            command,
        )
        .await
    }

    pub(super) async fn erase_personal_data_impl(
        &self,
        request: Request<pb::ErasePersonalDataRequest>,
    ) -> Result<pb::ErasePersonalDataResponse, Status> {
        // Who may erase is decided on the subject (residents and officers).
        let (ctx, at, id) = Preamble::begin(&request, &Role::ALL)?.finish()?;
        let answer = pb::ErasePersonalDataResponse {
            subject_id: id.clone(),
            erased_at: Some(timestamp(at)),
        };
        let (resident, _) =
            load::<Resident>(self.store.as_ref(), ctx.municipality, &stream_id(&id)).await?;
        let answer = if resident.resident_id.is_some() {
            let exec = Execute::<Resident> {
                stream_id: stream_id(&id),
                expected_version: None,
                command: ResidentCommand::Erase,
                occurred_at: at,
                fresh: false,
            };
            let caller = ctx.caller.clone();
            let login_index = self.login_index(&ctx);
            execute_with(
                self.store.as_ref(),
                &ctx,
                exec,
                |state| access::check(&caller, &login_index, state, Needs::Erasure),
                |_| Ok(answer),
            )
            .await?
            .into_answer()
        } else {
            // Only officers erase coordinators; anyone else learns nothing about the id.
            if !access::OFFICERS.contains(&ctx.caller.role) {
                return Err(not_found("resident", &id));
            }
            let exec = Execute::<Coordinator> {
                stream_id: coordinator::stream_id(&id),
                expected_version: None,
                command: CoordinatorCommand::Erase,
                occurred_at: at,
                fresh: false,
            };
            execute_with(self.store.as_ref(), &ctx, exec, |_| Ok(()), |_| Ok(answer))
                .await
                .map_err(|s| {
                    if s.code() == tonic::Code::NotFound {
                        Status::not_found(format!(
                            "no resident or coordinator {id} in this municipality"
                        ))
                    } else {
                        s
                    }
                })?
                .into_answer()
        };
        // The event is recorded: destroy the key now (the directory projection does it too, so a
        // crash between the two still ends with the key gone).
        self.vault
            .erase(ctx.municipality, &id)
            .await
            .map_err(vault_error)?;
        Ok(answer)
    }

    pub(super) async fn get_resident_impl(
        &self,
        request: Request<pb::GetResidentRequest>,
    ) -> Result<pb::GetResidentResponse, Status> {
        let ctx = RequestContext::query(&request)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(&mut errors, "resident_id", &request.get_ref().resident_id);
        errors.finish()?;
        let (resident, _) = self
            .read_resident(&ctx, &id.unwrap_or_default(), Needs::ResidentOrStaff)
            .await?;
        Ok(pb::GetResidentResponse {
            resident: Some(resident),
        })
    }

    /// A resident as the caller may see them, with the stored history.
    async fn read_resident(
        &self,
        ctx: &RequestContext,
        id: &str,
        needs: Needs,
    ) -> Result<(pb::Resident, Vec<mosaic_eventstore::StoredEvent>), Status> {
        let (state, version, history) =
            get::<Resident>(self.store.as_ref(), ctx, "resident", id, &stream_id(id)).await?;
        access::check(&ctx.caller, &self.login_index(ctx), &state, needs)?;
        let stamps = Stamps::of_history(&history)?;
        let mut resident = view::resident(&state, version, &stamps, this_year(ctx));
        self.fill_personal(ctx, &mut resident, &state).await?;
        Ok((resident, history))
    }

    pub(super) async fn get_my_record_impl(
        &self,
        request: Request<pb::GetMyRecordRequest>,
    ) -> Result<pb::GetMyRecordResponse, Status> {
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let id = if body.resident_id.is_empty() && ctx.caller.role == Role::Resident {
            self.resident_of_account(&ctx).await?
        } else {
            wire::id(&mut errors, "resident_id", &body.resident_id)
        };
        errors.finish()?;
        let Some(id) = id else {
            return Err(Status::not_found(
                "no resident record is linked to this token",
            ));
        };
        let (resident, history) = self
            .read_resident(&ctx, &id, Needs::ResidentOrProxy)
            .await?;
        Ok(pb::GetMyRecordResponse {
            resident: Some(resident),
            history: history
                .iter()
                .map(|e| pb::RecordEntry {
                    event_type: e.event_type.clone(),
                    version: e.version,
                    stamp: Some(view::stamp(e)),
                })
                .collect(),
        })
    }
}

/// The purpose of the keyed hash that finds a resident by their login subject.
const LOGIN_INDEX: &str = "login";
/// The purpose of the keyed hash that names a login's resident record.
const LOGIN_RECORD_INDEX: &str = "login-record";
/// The field name a login subject is sealed under.
const LOGIN_FIELD: &str = "account_subject";
/// How many erased records one login may leave behind and still register again.
const MAX_ERASED_RECORDS_PER_LOGIN: u32 = 16;

/// A resident id from a keyed hash (hex) of a login: its first 128 bits as a UUID of version 8.
fn login_resident_id(index: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = index
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or_default();
    }
    uuid::Uuid::new_v8(bytes).to_string()
}

/// `ALREADY_EXISTS` for a login that has a live record, naming it (also as a `ResourceInfo`
/// detail, so a client reads the id without parsing text).
fn linked_already(id: &str) -> Status {
    use tonic_types::{ErrorDetails, StatusExt};
    Status::with_error_details(
        tonic::Code::AlreadyExists,
        format!("a resident record is linked to this login already: {id}"),
        ErrorDetails::with_resource_info("mosaic.v1.Resident", id, "", "the login's record"),
    )
}

/// Whether a registration certainly wrote nothing under the id it made up: it was answered with
/// an earlier request's result, or refused before its commit. An unavailable or internal error
/// may come after a commit whose outcome is unknown, so it keeps the key.
fn written_nothing<T>(answer: &Result<Answer<pb::Resident, T>, Status>) -> bool {
    use tonic::Code;
    match answer {
        Ok(Answer::Replayed(_)) => true,
        Ok(Answer::Fresh(..)) => false,
        Err(status) => matches!(
            status.code(),
            Code::InvalidArgument
                | Code::FailedPrecondition
                | Code::AlreadyExists
                | Code::Aborted
                | Code::NotFound
                | Code::PermissionDenied
        ),
    }
}
