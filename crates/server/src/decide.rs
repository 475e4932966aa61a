//! One permission decision for a caller, the way every product asks it: the
//! decision point (`iam::Store::authorize`, the principal's policies as
//! they are now) narrowed by the session policy when the caller is a role
//! session (`sts::SessionRights::narrow`). The RPC endpoint and the
//! registry both decide through here, so an API call and a pull made by the
//! same session are judged alike.

use crate::audit::Verdict;
use crate::error::ApiError;

/// The audit's name for a session-policy statement.
fn session_statement(decision: &policy::Decision) -> Option<String> {
    decision.deciding.filter(|r| r.layer == 1).map(|r| {
        format!(
            "{}:Statement[{}]",
            sts::session::SESSION_POLICY_NAME,
            r.statement
        )
    })
}

/// May `principal` (narrowed by `rights` for a session) do `action` on
/// `resources` (the resource first, then the resources enclosing it)?
pub async fn decide(
    store: &iam::Store,
    principal: &iam::Principal,
    rights: Option<&sts::SessionRights>,
    action: &str,
    resources: &[&str],
    context: &policy::Context,
) -> Result<Verdict, ApiError> {
    let answer = store
        .authorize(principal, action, resources, context)
        .await?;
    let verdict = Verdict::from(&answer);
    let Some(rights) = rights else {
        return Ok(verdict);
    };
    let request = policy::Request {
        action,
        resources,
        context,
    };
    let narrowed = rights.narrow(answer.decision, &request);
    Ok(if narrowed.deciding.is_some_and(|r| r.layer == 1) {
        Verdict {
            outcome: narrowed.outcome,
            deciding: session_statement(&narrowed),
        }
    } else if narrowed.outcome == verdict.outcome {
        verdict
    } else {
        // The role allowed and the session policy has no Allow for it.
        Verdict {
            outcome: narrowed.outcome,
            deciding: Some(format!("{}:NoAllow", sts::session::SESSION_POLICY_NAME)),
        }
    })
}

/// The condition keys rampart fills in for every decision: `acs:SourceIp`
/// (the TCP peer, IPv4-mapped addresses as IPv4), `acs:CurrentTime`,
/// `acs:SecureTransport` (`false`: rampart serves plain HTTP),
/// `acs:AccessId` when the caller signed with a key, and the principal's
/// ARN and account.
/// The address a decision knows the caller by: the TCP peer, with an
/// IPv4-mapped IPv6 address read as the IPv4 address it maps.
pub fn source_ip(peer: std::net::SocketAddr) -> std::net::IpAddr {
    match peer.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    }
}

pub fn context(
    peer: std::net::SocketAddr,
    principal: Option<&iam::Principal>,
    access_key_id: Option<&str>,
    now_millis: i64,
) -> policy::Context {
    let ip = source_ip(peer);
    let mut context = policy::Context::new();
    context
        .set(
            policy::keys::CURRENT_TIME,
            policy::condition::format_date(now_millis),
        )
        .set(policy::keys::SOURCE_IP, ip.to_string())
        .set(policy::keys::SECURE_TRANSPORT, "false");
    if let Some(id) = access_key_id {
        context.set(policy::keys::ACCESS_ID, id);
    }
    if let Some(principal) = principal {
        context
            .set(policy::keys::PRINCIPAL_ARN, principal.arn())
            .set(policy::keys::PRINCIPAL_ACCOUNT, principal.account());
    }
    context
}
