//! Any bytes, read as (lossy) UTF-8, through the ARN parsers. Whatever parses
//! must print back to text that parses to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use policy::arn::{canonical, check_pattern};
use policy::{Arn, Entity};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = check_pattern(&text);
    let canonical_text = canonical(&text);
    assert_eq!(
        canonical(&canonical_text),
        canonical_text,
        "canonical is not idempotent"
    );

    if let Ok(arn) = Arn::parse(&text) {
        let printed = arn.to_string();
        assert_eq!(
            Arn::parse(&printed).ok(),
            Some(arn),
            "ARN round trip via {printed:?}"
        );
    }

    if let Ok(entity) = Entity::parse(&text) {
        let printed = entity.to_string();
        let again = Entity::parse(&printed);
        assert_eq!(
            again.as_ref().ok(),
            Some(&entity),
            "entity round trip via {printed:?}: {again:?}"
        );
        let _ = entity.account();
        if let Some(identity) = entity.assumed_role_identity_arn() {
            assert_eq!(
                Entity::parse(&identity).ok(),
                Some(entity),
                "assumed-role identity ARN {identity:?}"
            );
        }
    }
});
