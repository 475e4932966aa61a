#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::message::signature_mismatch_message;
use proptest::prelude::*;

const POLICY: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"acs:oss:*:*:my bucket/+x"}]}"#;

// §3.4, official (Alibaba V3 doc).
const RUN_INSTANCES_QUERY: &[(&str, &str)] = &[
    (
        "ImageId",
        "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
    ),
    ("RegionId", "cn-shanghai"),
];
const RUN_INSTANCES_HEADERS: &[(&str, &str)] = &[
    ("host", "ecs.cn-shanghai.aliyuncs.com"),
    ("x-acs-action", "RunInstances"),
    ("x-acs-content-sha256", EMPTY_PAYLOAD_SHA256),
    ("x-acs-date", "2023-10-26T10:22:32Z"),
    ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
    ("x-acs-version", "2014-05-26"),
];
const RUN_INSTANCES_SIGNATURE: &str =
    "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0";

fn run_instances<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: "POST",
        path: "/",
        query: RUN_INSTANCES_QUERY,
        headers,
        body: b"",
    }
}

// §3.4, own vector computed with tea-openapi (Python), which signs
// every header it set, `accept` included.
const ASSUME_ROLE_QUERY: &[(&str, &str)] = &[
    ("RoleArn", "acs:ram::1234567890123456:role/test-role"),
    ("RoleSessionName", "alice~session"),
    ("DurationSeconds", "3600"),
    ("Policy", POLICY),
];
const ASSUME_ROLE_HEADERS: &[(&str, &str)] = &[
    ("host", "127.0.0.1:8080"),
    ("x-acs-action", "AssumeRole"),
    ("x-acs-version", "2015-04-01"),
    ("x-acs-date", "2024-01-01T12:00:00Z"),
    ("x-acs-signature-nonce", "3ee8c1b883d344afa94f4e0ad82fd6cf"),
    ("accept", "application/json"),
    ("x-acs-content-sha256", EMPTY_PAYLOAD_SHA256),
];
const ASSUME_ROLE_AUTHORIZATION: &str = "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=accept;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=35c3aa290271b80773e0f24fc0fe050f07d9a36bea28f8694c5ff0ba043b1d1a";

fn assume_role<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: "POST",
        path: "/",
        query: ASSUME_ROLE_QUERY,
        headers,
        body: b"",
    }
}

fn with_authorization<'a>(
    headers: &[(&'a str, &'a str)],
    authorization: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut all = headers.to_vec();
    all.push(("Authorization", authorization));
    all
}

#[test]
fn vector_official_run_instances() {
    let request = run_instances(RUN_INSTANCES_HEADERS);
    let names = default_signed_headers(RUN_INSTANCES_HEADERS);
    let canonical = canonical_request(&request, &names).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(canonical.as_bytes())),
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    );
    let secret = Secret::new("YourAccessKeySecret");
    assert_eq!(
        sign(&secret, &string_to_sign(&canonical)),
        RUN_INSTANCES_SIGNATURE
    );

    let authorization = sign_request(&request, "YourAccessKeyId", &secret).unwrap();
    let header = authorization.to_string();
    assert_eq!(
        header,
        format!(
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={RUN_INSTANCES_SIGNATURE}"
        )
    );
    let headers = with_authorization(RUN_INSTANCES_HEADERS, &header);
    let parsed = verify(&run_instances(&headers), &secret).unwrap();
    assert_eq!(parsed.access_key_id(), "YourAccessKeyId");
    assert_eq!(parsed, authorization);
}

