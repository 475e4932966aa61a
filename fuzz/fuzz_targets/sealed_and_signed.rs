//! Any bytes through the parsers an unauthenticated request reaches first:
//! a sealed token opened with a key ring (STS security tokens and the
//! registry's logins and bearer tokens are such blobs), the V3
//! `Authorization` header, and the V1 signature parameters. None may panic;
//! a sealed value that opens must be one this ring sealed.

#![no_main]

use auth::v1;
use auth::v3::Authorization;
use auth::{KeyRing, SealingKey};
use libfuzzer_sys::fuzz_target;

fn ring() -> Option<KeyRing> {
    let key = SealingKey::new("fuzz", [7u8; 32]).ok()?;
    KeyRing::new(vec![key]).ok()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(keys) = ring() {
        // Random text never opens (the AEAD tag would have to be forged).
        assert!(keys.open("rampart registry bearer v1", &text).is_err());
        let _ = KeyRing::key_id_of(&text);
        // A value sealed here opens, and only for its purpose.
        if let Ok(sealed) = keys.seal("p", data) {
            assert_eq!(keys.open("p", &sealed).ok().as_deref(), Some(data));
            assert!(keys.open("q", &sealed).is_err());
        }
    }
    let _ = Authorization::parse(&text);
    let pairs: Vec<(String, String)> = text
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (kv.to_owned(), String::new()),
        })
        .collect();
    let _ = v1::Request::parse("POST", &pairs);
});
