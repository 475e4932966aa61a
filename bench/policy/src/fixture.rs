//! The policies and requests both engines are measured on, described once
//! and rendered into each language by `ram.rs` and `cedar.rs`.
//!
//! A principal has ten attached policies of five statements each, written
//! the way the seed documents (ACR pulls across accounts, OSS buckets for
//! the registry, STS role assumption) write them: action wildcards such as
//! `cr:Get*`, resource ARNs with wildcards, a few Deny guardrails, and the
//! global condition keys rampart fills in (`acs:SourceIp`,
//! `acs:CurrentTime`, `acs:SecureTransport`, `acs:SourceVpc`).
//!
//! Deliberately absent, because Cedar has no direct counterpart and the
//! comparison must be like for like: `NotAction`/`NotResource`, `?` in
//! patterns, and multi-valued request keys.

use std::fmt::Write as _;

pub const ACCOUNT: &str = "1111111111111111";
pub const INSTANCE: &str = "cri-x";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// The condition operators the fixtures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    StringEquals,
    StringLike,
    StringNotLike,
    DateLessThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
}

impl Op {
    pub fn ram_name(self) -> &'static str {
        match self {
            Op::StringEquals => "StringEquals",
            Op::StringLike => "StringLike",
            Op::StringNotLike => "StringNotLike",
            Op::DateLessThan => "DateLessThan",
            Op::DateGreaterThanEquals => "DateGreaterThanEquals",
            Op::Bool => "Bool",
            Op::IpAddress => "IpAddress",
            Op::NotIpAddress => "NotIpAddress",
        }
    }

    pub fn negated(self) -> bool {
        matches!(self, Op::StringNotLike | Op::NotIpAddress)
    }
}

/// The condition keys the fixtures test, with their name in each language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    SourceIp,
    CurrentTime,
    SecureTransport,
    SourceVpc,
    PrincipalAccount,
}

