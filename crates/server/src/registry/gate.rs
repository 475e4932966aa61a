//! [`RamGate`]: every registry request, decided by RAM.
//!
//! In order:
//!
//! 1. **Instance.** The `Host` header names it (any of its host names, port
//!    ignored); a host no instance names goes to the configured default
//!    instance, else the oldest one. None: 404.
//! 2. **Endpoint.** Requests on the `-registry-vpc.` name use the `vpc`
//!    endpoint, all others `internet`. A disabled endpoint, or a source
//!    outside the endpoint's ACL when it is on, is 403 `DENIED`.
//! 3. **Credentials.** No `Authorization`: anonymous. `Bearer`: a token from
//!    the realm, for this instance, not expired (else 401 with
//!    `error="invalid_token"`). A session's token is checked like an API
//!    call of that session: revoked, role deleted or re-created, chain's
//!    user deleted → 401.
//! 4. **Name.** `NAMESPACE/REPOSITORY`, two components (else 400
//!    `NAME_INVALID`).
//! 5. **Public repositories** may be pulled (and their tags listed) by
//!    anyone, anonymously included.
//! 6. **Anonymous** callers get 401 with the challenge for everything else.
//! 7. **RAM.** `cr:PullRepository`, `cr:PushRepository`,
//!    `cr:DeleteRepositoryTag`, `cr:DeleteRepository`,
//!    `cr:ListRepositoryTag` on
//!    `acs:cr:REGION:ACCOUNT:repository/INSTANCE/NS/REPO` (the namespace and
//!    instance ARNs enclose it, so a policy may name either);
//!    `cr:ListRepository` on the instance ARN for the catalog. Decided
//!    with the caller's policies as they are now, narrowed by a session
//!    policy; only principals of the instance's account can be allowed.
//!    A denial is 403 `DENIED`.
//! 8. **Scope.** RAM allowed, but the token was not issued for this action
//!    (it was made for `pull` and this is a push, or policies changed
//!    since): 401 with `error="insufficient_scope"`, so the client fetches
//!    a new token.
//! 9. **Repository.** A push into a missing repository creates it when its
//!    namespace allows (a missing namespace is created with the defaults);
//!    other requests on a missing repository are 404 `NAME_UNKNOWN`.
//!
//! Every decision is one audit event, with the principal chain, in the
//! caller's account and in the instance owner's.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap};
use registry::gate::{Access, AccessRequest, Admitted, Gate, Refusal};
use registry::meta::control::{Instance, Repository};
use registry::meta::{instances, repositories};
use registry::token::{BearerToken, Subject};

use crate::api_server::AppState;
use crate::audit::{AuditEvent, Outcome, Verdict};
use crate::ram::authz::Check;
use crate::request_id::RequestId;
use crate::sts::IamSts;

/// The gate over RAM; holds the server's shared state.
#[derive(Clone)]
pub struct RamGate {
    state: Arc<AppState>,
}

impl RamGate {
    pub fn new(state: Arc<AppState>) -> Self {
        RamGate { state }
    }
}

/// The RAM action a registry access asks for.
pub fn ram_action(access: Access) -> &'static str {
    match access {
        Access::Base | Access::Pull => "cr:PullRepository",
        Access::Push => "cr:PushRepository",
        Access::DeleteTag => "cr:DeleteRepositoryTag",
        Access::Delete => "cr:DeleteRepository",
        Access::ListTags => "cr:ListRepositoryTag",
        Access::Catalog => "cr:ListRepository",
    }
}

/// The `service` of an instance's challenges and tokens.
pub fn service_name(instance: &Instance) -> String {
    format!(
        "rampart-registry:{}:{}",
        instance.region, instance.instance_id
    )
}

/// The `Host` the client addressed (with its port, as the realm URL needs
/// it).
pub(crate) fn host(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_graphic()))
}

/// The challenge for `scope` (empty: none).
fn challenge(headers: &HeaderMap, instance: &Instance, scope: &str, error: Option<&str>) -> String {
    let realm_host = host(headers).unwrap_or("127.0.0.1");
    let mut value = format!(
        "Bearer realm=\"http://{realm_host}{}\",service=\"{}\"",
        super::realm::PATH,
        service_name(instance)
    );
    if !scope.is_empty() {
        value.push_str(&format!(",scope=\"{scope}\""));
    }
    if let Some(error) = error {
        value.push_str(&format!(",error=\"{error}\""));
    }
    value
}