#[test]
fn vector_assume_role_tea_python() {
    let request = assume_role(ASSUME_ROLE_HEADERS);
    let auth = Authorization::parse(ASSUME_ROLE_AUTHORIZATION).unwrap();
    let canonical = canonical_request(&request, auth.signed_headers()).unwrap();
    assert_eq!(
        string_to_sign(&canonical),
        "ACS3-HMAC-SHA256\nd67f81b45e8bca7eb5a36c1258982e09d49cd5befc6d6965b0e4fd82d4f4e9f5"
    );
    let secret = Secret::new("testsecret");
    let signed = sign_request_with_headers(
        &request,
        "testid",
        &secret,
        ASSUME_ROLE_HEADERS.iter().map(|(n, _)| *n),
    )
    .unwrap();
    assert_eq!(signed.to_string(), ASSUME_ROLE_AUTHORIZATION);

    let headers = with_authorization(ASSUME_ROLE_HEADERS, ASSUME_ROLE_AUTHORIZATION);
    let request = assume_role(&headers);
    assert_eq!(verify(&request, &secret), Ok(auth));
    assert_eq!(request.nonce(), Ok("3ee8c1b883d344afa94f4e0ad82fd6cf"));
    assert_eq!(request.date().unwrap().to_iso8601(), "2024-01-01T12:00:00Z");
}

#[test]
fn canonical_request_layout() {
    let request = assume_role(ASSUME_ROLE_HEADERS);
    let names = default_signed_headers(ASSUME_ROLE_HEADERS);
    let canonical = canonical_request(&request, &names).unwrap();
    let expected = [
        "POST",
        "/",
        "DurationSeconds=3600&Policy=%7B%22Version%22%3A%221%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22oss%3AGet%2A%22%2C%22Resource%22%3A%22acs%3Aoss%3A%2A%3A%2A%3Amy%20bucket%2F%2Bx%22%7D%5D%7D&RoleArn=acs%3Aram%3A%3A1234567890123456%3Arole%2Ftest-role&RoleSessionName=alice~session",
        "host:127.0.0.1:8080",
        "x-acs-action:AssumeRole",
        &format!("x-acs-content-sha256:{EMPTY_PAYLOAD_SHA256}"),
        "x-acs-date:2024-01-01T12:00:00Z",
        "x-acs-signature-nonce:3ee8c1b883d344afa94f4e0ad82fd6cf",
        "x-acs-version:2015-04-01",
        // CanonicalHeaders ends with "\n": an empty line here.
        "",
        "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version",
        EMPTY_PAYLOAD_SHA256,
    ]
    .join("\n");
    assert_eq!(canonical, expected);
}

#[test]
fn header_names_any_case_values_trimmed_repeats_sorted() {
    let headers = [
        ("Host", "  example.com "),
        ("X-Acs-Action", "A"),
        ("x-acs-version", "1"),
        ("X-ACS-DATE", "2024-01-01T12:00:00Z"),
        ("x-acs-signature-nonce", "n"),
        ("x-acs-content-sha256", EMPTY_PAYLOAD_SHA256),
        ("x-acs-multi", "b"),
        ("X-Acs-Multi", " a "),
    ];
    let request = Request {
        method: "GET",
        path: "",
        query: &[],
        headers: &headers,
        body: b"",
    };
    let names = default_signed_headers(&headers);
    let canonical = canonical_request(&request, &names).unwrap();
    assert!(
        canonical.starts_with("GET\n/\n\nhost:example.com\n"),
        "{canonical}"
    );
    assert!(canonical.contains("\nx-acs-multi:a,b\n"), "{canonical}");
}

#[test]
fn canonical_query_keeps_empty_values_and_sorts() {
    assert_eq!(canonical_query_string(&[]), "");
    assert_eq!(
        canonical_query_string(&[("b", ""), ("a", "x y*~"), ("a", "0")]),
        "a=0&a=x%20y%2A~&b="
    );
}

fn signed_fixture(secret: &Secret) -> (Vec<(&'static str, &'static str)>, String) {
    let authorization = sign_request(&run_instances(RUN_INSTANCES_HEADERS), "ak", secret).unwrap();
    (RUN_INSTANCES_HEADERS.to_vec(), authorization.to_string())
}