impl Key {
    pub fn ram_name(self) -> &'static str {
        match self {
            Key::SourceIp => policy::keys::SOURCE_IP,
            Key::CurrentTime => policy::keys::CURRENT_TIME,
            Key::SecureTransport => policy::keys::SECURE_TRANSPORT,
            Key::SourceVpc => policy::keys::SOURCE_VPC,
            Key::PrincipalAccount => policy::keys::PRINCIPAL_ACCOUNT,
        }
    }

    pub fn cedar_name(self) -> &'static str {
        match self {
            Key::SourceIp => "source_ip",
            Key::CurrentTime => "current_time",
            Key::SecureTransport => "secure_transport",
            Key::SourceVpc => "source_vpc",
            Key::PrincipalAccount => "principal_account",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cond {
    pub op: Op,
    pub key: Key,
    /// Any of them may match (all must miss, for a negated operator).
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub effect: Effect,
    /// Action patterns (`*` wildcards allowed, canonical case).
    pub actions: Vec<String>,
    /// Resource patterns; `["*"]` is any resource.
    pub resources: Vec<String>,
    /// All must hold.
    pub conditions: Vec<Cond>,
}

#[derive(Debug, Clone)]
pub struct Doc {
    pub name: String,
    pub statements: Vec<Stmt>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn allow(actions: &[&str], resources: &[&str], conditions: Vec<Cond>) -> Stmt {
    Stmt {
        effect: Effect::Allow,
        actions: strings(actions),
        resources: strings(resources),
        conditions,
    }
}

fn deny(actions: &[&str], resources: &[&str], conditions: Vec<Cond>) -> Stmt {
    Stmt {
        effect: Effect::Deny,
        ..allow(actions, resources, conditions)
    }
}

fn cond(op: Op, key: Key, values: &[&str]) -> Cond {
    Cond {
        op,
        key,
        values: strings(values),
    }
}

fn doc(name: &str, statements: Vec<Stmt>) -> Doc {
    Doc {
        name: name.to_string(),
        statements,
    }
}

/// `acs:cr:REGION:ACCOUNT:repository/cri-x/PATH`.
pub fn repo(region: &str, path: &str) -> String {
    format!("acs:cr:{region}:{ACCOUNT}:repository/{INSTANCE}/{path}")
}

pub fn instance(region: &str, id: &str) -> String {
    format!("acs:cr:{region}:{ACCOUNT}:instance/{id}")
}

pub fn role(name: &str) -> String {
    format!("acs:ram::{ACCOUNT}:role/{name}")
}

/// The ten policies attached to the principal of team `team`; other
/// principals in the store-size benchmark get the same shapes with their
/// own team name, so every policy in the store is a distinct document.
pub fn principal_policies(team: &str) -> Vec<Doc> {
    use Key::*;
    use Op::*;
    let internal = ["10.0.0.0/8", "172.16.0.0/12"];
    let until = ["2027-01-01T00:00:00Z"];
    let team_repos = repo("cn-hangzhou", &format!("{team}/*"));
    let team_repos_any_region = format!("acs:cr:*:{ACCOUNT}:repository/{INSTANCE}/{team}/*");
    let home = instance("cn-hangzhou", INSTANCE);
    let bucket = format!("acs:oss:*:*:{team}-artifacts");
    let objects = format!("{bucket}/*");
    let uploads = format!("{bucket}/uploads/*");
    let release = repo("*", &format!("{team}/release-*"));
    let quarantine = repo("cn-hangzhou", &format!("{team}/quarantine-*"));
    let fc_services = format!("acs:fc:*:{ACCOUNT}:services/{team}-*");
    let fc_functions = format!("acs:fc:*:{ACCOUNT}:services/{team}-*/functions/*");
    let log_stores = format!("acs:log:*:{ACCOUNT}:project/{team}-logs/*");

    vec![
        doc(
            "ContainerRegistryReadOnly",
            vec![
                allow(
                    &["cr:Get*", "cr:List*"],
                    &[&format!("acs:cr:*:{ACCOUNT}:*")],
                    vec![],
                ),
                allow(
                    &["cr:GetAuthorizationToken", "cr:ListInstanceEndpoint"],
                    &["*"],
                    vec![],
                ),
                deny(&["cr:Delete*"], &[&repo("*", "prod/*")], vec![]),
                allow(
                    &["cr:PullRepository"],
                    &[&instance("cn-hangzhou", "cri-y")],
                    vec![cond(IpAddress, SourceIp, &["192.168.0.0/16"])],
                ),
                allow(
                    &["cr:ListRepositoryTag", "cr:GetRepositoryTag"],
                    &[&format!("acs:cr:cn-shanghai:{ACCOUNT}:repository/cri-z/*")],
                    vec![],
                ),
            ],
        ),
        doc(
            "TeamArtifactBucket",
            vec![
                allow(
                    &["oss:GetObject", "oss:ListObjects"],
                    &[&bucket, &objects],
                    vec![],
                ),
                allow(
                    &[
                        "oss:PutObject",
                        "oss:DeleteObject",
                        "oss:AbortMultipartUpload",
                    ],
                    &[&uploads],
                    vec![cond(Bool, SecureTransport, &["true"])],
                ),
                deny(&["oss:DeleteBucket", "oss:PutBucketAcl"], &["*"], vec![]),
                allow(&["oss:ListBuckets"], &["acs:oss:*:*:*"], vec![]),
                deny(
                    &["oss:*"],
                    &[&objects],
                    vec![cond(NotIpAddress, SourceIp, &internal)],
                ),
            ],
        ),
        doc(
            "AssumeTeamRoles",
            vec![
                allow(
                    &["sts:AssumeRole"],
                    &[
                        &role(&format!("{team}-deployer")),
                        &role(&format!("{team}-reader")),
                    ],
                    vec![],
                ),
                deny(&["sts:AssumeRole"], &["acs:ram::*:role/admin*"], vec![]),
                allow(&["sts:GetCallerIdentity"], &["*"], vec![]),
                allow(
                    &["ram:GetRole", "ram:ListRoles"],
                    &[&format!("acs:ram::{ACCOUNT}:role/*")],
                    vec![],
                ),
                deny(
                    &[
                        "ram:Create*",
                        "ram:Delete*",
                        "ram:Update*",
                        "ram:Attach*",
                        "ram:Detach*",
                    ],
                    &["*"],
                    vec![],
                ),
            ],
        ),
        doc(
            "TeamRegistryWrite",
            vec![
                allow(
                    &["cr:PushRepository"],
                    &[&team_repos],
                    vec![
                        cond(IpAddress, SourceIp, &["10.0.0.0/8"]),
                        cond(Bool, SecureTransport, &["true"]),
                    ],
                ),
                allow(
                    &["cr:CreateRepository", "cr:UpdateRepository"],
                    &[&team_repos],
                    vec![cond(DateLessThan, CurrentTime, &until)],
                ),
                deny(
                    &["cr:PushRepository"],
                    &[&release],
                    vec![cond(StringNotLike, SourceVpc, &["vpc-build*"])],
                ),
                allow(
                    &[
                        "cr:ListRepositoryTag",
                        "cr:GetRepositoryTag",
                        "cr:DeleteRepositoryTag",
                    ],
                    &[&team_repos],
                    vec![],
                ),
                allow(&["cr:GetInstance*", "cr:ListInstance*"], &[&home], vec![]),
            ],
        ),
        doc(
            "Monitoring",
            vec![
                allow(
                    &["cms:QueryMetricLast", "cms:QueryMetricList"],
                    &["*"],
                    vec![],
                ),
                allow(&["cms:Describe*"], &["*"], vec![]),
                allow(
                    &["log:GetLogStoreLogs", "log:ListLogStores"],
                    &[&log_stores],
                    vec![],
                ),
                deny(&["log:DeleteProject", "log:DeleteLogStore"], &["*"], vec![]),
                allow(
                    &["arms:Get*", "arms:List*"],
                    &["*"],
                    vec![cond(DateLessThan, CurrentTime, &until)],
                ),
            ],
        ),
        doc(
            "ComputeOperator",
            vec![
                allow(&["ecs:Describe*"], &["*"], vec![]),
                allow(&["vpc:Describe*"], &["*"], vec![]),
                deny(
                    &["ecs:DeleteInstance"],
                    &[&format!("acs:ecs:*:{ACCOUNT}:instance/*")],
                    vec![],
                ),
                allow(
                    &["ecs:StartInstance", "ecs:StopInstance"],
                    &[&format!("acs:ecs:cn-hangzhou:{ACCOUNT}:instance/*")],
                    vec![cond(IpAddress, SourceIp, &["10.0.0.0/8"])],
                ),
                allow(&["slb:Describe*"], &["*"], vec![]),
            ],
        ),
        doc(
            "CiPipeline",
            vec![
                allow(
                    &["cr:PullRepository"],
                    &[
                        &repo("cn-hangzhou", "base/*"),
                        &repo("cn-hangzhou", "mirror/*"),
                    ],
                    vec![cond(StringLike, SourceVpc, &["vpc-build*", "vpc-ci*"])],
                ),
                allow(
                    &["cr:PushRepository"],
                    &[&repo("cn-hangzhou", "ci-cache/*")],
                    vec![cond(StringLike, SourceVpc, &["vpc-build*"])],
                ),
                deny(
                    &["cr:PushRepository", "cr:DeleteRepository"],
                    &[&repo("cn-hangzhou", "base/*")],
                    vec![],
                ),
                allow(
                    &["cr:CreateRepository"],
                    &[&repo("cn-hangzhou", "ci-cache/*")],
                    vec![],
                ),
                allow(
                    &["cr:GetRepository", "cr:ListRepositoryTag"],
                    &[&repo("cn-hangzhou", "base/*")],
                    vec![],
                ),
            ],
        ),
        doc(
            "FunctionDeveloper",
            vec![
                allow(&["fc:Get*", "fc:List*"], &[&fc_services], vec![]),
                allow(
                    &["fc:InvokeFunction"],
                    &[&fc_functions],
                    vec![cond(DateLessThan, CurrentTime, &until)],
                ),
                deny(&["fc:DeleteService", "fc:DeleteFunction"], &["*"], vec![]),
                allow(
                    &["fc:UpdateFunction", "fc:CreateFunction"],
                    &[&fc_functions],
                    vec![cond(IpAddress, SourceIp, &["10.0.0.0/8"])],
                ),
                allow(&["ram:PassRole"], &[&role("aliyunfcdefaultrole")], vec![]),
            ],
        ),
        doc(
            "RegistryGuardrails",
            vec![
                deny(
                    &["cr:*"],
                    &["*"],
                    vec![cond(
                        NotIpAddress,
                        SourceIp,
                        &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                    )],
                ),
                deny(
                    &["cr:*"],
                    &["*"],
                    vec![cond(Bool, SecureTransport, &["false"])],
                ),
                deny(&["cr:DeleteInstance", "cr:UpdateInstance*"], &["*"], vec![]),
                deny(&["cr:Delete*"], &[&release], vec![]),
                deny(
                    &["cr:PushRepository"],
                    &["*"],
                    vec![
                        cond(
                            DateGreaterThanEquals,
                            CurrentTime,
                            &["2026-12-24T00:00:00Z"],
                        ),
                        cond(DateLessThan, CurrentTime, &["2027-01-02T00:00:00Z"]),
                    ],
                ),
            ],
        ),
        doc(
            "TeamRegistryRead",
            vec![
                allow(
                    &["cr:GetRepository", "cr:ListRepository*"],
                    &[&team_repos_any_region],
                    vec![],
                ),
                deny(&["cr:PullRepository"], &[&quarantine], vec![]),
                allow(&["cr:ListInstance*", "cr:GetInstance*"], &[&home], vec![]),
                allow(&["cr:GetAuthorizationToken"], &[&home], vec![]),
                allow(
                    &["cr:PullRepository"],
                    &[&team_repos],
                    vec![
                        cond(IpAddress, SourceIp, &internal),
                        cond(DateLessThan, CurrentTime, &until),
                        cond(Bool, SecureTransport, &["true"]),
                        cond(StringEquals, PrincipalAccount, &[ACCOUNT]),
                    ],
                ),
            ],
        ),
    ]
}

/// The `Policy` parameter of an AssumeRole call: the session may only read
/// the team's repositories, and never push.
pub fn session_policy(team: &str) -> Doc {
    doc(
        "session",
        vec![
            allow(
                &[
                    "cr:PullRepository",
                    "cr:GetRepository",
                    "cr:ListRepositoryTag",
                ],
                &[&repo("cn-hangzhou", &format!("{team}/*"))],
                vec![],
            ),
            allow(&["cr:GetAuthorizationToken"], &["*"], vec![]),
            deny(&["cr:Push*", "cr:Delete*"], &["*"], vec![]),
        ],
    )
}

/// Every concrete action the fixtures and requests mention: the catalogue
/// a deployment's schema would list. Cedar's action groups (`cr:Get*`) are
/// built from it.
pub const ACTIONS: &[&str] = &[
    "cr:GetAuthorizationToken",
    "cr:ListInstanceEndpoint",
    "cr:PullRepository",
    "cr:PushRepository",
    "cr:GetRepository",
    "cr:ListRepository",
    "cr:ListRepositoryTag",
    "cr:GetRepositoryTag",
    "cr:DeleteRepositoryTag",
    "cr:DeleteRepository",
    "cr:CreateRepository",
    "cr:UpdateRepository",
    "cr:GetInstance",
    "cr:ListInstance",
    "cr:GetInstanceVpcEndpoint",
    "cr:DeleteInstance",
    "cr:UpdateInstanceEndpointStatus",
    "cr:CreateNamespace",
    "oss:GetObject",
    "oss:PutObject",
    "oss:DeleteObject",
    "oss:ListObjects",
    "oss:AbortMultipartUpload",
    "oss:DeleteBucket",
    "oss:PutBucketAcl",
    "oss:GetBucketAcl",
    "oss:ListBuckets",
    "sts:AssumeRole",
    "sts:GetCallerIdentity",
    "ram:GetRole",
    "ram:ListRoles",
    "ram:CreateRole",
    "ram:DeleteRole",
    "ram:UpdateRole",
    "ram:AttachPolicyToRole",
    "ram:PassRole",
    "ram:ListUsers",
    "cms:QueryMetricLast",
    "cms:QueryMetricList",
    "cms:DescribeMetricList",
    "log:GetLogStoreLogs",
    "log:ListLogStores",
    "log:DeleteProject",
    "log:DeleteLogStore",
    "arms:GetTrace",
    "arms:ListTraceApps",
    "ecs:DescribeInstances",
    "ecs:DeleteInstance",
    "ecs:StopInstance",
    "ecs:StartInstance",
    "vpc:DescribeVpcs",
    "slb:DescribeLoadBalancers",
    "fc:GetService",
    "fc:ListServices",
    "fc:InvokeFunction",
    "fc:DeleteService",
    "fc:DeleteFunction",
    "fc:UpdateFunction",
    "fc:CreateFunction",
];

/// Condition-key values of one request, typed once here and written into
/// each engine's own context form.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    pub source_ip: Option<String>,
    pub current_time: Option<String>,
    pub secure_transport: Option<bool>,
    pub source_vpc: Option<String>,
    pub principal_account: Option<String>,
    /// Keys rampart fills in that no fixture tests: they make the context
    /// as large as a real request's.
    pub access_id: Option<String>,
    pub principal_arn: Option<String>,
}

impl Ctx {
    /// A request from inside the company network over TLS, in June 2026.
    pub fn internal() -> Ctx {
        Ctx {
            source_ip: Some("10.1.2.3".into()),
            current_time: Some("2026-06-01T12:00:00Z".into()),
            secure_transport: Some(true),
            source_vpc: Some("vpc-app-01".into()),
            principal_account: Some(ACCOUNT.into()),
            access_id: Some("LTAI5tExampleAccessKey01".into()),
            principal_arn: Some(format!("acs:ram::{ACCOUNT}:user/alice")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Req {
    pub name: String,
    pub action: String,
    /// The resource, then the resources enclosing it (a repository, then
    /// its instance). At most two.
    pub resources: Vec<String>,
    pub ctx: Ctx,
}

impl Req {
    pub fn new(name: &str, action: &str, resources: &[&str], ctx: Ctx) -> Req {
        Req {
            name: name.to_string(),
            action: action.to_string(),
            resources: strings(resources),
            ctx,
        }
    }

    /// A stable text naming the resources, for Cedar entity ids.
    pub fn resource_key(&self) -> String {
        let mut key = String::new();
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                key.push(' ');
            }
            let _ = write!(key, "{r}");
        }
        key
    }
}

/// The requests the `decision` group measures, for the principal of `team`.
pub fn benchmarked_requests(team: &str) -> Vec<Req> {
    let home = instance("cn-hangzhou", INSTANCE);
    vec![
        // Allowed by the last statement of the last policy, after every
        // `cr` Deny has been checked and found not to apply.
        Req::new(
            "allow_late",
            "cr:PullRepository",
            &[&repo("cn-hangzhou", &format!("{team}/app")), &home],
            Ctx::internal(),
        ),
        // Denied by a guardrail: deleting a release repository.
        Req::new(
            "explicit_deny",
            "cr:DeleteRepository",
            &[&repo("cn-hangzhou", &format!("{team}/release-2026")), &home],
            Ctx::internal(),
        ),
        // No statement allows pushing to another team's repository; every
        // `cr` statement is examined.
        Req::new(
            "implicit_deny",
            "cr:PushRepository",
            &[&repo("cn-hangzhou", "other-team/app"), &home],
            Ctx::internal(),
        ),
        Req::new(
            "assume_role",
            "sts:AssumeRole",
            &[&role(&format!("{team}-deployer"))],
            Ctx::internal(),
        ),
    ]
}

/// The request the session-policy case measures (two layers).
pub fn session_request(team: &str) -> Req {
    Req::new(
        "session_allow",
        "cr:PullRepository",
        &[
            &repo("cn-hangzhou", &format!("{team}/app")),
            &instance("cn-hangzhou", INSTANCE),
        ],
        Ctx::internal(),
    )
}

/// A permission policy just under the 6,144-character limit, made of the
/// fixture statements of several teams, pretty-printed as people write.
pub fn large_policy_text() -> String {
    let limit = policy::PolicyKind::Permission.max_chars();
    let mut chosen: Vec<Stmt> = Vec::new();
    let mut text = String::new();
    // Take statements in order while they fit, then keep trying the
    // rest so smaller ones fill the remaining space.
    for team in ["alpha", "beta", "gamma", "delta", "epsilon"] {
        for d in principal_policies(team) {
            for s in d.statements {
                chosen.push(s);
                let candidate = crate::ram::document_json(&chosen);
                if candidate.chars().count() < limit {
                    text = candidate;
                } else {
                    chosen.pop();
                }
            }
        }
    }
    text
}

/// Case-insensitive (ASCII) wildcard match with `*` only; written
/// independently of rampart's matcher so Cedar's action groups are not
/// derived from the engine under test.
pub fn action_glob(pattern: &str, text: &str) -> bool {
    let p: Vec<u8> = pattern.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let t: Vec<u8> = text.bytes().map(|b| b.to_ascii_lowercase()).collect();
    glob(&p, &t)
}

fn glob(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => (0..=t.len()).any(|i| glob(rest, &t[i..])),
        Some((c, rest)) => t
            .split_first()
            .is_some_and(|(d, tail)| c == d && glob(rest, tail)),
    }
}
