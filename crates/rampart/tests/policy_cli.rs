//! `rampart policy validate` and `rampart policy simulate`, driven as a user
//! (or a script) drives them: through the binary, its exit codes and output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Output};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &tempdir::Dir, name: &str, text: &str) -> String {
    let path = dir.0.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

mod tempdir {
    /// A scratch folder removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let path =
                std::env::temp_dir().join(format!("rampart-cli-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const ACR_TEST: &str = r#"{
    "Version": "1",
    "Statement": [
        {"Effect": "Allow", "Action": ["cr:Get*", "cr:List*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["cr:Pull*"], "Resource": ["acs:cr:cn-hangzhou:1111111111111111:instance/cri-x"]}
    ]
}"#;

const DENY_OUTSIDE: &str = r#"{
    "Version": "1",
    "Statement": [
        {"Sid": "office-only", "Effect": "Deny", "Action": "cr:*", "Resource": "*",
         "Condition": {"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8"]}}}
    ]
}"#;

const REPO_X: &str = "acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/app";
const REPO_Y: &str = "acs:cr:cn-hangzhou:1111111111111111:repository/cri-y/team/app";

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn validate_exit_codes_and_positions() {
    let dir = tempdir::Dir::new("validate");
    let good = write(&dir, "good.json", ACR_TEST);
    let trust = write(
        &dir,
        "trust.json",
        r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["1111111111111111@sae.aliyuncs.com"]}}],"Version":"1"}"#,
    );
    let out = rampart(&["policy", "validate", &good, &trust]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = write(&dir, "bad.json", "{\n  \"Version\": \"1\",\n  \"Statement\": [\n    {\"Effect\": \"allow\", \"Action\": \"cr:*\", \"Resource\": \"*\"}\n  ]\n}\n");
    let out = rampart(&["policy", "validate", &good, &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{bad}:4:16: Statement[0].Effect: expected \"Allow\" or \"Deny\""
        )),
        "{stderr}"
    );

    let out = rampart(&[
        "policy",
        "validate",
        &dir.0.join("missing.json").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn simulate_names_the_deciding_statement() {
    let dir = tempdir::Dir::new("simulate");
    let acr = write(&dir, "acr-test.json", ACR_TEST);
    let deny = write(&dir, "deny.json", DENY_OUTSIDE);

    let out = json(&rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--policy",
        &deny,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_X,
        "--context",
        "acs:SourceIp=10.1.2.3",
        "--output",
        "json",
    ]));
    assert_eq!(out["decision"], "Allow");
    assert_eq!(out["statement"]["policy"], acr.as_str());
    assert_eq!(out["statement"]["index"], 1);

    let out = json(&rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--policy",
        &deny,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_X,
        "--context",
        "acs:SourceIp=192.0.2.1",
        "--output",
        "json",
    ]));
    assert_eq!(out["decision"], "ExplicitDeny");
    assert_eq!(out["statement"]["policy"], deny.as_str());
    assert_eq!(out["statement"]["index"], 0);
    assert_eq!(out["statement"]["sid"], "office-only");

    // No SourceIp at all: the negated condition holds, so the Deny applies.
    let out = json(&rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--policy",
        &deny,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_X,
        "--output",
        "json",
    ]));
    assert_eq!(out["decision"], "ExplicitDeny");

    let out = json(&rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_Y,
        "--output",
        "json",
    ]));
    assert_eq!(out["decision"], "ImplicitDeny");
    assert!(out["statement"].is_null());

    let text = rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_X,
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.starts_with("decision: Allow\nstatement: "),
        "{stdout}"
    );
}

#[test]
fn simulate_session_policy_and_context_defaults() {
    let dir = tempdir::Dir::new("session");
    let full = write(
        &dir,
        "full.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*"}]}"#,
    );
    let session = write(
        &dir,
        "session.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:Pull*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2020-01-01T00:00:00Z"}}}]}"#,
    );
    // acs:CurrentTime defaults to now, which is after 2020: denied.
    let out = json(&rampart(&[
        "policy",
        "simulate",
        "--policy",
        &full,
        "--session-policy",
        &session,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_X,
        "--output",
        "json",
    ]));
    assert_eq!(out["decision"], "ImplicitDeny");
    assert_eq!(out["missing_allow_in"], "session");
    // --context overrides the default.
    let out = json(&rampart(&[
        "policy",
        "simulate",
        "--policy",
        &full,
        "--session-policy",
        &session,
        "--action",
        "cr:PullRepository",
        "--resource",
        REPO_X,
        "--context",
        "acs:CurrentTime=2019-06-01T00:00:00Z",
        "--output",
        "json",
        "--principal",
        "acs:ram::1111111111111111:role/Puller/s1",
    ]));
    assert_eq!(out["decision"], "Allow");
    assert_eq!(out["statement"]["layer"], "identity");
    assert_eq!(
        out["context"]["acs:PrincipalARN"][0],
        "acs:ram::1111111111111111:role/puller/s1"
    );
    assert_eq!(
        out["context"]["acs:PrincipalAccount"][0],
        "1111111111111111"
    );
}

#[test]
fn simulate_refuses_bad_input_clearly() {
    let dir = tempdir::Dir::new("bad");
    let acr = write(&dir, "acr.json", ACR_TEST);
    let out = rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--action",
        "cr:Pull",
        "--resource",
        "repo",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resource"));
    let out = rampart(&[
        "policy",
        "simulate",
        "--policy",
        &acr,
        "--action",
        "cr:Pull",
        "--resource",
        REPO_X,
        "--context",
        "novalue",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let bad = write(
        &dir,
        "bad.json",
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"cr:*","Resource":"*","Principal":"*"}]}"#,
    );
    let out = rampart(&[
        "policy",
        "simulate",
        "--policy",
        &bad,
        "--action",
        "cr:Pull",
        "--resource",
        REPO_X,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Statement[0].Principal"));
}