/// The scope a client should ask for to make this request.
fn wanted_scope(access: Access, repository: Option<&str>) -> String {
    match (access, repository) {
        (Access::Catalog, _) => "registry:catalog:*".to_owned(),
        (Access::Push, Some(name)) => format!("repository:{name}:pull,push"),
        (_, Some(name)) => format!("repository:{name}:{}", access.scope_action()),
        (_, None) => String::new(),
    }
}

/// Resolves the instance a `Host` names, and which endpoint it came in by.
pub(crate) async fn resolve_instance(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Instance, &'static str), Refusal> {
    let plane = state.registry.as_ref().ok_or_else(|| Refusal::Internal {
        message: "no registry is configured".into(),
    })?;
    let internal = |e: registry::meta::control::ControlError| Refusal::Internal {
        message: e.to_string(),
    };
    let host_key = host(headers).unwrap_or("");
    if let Some(found) = plane.cache.host(host_key) {
        return found.ok_or_else(|| Refusal::UnknownHost {
            message: "no registry instance answers to this host".into(),
        });
    }
    let mut found = None;
    if !host_key.is_empty() {
        if let Some(instance) = instances::instance_for_host(&plane.db, host_key)
            .await
            .map_err(internal)?
        {
            let vpc =
                instances::normalize_host(host_key).is_some_and(|n| n.contains("-registry-vpc."));
            found = Some((instance, if vpc { "vpc" } else { "internet" }));
        }
    }
    if found.is_none() {
        found = match &plane.settings.default_instance {
            Some(id) => instances::get_instance(&plane.db, id).await,
            None => instances::oldest_instance(&plane.db).await,
        }
        .map_err(internal)?
        .map(|i| (i, "internet"));
    }
    // Only a found instance is remembered: one made a moment ago (by the
    // admin verb in another process) must answer at once.
    if found.is_some() {
        plane.cache.put_host(host_key, found.clone());
    }
    found.ok_or_else(|| Refusal::UnknownHost {
        message: "no registry instance answers to this host".into(),
    })
}

/// Refuses a source the endpoint does not admit.
pub(crate) async fn check_endpoint(
    state: &AppState,
    instance: &Instance,
    endpoint_type: &'static str,
    peer: SocketAddr,
) -> Result<(), Refusal> {
    let Some(plane) = state.registry.as_ref() else {
        return Ok(());
    };
    let endpoint = match plane.cache.endpoint(&instance.instance_id, endpoint_type) {
        Some(hit) => hit,
        None => {
            let read = instances::endpoint(&plane.db, &instance.instance_id, endpoint_type)
                .await
                .map_err(|e| Refusal::Internal {
                    message: e.to_string(),
                })?;
            plane
                .cache
                .put_endpoint(&instance.instance_id, endpoint_type, read.clone());
            read
        }
    };
    if !endpoint.enabled {
        return Err(Refusal::Denied {
            message: format!("the {endpoint_type} endpoint of this instance is disabled"),
        });
    }
    if endpoint.acl_enabled {
        let ip = crate::decide::source_ip(peer);
        let admitted = endpoint.entries.iter().any(|(entry, _)| {
            policy::condition::Cidr::parse(entry).is_some_and(|cidr| cidr.contains(ip))
        });
        if !admitted {
            return Err(Refusal::Denied {
                message: format!(
                    "source {ip} is not in the {endpoint_type} endpoint's access list"
                ),
            });
        }
    }
    Ok(())
}

/// The RAM principal a subject is decided as, and its session narrowing
/// (for a role session).
pub(crate) type Decided = (iam::Principal, Option<Arc<sts::SessionRights>>);

/// The RAM principal a subject is decided as (`None`: anonymous).
pub(crate) fn principal_of(state: &AppState, subject: &Subject) -> Result<Option<Decided>, String> {
    Ok(match subject {
        Subject::Anonymous => None,
        Subject::Root { account } => Some((
            iam::Principal::Root {
                account: account.clone(),
            },
            None,
        )),
        Subject::User {
            account,
            user_id,
            name,
        } => Some((
            iam::Principal::User {
                account: account.clone(),
                user_id: user_id.clone(),
                name: name.clone(),
            },
            None,
        )),
        Subject::Session(claims) => {
            let rights = state
                .session_rights
                .of(claims)
                .map_err(|e| format!("session policy: {e:?}"))?;
            Some((
                iam::Principal::Role {
                    account: claims.account.clone(),
                    role_id: claims.role_id.clone(),
                    name: claims.role_name.clone(),
                },
                Some(rights),
            ))
        }
    })
}

