//! Policy documents: reading the JSON, checking every element, and
//! building the compiled statements the evaluator runs.
//!
//! Every problem is reported, not just the first, each with the statement
//! index, the element path, the line and column, and what was expected.

use std::fmt;

use crate::arn::{self, Entity};
use crate::condition::{self, Condition, Operator};
use crate::json::{self, Member, Position, Span, Spanned, Value};
use crate::pattern::{Case, Pattern};

/// Which rules a document is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to users, groups and roles; needs `Resource`, forbids `Principal`.
    Permission,
    /// The `Policy` parameter of AssumeRole: a permission policy of at most
    /// 2048 characters.
    Session,
    /// A role's trust policy: needs `Principal`, has no `Resource`.
    Trust,
}

impl PolicyKind {
    /// Maximum characters in a document of this kind.
    pub fn max_chars(self) -> usize {
        match self {
            PolicyKind::Permission | PolicyKind::Trust => 6144,
            PolicyKind::Session => 2048,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// `Action` or `NotAction`, `Resource` or `NotResource`: a list of
/// patterns, possibly inverted.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternList {
    pub negated: bool,
    pub patterns: Vec<Pattern>,
}

impl PatternList {
    pub fn matches(&self, value: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(value)) != self.negated
    }

    /// For a request that names several resources (a resource and what
    /// encloses it): `Resource` holds when any of them is listed;
    /// `NotResource` is its exact complement, holding only when none is.
    pub fn matches_any(&self, values: &[&str]) -> bool {
        let listed = values
            .iter()
            .any(|v| self.patterns.iter().any(|p| p.matches(v)));
        listed != self.negated
    }
}

/// Who a trust statement names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Principal {
    /// `"Principal": "*"`: anyone who is authenticated.
    pub anyone: bool,
    /// `RAM`: root, user and role ARNs (role names lower-cased).
    pub ram: Vec<Pattern>,
    /// `Service`: `svc.aliyuncs.com` or `ACCOUNT@svc.aliyuncs.com`, lower-cased.
    pub service: Vec<String>,
    /// `Federated`: identity-provider ARNs.
    pub federated: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub action: PatternList,
    /// Absent only in trust policies.
    pub resource: Option<PatternList>,
    pub principal: Option<Principal>,
    pub conditions: Vec<Condition>,
}

/// A checked, compiled policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub statements: Vec<Statement>,
    /// Things that are valid but probably not what the author meant
    /// (an `acs:` condition key rampart does not know, for instance).
    pub warnings: Vec<Problem>,
}

/// One problem in a document, located precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Zero-based statement index, when the problem is inside one.
    pub statement: Option<usize>,
    /// Path of the element, e.g. `Statement[1].Condition.IpAddress.acs:SourceIp[0]`.
    pub element: String,
    pub position: Position,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.element.is_empty() {
            write!(f, "{}: {}", self.position, self.message)
        } else {
            write!(f, "{}: {}: {}", self.position, self.element, self.message)
        }
    }
}

/// All the problems found in a rejected document (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for p in &self.problems {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

impl Policy {
    /// Reads and checks a document, compiling it for evaluation.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let mut checker = Checker {
            text,
            problems: Vec::new(),
            warnings: Vec::new(),
            statement: None,
            kind,
        };
        let limit = kind.max_chars();
        if let Some((offset, _)) = text.char_indices().nth(limit) {
            checker.problem(
                Span { offset },
                "",
                format!("the document is longer than {limit} characters"),
            );
            return Err(checker.finish_err());
        }
        let doc = match json::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                checker.problem(e.span, "", format!("invalid JSON: {}", e.message));
                return Err(checker.finish_err());
            }
        };
        let statements = checker.document(&doc);
        if checker.problems.is_empty() {
            Ok(Policy {
                kind,
                statements,
                warnings: checker.warnings,
            })
        } else {
            Err(checker.finish_err())
        }
    }
}

struct Checker<'t> {
    text: &'t str,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    statement: Option<usize>,
    kind: PolicyKind,
}

const STATEMENT_ELEMENTS: &str =
    "Sid, Effect, Action, NotAction, Resource, NotResource, Principal, Condition";