#[test]
fn tampering_fails() {
    let secret = Secret::new("s");
    let (headers, authorization) = signed_fixture(&secret);

    // Another action in a signed header.
    let mut changed: Vec<_> = headers.clone();
    changed[1].1 = "DeleteInstances";
    let all = with_authorization(&changed, &authorization);
    assert!(matches!(
        verify(&run_instances(&all), &secret),
        Err(V3Error::SignatureMismatch { .. })
    ));

    // Another query value, or an added query parameter.
    let all = with_authorization(&headers, &authorization);
    let mut request = run_instances(&all);
    let query = [("ImageId", "other"), ("RegionId", "cn-shanghai")];
    request.query = &query;
    assert!(matches!(
        verify(&request, &secret),
        Err(V3Error::SignatureMismatch { .. })
    ));
    let query = [
        (
            "ImageId",
            "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        ),
        ("RegionId", "cn-shanghai"),
        ("Amount", "100"),
    ];
    request.query = &query;
    assert!(matches!(
        verify(&request, &secret),
        Err(V3Error::SignatureMismatch { .. })
    ));

    // Another method or path.
    let mut request = run_instances(&all);
    request.method = "GET";
    assert!(verify(&request, &secret).is_err());
    let mut request = run_instances(&all);
    request.path = "/other";
    assert!(verify(&request, &secret).is_err());

    // A body that the declared hash does not cover.
    let mut request = run_instances(&all);
    request.body = b"{}";
    assert_eq!(
        verify(&request, &secret),
        Err(V3Error::ContentSha256Mismatch {
            declared: EMPTY_PAYLOAD_SHA256.to_owned(),
            actual: content_sha256_hex(b"{}"),
        })
    );

    // Wrong secret: the error carries the server's string to sign.
    let err = verify(&run_instances(&all), &Secret::new("t")).unwrap_err();
    let s2s = err.string_to_sign().unwrap();
    assert!(s2s.starts_with("ACS3-HMAC-SHA256\n"));
    assert_eq!(signature_mismatch_message(s2s).split(':').nth(1), Some(s2s));
}

#[test]
fn signed_header_rules() {
    let secret = Secret::new("s");
    let (headers, authorization) = signed_fixture(&secret);

    // A signed header missing from the request.
    let mut fewer = headers.clone();
    fewer.retain(|(n, _)| *n != "x-acs-signature-nonce");
    let all = with_authorization(&fewer, &authorization);
    assert_eq!(
        verify(&run_instances(&all), &secret),
        Err(V3Error::SignedHeaderMissing("x-acs-signature-nonce".into()))
    );

    // A required header left out of SignedHeaders.
    let request = run_instances(RUN_INSTANCES_HEADERS);
    let unsigned = sign_request_with_headers(&request, "ak", &secret, ["host", "x-acs-action"]);
    assert_eq!(
        unsigned,
        Err(V3Error::HeaderNotSigned("x-acs-content-sha256".into()))
    );
    let forged = "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-version,Signature=0000000000000000000000000000000000000000000000000000000000000000";
    let all = with_authorization(RUN_INSTANCES_HEADERS, forged);
    assert_eq!(
        verify(&run_instances(&all), &secret),
        Err(V3Error::HeaderNotSigned("x-acs-signature-nonce".into()))
    );

    // An STS token travelling unsigned.
    let mut with_token = headers.clone();
    with_token.push(("x-acs-security-token", "tok"));
    let all = with_authorization(&with_token, &authorization);
    assert_eq!(
        verify(&run_instances(&all), &secret),
        Err(V3Error::HeaderNotSigned("x-acs-security-token".into()))
    );
    // Signed by default when present.
    let request = run_instances(&with_token);
    let signed = sign_request(&request, "STS.ak", &secret).unwrap();
    assert!(signed.is_signed("x-acs-security-token"));
    let header = signed.to_string();
    let all = with_authorization(&with_token, &header);
    assert!(verify(&run_instances(&all), &secret).is_ok());

    // Missing or doubled Authorization / content hash.
    assert_eq!(
        verify(&run_instances(RUN_INSTANCES_HEADERS), &secret),
        Err(V3Error::MissingAuthorization)
    );
    let mut twice = with_authorization(&headers, &authorization);
    twice.push(("authorization", &authorization));
    assert_eq!(
        verify(&run_instances(&twice), &secret),
        Err(V3Error::DuplicateHeader("authorization"))
    );
    let mut bad_hash = headers.clone();
    bad_hash[2].1 = "not-hex";
    let all = with_authorization(&bad_hash, &authorization);
    assert_eq!(
        verify(&run_instances(&all), &secret),
        Err(V3Error::MalformedContentSha256("not-hex".into()))
    );
}

#[test]
fn body_hash_is_checked_when_signing_and_verifying() {
    let secret = Secret::new("s");
    let body = br#"{"RoleName":"r1"}"#;
    let hash = content_sha256_hex(body);
    let headers = [
        ("host", "h"),
        ("x-acs-action", "CreateRole"),
        ("x-acs-version", "2015-05-01"),
        ("x-acs-date", "2024-01-01T12:00:00Z"),
        ("x-acs-signature-nonce", "n"),
        ("x-acs-content-sha256", hash.as_str()),
        ("content-type", "application/json; charset=utf-8"),
    ];
    let request = Request {
        method: "POST",
        path: "/",
        query: &[],
        headers: &headers,
        body,
    };
    let authorization = sign_request(&request, "ak", &secret).unwrap();
    assert!(authorization.is_signed("content-type"));
    let header = authorization.to_string();
    let all = with_authorization(&headers, &header);
    let received = Request {
        headers: &all,
        ..request
    };
    assert!(verify(&received, &secret).is_ok());
    let tampered = Request {
        body: br#"{"RoleName":"r2"}"#,
        ..received
    };
    assert!(matches!(
        verify(&tampered, &secret),
        Err(V3Error::ContentSha256Mismatch { .. })
    ));
    let wrong = Request {
        body: b"",
        ..request
    };
    assert!(matches!(
        sign_request(&wrong, "ak", &secret),
        Err(V3Error::ContentSha256Mismatch { .. })
    ));
}

#[test]
fn parse_authorization_errors() {
    let sig = "0".repeat(64);
    let ok =
        format!("ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-date,Signature={sig}");
    assert!(Authorization::parse(&ok).is_ok());
    // Spaces after commas and in front are tolerated; order and case of
    // SignedHeaders are normalised.
    let spaced = format!(
        "  ACS3-HMAC-SHA256 Signature={sig}, SignedHeaders=X-Acs-Date;Host , Credential=ak "
    );
    let parsed = Authorization::parse(&spaced).unwrap();
    assert_eq!(parsed.signed_headers(), ["host", "x-acs-date"]);
    assert_eq!(parsed.to_string(), ok);

    let cases: Vec<(String, AuthorizationError)> = vec![
        (String::new(), AuthorizationError::Empty),
        ("   ".into(), AuthorizationError::Empty),
        (
            format!("ACS3-HMAC-SM3 Credential=ak,SignedHeaders=host,Signature={sig}"),
            AuthorizationError::UnsupportedAlgorithm("ACS3-HMAC-SM3".into()),
        ),
        (
            "Bearer abc".into(),
            AuthorizationError::UnsupportedAlgorithm("Bearer".into()),
        ),
        (
            "ACS3-HMAC-SHA256".into(),
            AuthorizationError::MissingField("Credential"),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=ak,Signature={sig}"),
            AuthorizationError::MissingField("SignedHeaders"),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host".into(),
            AuthorizationError::MissingField("Signature"),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature={sig}"),
            AuthorizationError::BadCredential(String::new()),
        ),
        (
            format!(
                "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature={sig}"
            ),
            AuthorizationError::DuplicateField("Credential"),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=a,Region=x,SignedHeaders=host,Signature={sig}"),
            AuthorizationError::UnknownField("Region".into()),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature={sig},"),
            AuthorizationError::MalformedPart(String::new()),
        ),
        (
            format!("ACS3-HMAC-SHA256 Signature={sig},Credential=a SignedHeaders=host"),
            AuthorizationError::BadCredential("a SignedHeaders=host".into()),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=,Signature={sig}"),
            AuthorizationError::BadSignedHeader(String::new()),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;;x,Signature={sig}"),
            AuthorizationError::BadSignedHeader(String::new()),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=ho st,Signature={sig}"),
            AuthorizationError::BadSignedHeader("ho st".into()),
        ),
        (
            format!("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host;HOST,Signature={sig}"),
            AuthorizationError::DuplicateSignedHeader("host".into()),
        ),
        (
            "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=abc".into(),
            AuthorizationError::BadSignature("abc".into()),
        ),
        (
            format!(
                "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature={}",
                "A".repeat(64)
            ),
            AuthorizationError::BadSignature("A".repeat(64)),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(Authorization::parse(&value), Err(expected), "{value:?}");
    }
}

#[test]
fn errors_do_not_echo_huge_values() {
    let huge = format!("ACS3-HMAC-SHA256 Credential=a,{}=1", "X".repeat(100_000));
    let err = Authorization::parse(&huge).unwrap_err();
    assert!(err.to_string().len() < 300);
}

#[test]
fn debug_of_a_request_context_hides_the_secret() {
    let secret = Secret::new("YourAccessKeySecret");
    let shown = format!("{:?}", (run_instances(RUN_INSTANCES_HEADERS), &secret));
    assert!(!shown.contains("YourAccessKeySecret"));
}

// ---- property tests ----

/// A signable request: the required headers plus extra `x-acs-*` and
/// unsigned headers, a random query and body.
#[derive(Debug, Clone)]
struct Generated {
    method: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Generated {
    fn request<'a>(
        &'a self,
        query: &'a [(&'a str, &'a str)],
        headers: &'a [(&'a str, &'a str)],
    ) -> Request<'a> {
        Request {
            method: &self.method,
            path: "/",
            query,
            headers,
            body: &self.body,
        }
    }
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// Header values as SDKs send them: printable ASCII, no whitespace at the
/// ends (which the canonical form trims) and no commas (which it uses to
/// join repeated headers).
const HEADER_VALUE: &str = "[!-+\\--~]([ -+\\--~]{0,20}[!-+\\--~])?";

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop_oneof![Just("GET".to_owned()), Just("POST".to_owned())],
        proptest::collection::btree_map("[A-Za-z][A-Za-z0-9.]{0,10}", any::<String>(), 0..6),
        proptest::collection::btree_map("x-acs-[a-z]{1,8}", HEADER_VALUE, 0..4),
        proptest::collection::vec(any::<u8>(), 0..64),
        HEADER_VALUE,
        HEADER_VALUE,
        HEADER_VALUE,
    )
        .prop_map(|(method, query, extra, body, action, nonce, host)| {
            let mut headers: Vec<(String, String)> = vec![
                ("host".into(), host),
                ("x-acs-action".into(), action),
                ("x-acs-version".into(), "2015-04-01".into()),
                ("x-acs-date".into(), "2024-01-01T12:00:00Z".into()),
                ("x-acs-signature-nonce".into(), nonce),
                ("x-acs-content-sha256".into(), content_sha256_hex(&body)),
                ("user-agent".into(), "unsigned/1.0".into()),
            ];
            for (name, value) in extra {
                if !headers.iter().any(|(n, _)| *n == name) {
                    headers.push((name, value));
                }
            }
            Generated {
                method,
                query: query.into_iter().collect(),
                headers,
                body,
            }
        })
}