/// Whether a session subject still counts (revocation, deletions).
pub(crate) async fn session_ok(state: &AppState, subject: &Subject) -> Result<(), String> {
    if let Subject::Session(claims) = subject {
        sts::session_still_valid(&IamSts(&state.store), claims, state.clock.now())
            .await
            .map_err(|e| sts::WireError::message(&e))?;
    }
    Ok(())
}

/// The audit record of one registry decision.
fn audit_for(peer: SocketAddr, instance: &Instance, access: Access) -> AuditEvent {
    let mut audit = AuditEvent::new(&RequestId::new(), peer.ip());
    audit.action = ram_action(access).to_owned();
    audit.resource_account = Some(instance.account_id.clone());
    name_subject(&mut audit, &Subject::Anonymous, instance);
    audit
}

/// Names who asked in the audit record (anonymous until a token says
/// otherwise).
fn name_subject(audit: &mut AuditEvent, subject: &Subject, instance: &Instance) {
    match subject {
        Subject::Anonymous => {
            audit.account = Some(instance.account_id.clone());
            audit.principal_arn = Some("anonymous".to_owned());
        }
        Subject::Session(claims) => {
            audit.account = Some(claims.account.clone());
            audit.principal_arn = Some(claims.session_arn());
            audit.chain = claims.chain_arns();
            audit.session_id = Some(claims.session_id.clone());
        }
        other => {
            audit.account = other.account().map(str::to_owned);
            audit.principal_arn = Some(other.arn());
        }
    }
}

fn refusal_code(refusal: &Refusal) -> (&'static str, u16) {
    match refusal {
        Refusal::Challenge { .. } => ("UNAUTHORIZED", 401),
        Refusal::Denied { .. } => ("DENIED", 403),
        Refusal::NameUnknown { .. } => ("NAME_UNKNOWN", 404),
        Refusal::NameInvalid { .. } => ("NAME_INVALID", 400),
        Refusal::UnknownHost { .. } => ("NAME_UNKNOWN", 404),
        Refusal::Internal { .. } => ("INTERNAL_ERROR", 500),
    }
}

impl Gate for RamGate {
    async fn admit(&self, request: AccessRequest<'_>) -> Result<Admitted, Refusal> {
        let state = &*self.state;
        let (instance, endpoint_type) = resolve_instance(state, request.headers).await?;
        let mut audit = audit_for(request.peer, &instance, request.access);
        audit.detail = Some(format!("{} {}", request.method, request.path));
        let result = self
            .decide(request, &instance, endpoint_type, &mut audit)
            .await;
        match &result {
            Ok(_) => audit.finish(Outcome::Success),
            Err(refusal) => {
                let (code, status) = refusal_code(refusal);
                audit.finish(Outcome::Error {
                    code: code.to_owned(),
                    status,
                });
            }
        }
        // The base check decides nothing about resources: not audited
        // unless refused.
        if request.access != Access::Base || result.is_err() {
            audit.emit(&state.store).await;
        }
        result
    }
}