impl Checker<'_> {
    fn located(&self, span: Span, element: &str, message: String) -> Problem {
        Problem {
            statement: self.statement,
            element: element.to_string(),
            position: Position::of(self.text, span),
            message,
        }
    }

    fn problem(&mut self, span: Span, element: &str, message: String) {
        let p = self.located(span, element, message);
        self.problems.push(p);
    }

    fn warning(&mut self, span: Span, element: &str, message: String) {
        let p = self.located(span, element, message);
        self.warnings.push(p);
    }

    fn finish_err(self) -> PolicyError {
        PolicyError {
            problems: self.problems,
        }
    }

    fn document(&mut self, doc: &Spanned) -> Vec<Statement> {
        let Value::Object(members) = &doc.value else {
            self.problem(
                doc.span,
                "",
                format!("expected a JSON object, got {}", doc.value.kind()),
            );
            return Vec::new();
        };
        let mut version = None;
        let mut statement = None;
        for m in members {
            match m.key.as_str() {
                "Version" => version = Some(m),
                "Statement" => statement = Some(m),
                "Id" => {}
                other => self.problem(
                    m.key_span,
                    other,
                    "unknown element; a policy has Version and Statement".to_string(),
                ),
            }
        }
        match version {
            None => self.problem(
                doc.span,
                "Version",
                "missing; expected \"Version\": \"1\"".into(),
            ),
            Some(m) if m.value.value != Value::String("1".into()) => self.problem(
                m.value.span,
                "Version",
                format!("expected \"1\", got {}", describe(&m.value.value)),
            ),
            Some(_) => {}
        }
        let Some(statement) = statement else {
            self.problem(
                doc.span,
                "Statement",
                "missing; expected a list of statements".into(),
            );
            return Vec::new();
        };
        let items: Vec<&Spanned> = match &statement.value.value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![&statement.value],
            other => {
                self.problem(
                    statement.value.span,
                    "Statement",
                    format!("expected a list of statement objects, got {}", other.kind()),
                );
                return Vec::new();
            }
        };
        if items.is_empty() {
            self.problem(
                statement.value.span,
                "Statement",
                "expected at least one statement".into(),
            );
        }
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            self.statement = Some(index);
            if let Some(s) = self.statement_at(index, item) {
                out.push(s);
            }
        }
        self.statement = None;
        out
    }

    fn statement_at(&mut self, index: usize, item: &Spanned) -> Option<Statement> {
        let path = format!("Statement[{index}]");
        let Value::Object(members) = &item.value else {
            self.problem(
                item.span,
                &path,
                format!("expected an object, got {}", item.value.kind()),
            );
            return None;
        };
        let find = |name: &str| members.iter().find(|m| m.key == name);
        for m in members {
            if !STATEMENT_ELEMENTS.split(", ").any(|e| e == m.key) {
                self.problem(
                    m.key_span,
                    &format!("{path}.{}", m.key),
                    format!("unknown element; expected one of {STATEMENT_ELEMENTS} (names are case-sensitive)"),
                );
            }
        }
        let problems_before = self.problems.len();

        let sid = find("Sid").and_then(|m| match &m.value.value {
            Value::String(s) => Some(s.clone()),
            other => {
                self.problem(
                    m.value.span,
                    &format!("{path}.Sid"),
                    format!("expected a string, got {}", other.kind()),
                );
                None
            }
        });

        let effect = match find("Effect") {
            None => {
                self.problem(
                    item.span,
                    &format!("{path}.Effect"),
                    "missing; expected \"Allow\" or \"Deny\"".into(),
                );
                None
            }
            Some(m) => match &m.value.value {
                Value::String(s) if s == "Allow" => Some(Effect::Allow),
                Value::String(s) if s == "Deny" => Some(Effect::Deny),
                other => {
                    self.problem(
                        m.value.span,
                        &format!("{path}.Effect"),
                        format!(
                            "expected \"Allow\" or \"Deny\" (case-sensitive), got {}",
                            describe(other)
                        ),
                    );
                    None
                }
            },
        };

        let action = self
            .either(
                item,
                &path,
                find("Action"),
                find("NotAction"),
                "Action",
                true,
            )
            .map(|(negated, values)| PatternList {
                negated,
                patterns: values
                    .iter()
                    .filter_map(|(text, span, element)| self.action_pattern(text, *span, element))
                    .collect(),
            });

        let resource_required = self.kind != PolicyKind::Trust;
        let resource = if resource_required {
            self.either(
                item,
                &path,
                find("Resource"),
                find("NotResource"),
                "Resource",
                true,
            )
            .map(|(negated, values)| PatternList {
                negated,
                patterns: values
                    .iter()
                    .filter_map(|(text, span, element)| self.resource_pattern(text, *span, element))
                    .collect(),
            })
        } else {
            for name in ["Resource", "NotResource"] {
                if let Some(m) = find(name) {
                    self.problem(
                        m.key_span,
                        &format!("{path}.{name}"),
                        "a trust policy names principals, not resources; remove this element"
                            .into(),
                    );
                }
            }
            None
        };

        let principal = match (find("Principal"), self.kind) {
            (Some(m), PolicyKind::Trust) => self.principal(&format!("{path}.Principal"), &m.value),
            (None, PolicyKind::Trust) => {
                self.problem(item.span, &format!("{path}.Principal"), "missing; a trust policy statement must name a Principal (RAM, Service or Federated)".into());
                None
            }
            (Some(m), _) => {
                self.problem(
                    m.key_span,
                    &format!("{path}.Principal"),
                    "only trust policies name a Principal; a permission policy applies to whoever it is attached to".into(),
                );
                None
            }
            (None, _) => None,
        };

        let conditions = match find("Condition") {
            Some(m) => self.conditions(&format!("{path}.Condition"), &m.value),
            None => Vec::new(),
        };

        if self.problems.len() != problems_before {
            return None;
        }
        Some(Statement {
            sid,
            effect: effect?,
            action: action?,
            resource,
            principal,
            conditions,
        })
    }

    /// Reads `Name` or `NotName` (exactly one), as a string or a non-empty
    /// list of strings. Returns whether the `Not` form was used.
    #[allow(clippy::type_complexity)]
    fn either(
        &mut self,
        item: &Spanned,
        path: &str,
        plain: Option<&Member>,
        not: Option<&Member>,
        name: &str,
        required: bool,
    ) -> Option<(bool, Vec<(String, Span, String)>)> {
        let (negated, member) = match (plain, not) {
            (Some(_), Some(n)) => {
                self.problem(
                    n.key_span,
                    &format!("{path}.Not{name}"),
                    format!("a statement has {name} or Not{name}, not both"),
                );
                return None;
            }
            (Some(m), None) => (false, m),
            (None, Some(m)) => (true, m),
            (None, None) => {
                if required {
                    self.problem(
                        item.span,
                        &format!("{path}.{name}"),
                        format!("missing; expected {name} or Not{name}"),
                    );
                }
                return None;
            }
        };
        let element = format!("{path}.{}", member.key);
        self.strings(&element, &member.value).map(|v| (negated, v))
    }

    /// A string, or a non-empty list of strings; each with its span and path.
    fn strings(&mut self, element: &str, value: &Spanned) -> Option<Vec<(String, Span, String)>> {
        match &value.value {
            Value::String(s) => Some(vec![(s.clone(), value.span, element.to_string())]),
            Value::Array(items) if items.is_empty() => {
                self.problem(
                    value.span,
                    element,
                    "expected at least one value, got an empty list".into(),
                );
                None
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, it) in items.iter().enumerate() {
                    match &it.value {
                        Value::String(s) => {
                            out.push((s.clone(), it.span, format!("{element}[{i}]")))
                        }
                        other => {
                            ok = false;
                            self.problem(
                                it.span,
                                &format!("{element}[{i}]"),
                                format!("expected a string, got {}", other.kind()),
                            );
                        }
                    }
                }
                ok.then_some(out)
            }
            other => {
                self.problem(
                    value.span,
                    element,
                    format!(
                        "expected a string or a list of strings, got {}",
                        other.kind()
                    ),
                );
                None
            }
        }
    }

    fn action_pattern(&mut self, text: &str, span: Span, element: &str) -> Option<Pattern> {
        if text == "*" {
            return Some(Pattern::new(text, Case::Insensitive));
        }
        let shape_ok = match text.split_once(':') {
            Some((service, name)) => {
                !service.is_empty()
                    && !name.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'*' | b'?'))
                    && name.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*' | b'?')
                    })
            }
            None => false,
        };
        if shape_ok {
            Some(Pattern::new(text, Case::Insensitive))
        } else {
            self.problem(
                span,
                element,
                format!("\"{text}\" is not an action; expected \"*\" or SERVICE:ACTION such as \"cr:PullRepository\" (wildcards * and ? allowed)"),
            );
            None
        }
    }

    fn resource_pattern(&mut self, text: &str, span: Span, element: &str) -> Option<Pattern> {
        match arn::check_pattern(text) {
            Ok(()) => Some(Pattern::new(&arn::canonical(text), Case::Sensitive)),
            Err(e) => {
                self.problem(
                    span,
                    element,
                    format!("{e}; expected \"*\" or acs:SERVICE:REGION:ACCOUNT:RESOURCE"),
                );
                None
            }
        }
    }

    fn principal(&mut self, path: &str, value: &Spanned) -> Option<Principal> {
        let mut principal = Principal::default();
        match &value.value {
            Value::String(s) if s == "*" => {
                principal.anyone = true;
                return Some(principal);
            }
            Value::Object(members) => {
                if members.is_empty() {
                    self.problem(
                        value.span,
                        path,
                        "expected at least one of RAM, Service, Federated".into(),
                    );
                }
                for m in members {
                    let element = format!("{path}.{}", m.key);
                    let Some(values) = self.strings(&element, &m.value) else {
                        continue;
                    };
                    for (text, span, element) in values {
                        match m.key.as_str() {
                            "RAM" => {
                                if let Some(p) = self.ram_principal(&text, span, &element) {
                                    principal.ram.push(p);
                                }
                            }
                            "Service" => {
                                if let Some(s) = self.service_principal(&text, span, &element) {
                                    principal.service.push(s);
                                }
                            }
                            "Federated" => match arn::Arn::parse(&text) {
                                Ok(a) if a.resource.starts_with("saml-provider/") || a.resource.starts_with("oidc-provider/") => {
                                    principal.federated.push(Pattern::new(&text, Case::Sensitive));
                                }
                                _ => self.problem(
                                    span,
                                    &element,
                                    format!("\"{text}\" is not an identity provider; expected acs:ram::ACCOUNT:saml-provider/NAME or acs:ram::ACCOUNT:oidc-provider/NAME"),
                                ),
                            },
                            _ => {}
                        }
                    }
                    if !matches!(m.key.as_str(), "RAM" | "Service" | "Federated") {
                        self.problem(
                            m.key_span,
                            &element,
                            "unknown principal type; expected RAM, Service or Federated".into(),
                        );
                    }
                }
            }
            other => {
                self.problem(
                    value.span,
                    path,
                    format!(
                        "expected \"*\" or an object with RAM, Service or Federated, got {}",
                        describe(other)
                    ),
                );
                return None;
            }
        }
        Some(principal)
    }

    fn ram_principal(&mut self, text: &str, span: Span, element: &str) -> Option<Pattern> {
        if text == "*" {
            return Some(Pattern::new(text, Case::Sensitive));
        }
        match Entity::parse(text) {
            Ok(Entity::Root { .. } | Entity::User { .. } | Entity::Role { .. }) => {
                Some(Pattern::new(&arn::canonical(text), Case::Sensitive))
            }
            Ok(_) => {
                self.problem(span, element, format!("\"{text}\" cannot be trusted; expected acs:ram::ACCOUNT:root, acs:ram::ACCOUNT:user/NAME or acs:ram::ACCOUNT:role/NAME"));
                None
            }
            Err(e) => {
                self.problem(span, element, format!("{e}; expected acs:ram::ACCOUNT:root, acs:ram::ACCOUNT:user/NAME or acs:ram::ACCOUNT:role/NAME"));
                None
            }
        }
    }

    fn service_principal(&mut self, text: &str, span: Span, element: &str) -> Option<String> {
        let (account, name) = match text.split_once('@') {
            Some((a, n)) => (Some(a), n),
            None => (None, text),
        };
        let name_ok = name.contains('.')
            && !name.starts_with('.')
            && !name.ends_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
        let account_ok = account
            .is_none_or(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit() || b == b'*'));
        if name_ok && account_ok {
            Some(text.to_ascii_lowercase())
        } else {
            self.problem(span, element, format!("\"{text}\" is not a service principal; expected SERVICE.aliyuncs.com or ACCOUNT@SERVICE.aliyuncs.com"));
            None
        }
    }

    fn conditions(&mut self, path: &str, value: &Spanned) -> Vec<Condition> {
        let Value::Object(blocks) = &value.value else {
            self.problem(
                value.span,
                path,
                format!(
                    "expected an object of operators, got {}",
                    value.value.kind()
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for block in blocks {
            let op_path = format!("{path}.{}", block.key);
            let Some(operator) = Operator::from_name(&block.key) else {
                self.problem(
                    block.key_span,
                    &op_path,
                    format!(
                        "unknown condition operator \"{}\": {}",
                        block.key,
                        condition::unknown_operator_hint(&block.key)
                    ),
                );
                continue;
            };
            let Value::Object(keys) = &block.value.value else {
                self.problem(
                    block.value.span,
                    &op_path,
                    format!(
                        "expected an object of condition keys, got {}",
                        block.value.value.kind()
                    ),
                );
                continue;
            };
            if keys.is_empty() {
                self.problem(
                    block.value.span,
                    &op_path,
                    "expected at least one condition key".into(),
                );
            }
            for key in keys {
                let key_path = format!("{op_path}.{}", key.key);
                if let Some(c) = self.condition(operator, &key_path, key) {
                    out.push(c);
                }
            }
        }
        out
    }

    fn condition(&mut self, operator: Operator, path: &str, key: &Member) -> Option<Condition> {
        let name = key.key.as_str();
        let well_formed = name.split_once(':').is_some_and(|(p, k)| {
            !p.is_empty() && !k.is_empty() && !p.contains(char::is_whitespace)
        });
        if !well_formed {
            self.problem(
                key.key_span,
                path,
                format!(
                    "\"{name}\" is not a condition key; expected PREFIX:NAME such as acs:SourceIp"
                ),
            );
            return None;
        }
        match condition::key_family(name) {
            Some(family) if !condition::family_fits(operator.family(), family) => {
                self.problem(
                    key.key_span,
                    path,
                    format!(
                        "{name} is a {} key and cannot be tested with {} (a {} operator)",
                        family.name(),
                        operator.name(),
                        operator.family().name()
                    ),
                );
                return None;
            }
            Some(_) => {}
            None if name
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("acs:")) =>
            {
                self.warning(key.key_span, path, format!("{name} is not a global condition key rampart knows; requests will not carry it, so the condition only holds for negated operators"));
            }
            None => {}
        }
        let items: Vec<&Spanned> = match &key.value.value {
            Value::Array(items) if items.is_empty() => {
                self.problem(
                    key.value.span,
                    path,
                    "expected at least one value, got an empty list".into(),
                );
                return None;
            }
            Value::Array(items) => items.iter().collect(),
            _ => vec![&key.value],
        };
        let mut operands = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let text = match &item.value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.clone(),
                Value::Bool(b) => b.to_string(),
                other => {
                    self.problem(
                        item.span,
                        &format!("{path}[{i}]"),
                        format!(
                            "expected a string, number or boolean value, got {}",
                            other.kind()
                        ),
                    );
                    continue;
                }
            };
            match condition::compile_operand(operator, &text) {
                Ok(op) => operands.push(op),
                Err(message) => self.problem(item.span, &format!("{path}[{i}]"), message),
            }
        }
        (operands.len() == items.len()).then(|| Condition {
            operator,
            key: name.to_ascii_lowercase(),
            operands,
        })
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        Value::Number(n) => n.clone(),
        other => other.kind().to_string(),
    }
}
