//! An in-memory store and a tiny executor for the tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::future::{ready, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Waker};

use auth::{KeyRing, SealingKey, Timestamp};
use policy::{Context, Policy, PolicyId, PolicyKind, PolicySet, Request};
use sts::{Caller, IdentityVerdict, RoleRecord, StsStore};

/// Runs a future that never waits on anything real (the fake store
/// answers at once).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

pub fn ring(keys: &[(&str, u8)]) -> KeyRing {
    KeyRing::new(
        keys.iter()
            .map(|(id, b)| SealingKey::new(id, [*b; 32]).unwrap())
            .collect(),
    )
    .unwrap()
}

pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds)
}

pub const A: &str = "1111111111111111";
pub const B: &str = "2222222222222222";
pub const C: &str = "3333333333333333";

#[derive(Debug)]
pub struct Down;

impl std::fmt::Display for Down {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database is down")
    }
}

impl std::error::Error for Down {}

/// Roles, users and identity policies, changeable while a test runs.
#[derive(Default)]
pub struct FakeStore {
    roles: Mutex<Vec<RoleRecord>>,
    users: Mutex<Vec<(String, String)>>,
    /// Identity policies by principal: `user:ACCOUNT:ID` or `role:ACCOUNT:ID`.
    policies: Mutex<HashMap<String, Vec<String>>>,
    down: AtomicBool,
    /// How many times `identity_allows` was asked.
    pub identity_calls: Mutex<usize>,
}

pub const ALLOW_ASSUME_ANY: &str =
    r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#;

pub fn trust_ram(principals: &[&str]) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"RAM": principals},
        }]
    })
    .to_string()
}

pub fn trust_service(services: &[&str]) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": services},
        }]
    })
    .to_string()
}

impl FakeStore {
    pub fn new() -> Arc<FakeStore> {
        Arc::new(FakeStore::default())
    }

    pub fn add_role(&self, account: &str, id: &str, name: &str, trust: &str, max: i64) {
        self.roles.lock().unwrap().push(RoleRecord {
            account: account.into(),
            role_id: id.into(),
            name: name.into(),
            trust_policy: trust.into(),
            max_session_duration: max,
            revoked_before: None,
        });
    }

    pub fn delete_role(&self, account: &str, name: &str) {
        self.roles
            .lock()
            .unwrap()
            .retain(|r| !(r.account == account && r.name.eq_ignore_ascii_case(name)));
    }

    pub fn revoke(&self, account: &str, name: &str, before: Timestamp) {
        for r in self.roles.lock().unwrap().iter_mut() {
            if r.account == account && r.name.eq_ignore_ascii_case(name) {
                r.revoked_before = Some(before);
            }
        }
    }

    pub fn add_user(&self, account: &str, id: &str) {
        self.users.lock().unwrap().push((account.into(), id.into()));
    }

    pub fn delete_user(&self, account: &str, id: &str) {
        self.users
            .lock()
            .unwrap()
            .retain(|(a, i)| !(a == account && i == id));
    }

    pub fn attach(&self, principal: &str, policy: &str) {
        self.policies
            .lock()
            .unwrap()
            .entry(principal.into())
            .or_default()
            .push(policy.into());
    }

    pub fn detach_all(&self, principal: &str) {
        self.policies.lock().unwrap().remove(principal);
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The compiled identity policies of a principal key.
    pub fn policy_set(&self, principal: &str) -> PolicySet {
        let texts = self
            .policies
            .lock()
            .unwrap()
            .get(principal)
            .cloned()
            .unwrap_or_default();
        PolicySet::new(texts.iter().enumerate().map(|(i, t)| {
            (
                PolicyId::new(format!("p{i}"), "v1"),
                Arc::new(Policy::parse(t, PolicyKind::Permission).unwrap()),
            )
        }))
    }

    fn find_role(&self, account: &str, name: &str) -> Option<RoleRecord> {
        self.roles
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.account == account && r.name.eq_ignore_ascii_case(name))
            .cloned()
    }
}

impl StsStore for FakeStore {
    type Error = Down;

    fn role(
        &self,
        account: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<RoleRecord>, Down>> + Send {
        ready(if self.down.load(Ordering::SeqCst) {
            Err(Down)
        } else {
            Ok(self.find_role(account, name))
        })
    }

    fn identity_allows(
        &self,
        caller: &Caller<'_>,
        role_arn: &str,
        context: &Context,
    ) -> impl Future<Output = Result<IdentityVerdict, Down>> + Send {
        *self.identity_calls.lock().unwrap() += 1;
        let key = match caller {
            Caller::User {
                account, user_id, ..
            } => format!("user:{account}:{user_id}"),
            Caller::Session(claims) => format!("role:{}:{}", claims.account, claims.role_id),
            other => panic!("identity asked for {other:?}"),
        };
        let exists = match caller {
            Caller::User {
                account, user_id, ..
            } => self
                .users
                .lock()
                .unwrap()
                .iter()
                .any(|(a, i)| a == account && i == user_id),
            _ => true,
        };
        let set = self.policy_set(&key);
        let resources = [role_arn];
        let decision = policy::decide(
            &[&set],
            &Request {
                action: "sts:AssumeRole",
                resources: &resources,
                context,
            },
        );
        let decision = if exists {
            decision
        } else {
            policy::Decision {
                outcome: policy::Outcome::ImplicitDeny,
                deciding: None,
                missing_allow_in: Some(0),
            }
        };
        let deciding = decision
            .deciding
            .map(|r| format!("Custom:p{}:v1:Statement[{}]", r.policy, r.statement));
        ready(if self.down.load(Ordering::SeqCst) {
            Err(Down)
        } else {
            Ok(IdentityVerdict { decision, deciding })
        })
    }

    fn user_exists(
        &self,
        account: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<bool, Down>> + Send {
        ready(if self.down.load(Ordering::SeqCst) {
            Err(Down)
        } else {
            Ok(self
                .users
                .lock()
                .unwrap()
                .iter()
                .any(|(a, i)| a == account && i == user_id))
        })
    }
}