fn flip(value: &str, at: prop::sample::Index, mask: u8) -> String {
    let mut bytes = value.as_bytes().to_vec();
    if bytes.is_empty() {
        bytes.push(mask);
    } else {
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #[test]
    fn sign_then_verify(generated in generated(), secret in any::<String>(), ak in "[A-Za-z0-9.]{1,24}") {
        let secret = Secret::new(secret);
        let query = pairs(&generated.query);
        let headers = pairs(&generated.headers);
        let authorization = sign_request(&generated.request(&query, &headers), &ak, &secret).unwrap();
        prop_assert!(!authorization.is_signed("user-agent"));
        let header = authorization.to_string();
        let mut all = headers.clone();
        all.push(("authorization", &header));
        let verified = verify(&generated.request(&query, &all), &secret);
        prop_assert_eq!(verified, Ok(authorization));
    }

    #[test]
    fn flipping_a_signed_header_byte_fails(
        generated in generated(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        mask in 1_u8..=255,
    ) {
        let secret = Secret::new("s");
        let query = pairs(&generated.query);
        let headers = pairs(&generated.headers);
        let header = sign_request(&generated.request(&query, &headers), "ak", &secret).unwrap().to_string();

        let mut tampered = generated.headers.clone();
        // Any header but the unsigned user-agent.
        let signed: Vec<usize> = (0..tampered.len()).filter(|&i| tampered[i].0 != "user-agent").collect();
        let i = signed[which.index(signed.len())];
        tampered[i].1 = flip(&tampered[i].1, at, mask);
        prop_assume!(tampered[i].1 != generated.headers[i].1);
        let mut all = pairs(&tampered);
        all.push(("authorization", &header));
        prop_assert!(verify(&generated.request(&query, &all), &secret).is_err());
    }

    #[test]
    fn flipping_a_query_byte_fails(
        generated in generated(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        mask in 1_u8..=255,
    ) {
        prop_assume!(!generated.query.is_empty());
        let secret = Secret::new("s");
        let query = pairs(&generated.query);
        let headers = pairs(&generated.headers);
        let header = sign_request(&generated.request(&query, &headers), "ak", &secret).unwrap().to_string();

        let mut tampered = generated.query.clone();
        let i = which.index(tampered.len());
        tampered[i].1 = flip(&tampered[i].1, at, mask);
        prop_assume!(tampered[i].1 != generated.query[i].1);
        let tampered_query = pairs(&tampered);
        let mut all = headers.clone();
        all.push(("authorization", &header));
        let result = verify(&generated.request(&tampered_query, &all), &secret);
        prop_assert!(matches!(result, Err(V3Error::SignatureMismatch { .. })), "got {:?}", result);
    }

    #[test]
    fn flipping_a_body_or_signature_byte_fails(
        generated in generated(),
        at in any::<prop::sample::Index>(),
        mask in 1_u8..=127,
    ) {
        let secret = Secret::new("s");
        let query = pairs(&generated.query);
        let headers = pairs(&generated.headers);
        let header = sign_request(&generated.request(&query, &headers), "ak", &secret).unwrap().to_string();
        let mut all = headers.clone();
        all.push(("authorization", &header));

        let mut body = generated.body.clone();
        if body.is_empty() {
            body.push(mask);
        } else {
            let i = at.index(body.len());
            body[i] ^= mask;
        }
        let mut request = generated.request(&query, &all);
        request.body = &body;
        let result = verify(&request, &secret);
        prop_assert!(matches!(result, Err(V3Error::ContentSha256Mismatch { .. })), "got {:?}", result);

        // Flip a byte inside the signature hex (the last 64 characters).
        let sig_start = header.len() - 64;
        let i = sig_start + at.index(64);
        let mut bytes = header.clone().into_bytes();
        bytes[i] ^= mask;
        let tampered = String::from_utf8(bytes).unwrap();
        let mut all = headers.clone();
        all.push(("authorization", &tampered));
        prop_assert!(verify(&generated.request(&query, &all), &secret).is_err());
    }

    #[test]
    fn parse_never_panics(value in any::<String>()) {
        let _ = Authorization::parse(&value);
    }

    #[test]
    fn parse_never_panics_on_near_misses(
        algorithm in prop_oneof![Just("ACS3-HMAC-SHA256".to_owned()), "[ -~]{0,20}"],
        parts in proptest::collection::vec(
            (prop_oneof![Just("Credential"), Just("SignedHeaders"), Just("Signature"), Just("x")], "[ -~]{0,70}"),
            0..5,
        ),
        separator in prop_oneof![Just(","), Just(", "), Just(" "), Just(";")],
    ) {
        let body: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let value = format!("{algorithm} {}", body.join(separator));
        let _ = Authorization::parse(&value);
    }

    #[test]
    fn verify_never_panics(
        generated in generated(),
        authorization in any::<String>(),
        path in any::<String>(),
        junk_headers in proptest::collection::vec((any::<String>(), any::<String>()), 0..4),
    ) {
        let query = pairs(&generated.query);
        let mut headers = pairs(&generated.headers);
        headers.extend(junk_headers.iter().map(|(a, b)| (a.as_str(), b.as_str())));
        headers.push(("Authorization", &authorization));
        let mut request = generated.request(&query, &headers);
        request.path = &path;
        let _ = verify(&request, &Secret::new("s"));
        let _ = request.date();
        let _ = request.nonce();
    }
}