impl RamGate {
    async fn decide(
        &self,
        request: AccessRequest<'_>,
        instance: &Instance,
        endpoint_type: &'static str,
        audit: &mut AuditEvent,
    ) -> Result<Admitted, Refusal> {
        let state = &*self.state;
        let plane = state.registry.as_ref().ok_or_else(|| Refusal::Internal {
            message: "no registry is configured".into(),
        })?;
        let headers = request.headers;
        let scope = wanted_scope(request.access, request.repository);
        let unauthenticated = |message: &str, error: Option<&str>| Refusal::Challenge {
            www_authenticate: challenge(headers, instance, &scope, error),
            message: message.to_owned(),
        };

        check_endpoint(state, instance, endpoint_type, request.peer).await?;

        // 3. Credentials.
        let now = state.clock.now().unix_seconds();
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = match authorization {
            None => None,
            Some(value) => {
                let Some(sealed) = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
                else {
                    return Err(unauthenticated(
                        "this registry takes bearer tokens from its realm",
                        None,
                    ));
                };
                let keys = state.sts_keys.as_ref().ok_or_else(|| Refusal::Internal {
                    message: "no key ring to open registry tokens".into(),
                })?;
                let token = BearerToken::open(sealed.trim(), keys, now)
                    .map_err(|e| unauthenticated(&e.to_string(), Some("invalid_token")))?;
                if token.instance_id != instance.instance_id {
                    return Err(unauthenticated(
                        "the token was issued for another registry instance",
                        Some("invalid_token"),
                    ));
                }
                Some(token)
            }
        };
        let subject = token
            .as_ref()
            .map_or(Subject::Anonymous, |t| t.subject.clone());
        name_subject(audit, &subject, instance);
        if let Err(why) = session_ok(state, &subject).await {
            return Err(unauthenticated(&why, Some("invalid_token")));
        }

        if request.access == Access::Base {
            if subject == Subject::Anonymous {
                return Err(unauthenticated("authentication required", None));
            }
            return Ok(Admitted {
                instance_id: instance.instance_id.clone(),
                repo_id: None,
            });
        }

        // 4. Name.
        let split = match request.repository {
            Some(name) => match name.split_once('/') {
                Some((ns, repo)) if !ns.is_empty() && !repo.is_empty() && !repo.contains('/') => {
                    Some((ns, repo))
                }
                _ => {
                    return Err(Refusal::NameInvalid {
                        message: format!(
                        "repository names in this registry are NAMESPACE/REPOSITORY; got {name:?}"
                    ),
                    })
                }
            },
            None => None,
        };
        let existing: Option<Repository> = match split {
            Some((ns, repo)) => {
                repositories::get_repository(&plane.db, &instance.instance_id, ns, repo)
                    .await
                    .map_err(|e| Refusal::Internal {
                        message: e.to_string(),
                    })?
            }
            None => None,
        };
        let resources: Vec<String> = match split {
            Some((ns, repo)) => instance.repository_resources(ns, repo),
            None => vec![instance.arn()],
        };
        let check = Check {
            action: ram_action(request.access).to_owned(),
            resource: resources.first().cloned().unwrap_or_default(),
        };

        // 5. Public repositories.
        let public_read = matches!(request.access, Access::Pull | Access::ListTags)
            && existing.as_ref().is_some_and(Repository::is_public);
        if public_read {
            audit.record_decision(
                &check,
                &Verdict {
                    outcome: policy::Outcome::Allow,
                    deciding: Some("PublicRepository".to_owned()),
                },
            );
            return Ok(Admitted {
                instance_id: instance.instance_id.clone(),
                repo_id: existing.map(|r| r.repo_id),
            });
        }

        // 6. Anonymous.
        let Some((principal, rights)) =
            principal_of(state, &subject).map_err(|message| Refusal::Internal { message })?
        else {
            return Err(unauthenticated("authentication required", None));
        };

        // 7. RAM.
        let context = crate::decide::context(
            request.peer,
            Some(&principal),
            None,
            state.clock.now_millis(),
        );
        let resource_refs: Vec<&str> = resources.iter().map(String::as_str).collect();
        let verdict = crate::decide::decide(
            &state.store,
            &principal,
            rights.as_deref(),
            &check.action,
            &resource_refs,
            &context,
        )
        .await
        .map_err(|e| Refusal::Internal {
            message: e.message().to_owned(),
        })?;
        audit.record_decision(&check, &verdict);
        if !verdict.is_allowed() {
            return Err(Refusal::Denied {
                message: format!(
                    "{} may not {} on {}",
                    subject.arn(),
                    check.action,
                    check.resource
                ),
            });
        }

        // 8. Scope.
        let (kind, name) = match request.repository {
            Some(name) => ("repository", name),
            None => ("registry", "catalog"),
        };
        let in_scope = token
            .as_ref()
            .is_some_and(|t| t.allows(kind, name, request.access.scope_action()));
        if !in_scope {
            return Err(unauthenticated(
                "the token does not cover this request",
                Some("insufficient_scope"),
            ));
        }

        // 9. Repository.
        let repo_id = match (split, existing) {
            (_, Some(repo)) => Some(repo.repo_id),
            (Some((ns, repo)), None) if request.access == Access::Push => {
                let created =
                    repositories::repository_for_push(&plane.db, &instance.instance_id, ns, repo)
                        .await
                        .map_err(|e| match e {
                            registry::meta::control::ControlError::Invalid { reason, .. } => {
                                Refusal::NameInvalid { message: reason }
                            }
                            other => Refusal::Internal {
                                message: other.to_string(),
                            },
                        })?;
                plane.cache.clear();
                match created {
                    Some(repo) => Some(repo.repo_id),
                    None => {
                        return Err(Refusal::Denied {
                            message: format!(
                                "namespace {ns:?} does not create repositories on push; create {ns}/{repo} first"
                            ),
                        })
                    }
                }
            }
            (Some((ns, repo)), None) => {
                return Err(Refusal::NameUnknown {
                    message: format!("repository {ns}/{repo} is not known"),
                })
            }
            (None, None) => None,
        };
        Ok(Admitted {
            instance_id: instance.instance_id.clone(),
            repo_id,
        })
    }
}
