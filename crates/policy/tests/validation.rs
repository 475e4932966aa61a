//! Bad documents are rejected with the statement, the element, the line
//! and column, and what was expected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use policy::{Policy, PolicyKind, Problem};

fn problems(text: &str, kind: PolicyKind) -> Vec<Problem> {
    match Policy::parse(text, kind) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.problems,
    }
}

fn one(text: &str) -> Problem {
    let mut all = problems(text, PolicyKind::Permission);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn stmt(body: &str) -> String {
    format!("{{\n  \"Version\": \"1\",\n  \"Statement\": [\n    {{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"}},\n    {body}\n  ]\n}}")
}

#[test]
fn lower_case_effect_points_at_the_value() {
    let p = one(&stmt(
        r#"{"Effect": "allow", "Action": "cr:*", "Resource": "*"}"#,
    ));
    assert_eq!(p.statement, Some(1));
    assert_eq!(p.element, "Statement[1].Effect");
    assert_eq!((p.position.line, p.position.column), (5, 16));
    assert!(p.message.contains("\"Allow\" or \"Deny\""), "{}", p.message);
    assert!(p.message.contains("\"allow\""), "{}", p.message);
    assert!(
        p.to_string().starts_with("5:16: Statement[1].Effect: "),
        "{p}"
    );
}

#[test]
fn bad_cidr_and_date_and_number() {
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.1", "10.0.0.0/33"]}}}"#,
    ));
    assert_eq!(
        p.element,
        "Statement[1].Condition.IpAddress.acs:SourceIp[1]"
    );
    assert!(p.message.contains("10.0.0.0/33"), "{}", p.message);

    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"DateLessThan": {"acs:CurrentTime": "next tuesday"}}}"#,
    ));
    assert!(p.message.contains("ISO 8601"), "{}", p.message);

    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"NumericLessThan": {"oss:max-keys": "ten"}}}"#,
    ));
    assert!(p.message.contains("not a number"), "{}", p.message);

    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"Bool": {"acs:SecureTransport": "yes"}}}"#,
    ));
    assert!(p.message.contains("\"true\" or \"false\""), "{}", p.message);
}

#[test]
fn unknown_and_aws_only_operators() {
    for (op, hint) in [
        ("StringEqualsIfExists", "IfExists"),
        ("ForAnyValue:StringEquals", "ForAnyValue"),
        ("ForAllValues:StringLike", "ForAllValues"),
        ("Null", "Null"),
        ("ArnLike", "ArnLike"),
        ("stringEquals", "case-sensitive"),
        ("Frobnicate", "expected one of"),
    ] {
        let p = one(&stmt(&format!(
            r#"{{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {{"{op}": {{"acs:SourceVpc": "vpc-1"}}}}}}"#
        )));
        assert_eq!(p.element, format!("Statement[1].Condition.{op}"));
        assert!(p.message.contains(hint), "{op}: {}", p.message);
    }
}

#[test]
fn empty_and_malformed_actions() {
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": [], "Resource": "*"}"#,
    ));
    assert_eq!(p.element, "Statement[1].Action");
    assert!(p.message.contains("empty list"));
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": ["cr:Pull*", "PullRepository"], "Resource": "*"}"#,
    ));
    assert_eq!(p.element, "Statement[1].Action[1]");
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "", "Resource": "*"}"#,
    ));
    assert!(p.message.contains("not an action"));
    let p = one(&stmt(r#"{"Effect": "Allow", "Resource": "*"}"#));
    assert!(p.message.contains("Action or NotAction"));
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "a:b", "NotAction": "c:d", "Resource": "*"}"#,
    ));
    assert!(p.message.contains("not both"));
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": 7, "Resource": "*"}"#,
    ));
    assert!(p.message.contains("got a number"));
}

#[test]
fn resources_with_the_wrong_shape() {
    for (bad, needle) in [
        ("arn:aws:s3:::bucket", "acs:"),
        ("acs:cr:cn-hangzhou:111", "five parts"),
        ("acs:cr:cn-hangzhou:abc:instance/x", "account"),
        ("acs::cn-hangzhou:111:instance/x", "service"),
        ("acs:cr:cn-hangzhou:111:", "resource part"),
    ] {
        let p = one(&stmt(&format!(
            r#"{{"Effect": "Allow", "Action": "cr:*", "Resource": ["*", "{bad}"]}}"#
        )));
        assert_eq!(p.element, "Statement[1].Resource[1]");
        assert!(p.message.contains(needle), "{bad}: {}", p.message);
    }
    let p = one(&stmt(r#"{"Effect": "Allow", "Action": "cr:*"}"#));
    assert!(p.message.contains("Resource or NotResource"));
}

#[test]
fn document_level_problems() {
    let p = one(r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#);
    assert_eq!(p.element, "Version");
    let p = one(
        r#"{"Version": "2", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    );
    assert!(p.message.contains("\"1\""));
    let p = one(r#"{"Version": "1"}"#);
    assert_eq!(p.element, "Statement");
    let p = one(r#"{"Version": "1", "Statement": []}"#);
    assert!(p.message.contains("at least one"));
    let p = one(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Resources": "*"}]}"#,
    );
    assert_eq!(p.element, "Statement[0].Resources");
    let p = one("[1, 2]");
    assert!(p.message.contains("object"));
    let p = one("{\"Version\": \"1\",\n \"Statement\": [}");
    assert!(p.message.starts_with("invalid JSON"));
    assert_eq!((p.position.line, p.position.column), (2, 16));
    let p = one("");
    assert!(p.message.starts_with("invalid JSON"));
}

#[test]
fn every_problem_is_reported() {
    let all = problems(
        r#"{"Version": "1", "Statement": [
            {"Effect": "allow", "Action": [], "Resource": "bucket"},
            {"Effect": "Allow", "Action": "x", "Resource": "*", "Condition": {"IpAddress": {"acs:SourceIp": "1.2.3.4/40"}}}
        ]}"#,
        PolicyKind::Permission,
    );
    let elements: Vec<&str> = all.iter().map(|p| p.element.as_str()).collect();
    assert_eq!(
        elements,
        [
            "Statement[0].Effect",
            "Statement[0].Action",
            "Statement[0].Resource",
            "Statement[1].Action",
            "Statement[1].Condition.IpAddress.acs:SourceIp[0]"
        ]
    );
}

#[test]
fn size_limits() {
    let filler = "x".repeat(6144);
    let big = format!(
        r#"{{"Version": "1", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "acs:oss:*:*:{filler}"}}]}}"#
    );
    let p = one(&big);
    assert!(p.message.contains("6144"));
    let medium = format!(
        r#"{{"Version": "1", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "acs:oss:*:*:{}"}}]}}"#,
        "x".repeat(3000)
    );
    assert!(Policy::parse(&medium, PolicyKind::Permission).is_ok());
    let p = &problems(&medium, PolicyKind::Session)[0];
    assert!(p.message.contains("2048"));
    // Characters, not bytes: 3000 two-byte characters are within 6144.
    let wide = format!(
        r#"{{"Version": "1", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "acs:oss:*:*:{}"}}]}}"#,
        "é".repeat(3000)
    );
    assert!(Policy::parse(&wide, PolicyKind::Permission).is_ok());
}

#[test]
fn permissive_forms_alibaba_accepts() {
    for ok in [
        // A single statement object instead of a list.
        r#"{"Version": "1", "Statement": {"Effect": "Allow", "Action": "cr:*", "Resource": "*"}}"#,
        // Sid, empty Condition, numbers and booleans as condition values.
        r#"{"Version": "1", "Statement": [{"Sid": "s1", "Effect": "Deny", "Action": ["cr:*"], "Resource": ["*"], "Condition": {}}]}"#,
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*", "Condition": {"NumericLessThan": {"oss:max-keys": 100}, "Bool": {"acs:SecureTransport": true}}}]}"#,
        // Unknown service keys are fine.
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*", "Condition": {"StringLike": {"oss:Prefix": ["a/*"]}}}]}"#,
        // NotAction and NotResource.
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "NotAction": ["ram:*"], "NotResource": "acs:ram:*:*:*"}]}"#,
        // Every global key with a fitting operator.
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
            "DateGreaterThan": {"acs:CurrentTime": "2019-08-12T17:00:00+08:00"},
            "Bool": {"acs:SecureTransport": "true", "acs:MFAPresent": "false"},
            "IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.168.0.1"]},
            "StringLike": {"acs:SourceVpc": "vpc-*", "acs:PrincipalARN": "acs:ram:*:*:role/a-*", "acs:AccessId": "STS.*"},
            "StringEquals": {"acs:ResourceTag/team": "dev", "acs:RequestTag/env": "prod", "acs:Service": "fc.aliyuncs.com", "acs:PrincipalAccount": "1111111111111111", "sts:ExternalId": "abc"}
        }}]}"#,
    ] {
        if let Err(e) = Policy::parse(ok, PolicyKind::Permission) {
            panic!("{ok}\n{e}");
        }
    }
}

#[test]
fn key_types_are_checked() {
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"StringEquals": {"acs:SourceIp": "10.0.0.1"}}}"#,
    ));
    assert!(p.message.contains("IP address key"), "{}", p.message);
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"IpAddress": {"acs:CurrentTime": "10.0.0.1"}}}"#,
    ));
    assert!(p.message.contains("date key"), "{}", p.message);
    let p = one(&stmt(
        r#"{"Effect": "Allow", "Action": "cr:*", "Resource": "*", "Condition": {"StringEquals": {"SourceIp": "x"}}}"#,
    ));
    assert!(p.message.contains("PREFIX:NAME"), "{}", p.message);
    // An unknown acs: key is a warning, not an error.
    let ok = Policy::parse(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"acs:Colour": "blue"}}}]}"#,
        PolicyKind::Permission,
    )
    .unwrap();
    assert_eq!(ok.warnings.len(), 1);
    assert!(ok.warnings[0].message.contains("acs:Colour"));
}

#[test]
fn trust_policy_rules() {
    let ok = Policy::parse(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::1111111111111111:root", "Service": ["eci.aliyuncs.com", "2222222222222222@sae.aliyuncs.com"], "Federated": "acs:ram::1111111111111111:saml-provider/idp"}}]}"#,
        PolicyKind::Trust,
    );
    assert!(ok.is_ok(), "{ok:?}");
    let all = problems(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*", "Principal": {"RAM": ["acs:ram::1111111111111111:group/g", "root"], "Service": "not a service", "Robot": "x"}}]}"#,
        PolicyKind::Trust,
    );
    let elements: Vec<&str> = all.iter().map(|p| p.element.as_str()).collect();
    assert_eq!(
        elements,
        [
            "Statement[0].Resource",
            "Statement[0].Principal.RAM[0]",
            "Statement[0].Principal.RAM[1]",
            "Statement[0].Principal.Service",
            "Statement[0].Principal.Robot",
        ]
    );
    let p = &problems(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}"#,
        PolicyKind::Trust,
    )[0];
    assert!(p.message.contains("Principal"));
    let p = &problems(
        r#"{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}"#,
        PolicyKind::Permission,
    )[0];
    assert!(p.message.contains("only trust policies"));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let seeds = [
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        r#"{"Version":"1","Statement":{"Effect":"Deny","Action":["a:b"],"Resource":"acs:a:b:1:c","Condition":{"IpAddress":{"acs:SourceIp":"1.2.3.4/5"}}}}"#,
    ];
    for seed in seeds {
        for cut in 0..seed.len() {
            for kind in [
                PolicyKind::Permission,
                PolicyKind::Session,
                PolicyKind::Trust,
            ] {
                let _ = Policy::parse(&seed[..cut], kind);
            }
        }
    }
}
