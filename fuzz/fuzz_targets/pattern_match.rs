//! `Pattern::new` / `matches` against a plain dynamic-programming matcher.
//!
//! Input: one flag byte (bit 0: case-insensitive), then UTF-8 (lossy) text
//! `PATTERN\nINPUT`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use policy::pattern::{Case, Pattern};

/// `*` is any run of characters, `?` exactly one; `table[i][j]` says whether
/// the first `i` pattern characters match the first `j` input characters.
fn naive(pattern: &[char], input: &[char]) -> bool {
    let mut table = vec![vec![false; input.len() + 1]; pattern.len() + 1];
    if let Some(first) = table.first_mut().and_then(|row| row.first_mut()) {
        *first = true;
    }
    for (i, &p) in pattern.iter().enumerate() {
        for j in 0..=input.len() {
            let here = |t: &Vec<Vec<bool>>, a: usize, b: usize| {
                t.get(a)
                    .and_then(|row| row.get(b))
                    .copied()
                    .unwrap_or(false)
            };
            let value = match p {
                '*' => here(&table, i, j) || (j > 0 && here(&table, i + 1, j - 1)),
                '?' => j > 0 && here(&table, i, j - 1),
                c => j > 0 && input.get(j - 1) == Some(&c) && here(&table, i, j - 1),
            };
            if let Some(cell) = table.get_mut(i + 1).and_then(|row| row.get_mut(j)) {
                *cell = value;
            }
        }
    }
    table
        .last()
        .and_then(|row| row.last())
        .copied()
        .unwrap_or(false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (pattern_text, input) = text.split_once('\n').unwrap_or((&text, ""));
    if pattern_text.len() > 512 || input.len() > 512 {
        return;
    }
    let insensitive = flags & 1 == 1;
    let case = if insensitive {
        Case::Insensitive
    } else {
        Case::Sensitive
    };
    let pattern = Pattern::new(pattern_text, case);
    let got = pattern.matches(input);

    let fold = |s: &str| -> Vec<char> {
        if insensitive {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let expected = naive(&fold(pattern_text), &fold(input));
    assert_eq!(
        got, expected,
        "pattern {pattern_text:?} on {input:?} ({case:?})"
    );

    // The service index relies on this: a match starts with the literal prefix.
    if got {
        let prefix: Vec<char> = pattern.literal_prefix().chars().collect();
        let head = fold(input);
        assert!(
            head.starts_with(&prefix),
            "match without its literal prefix"
        );
    }
    if pattern.is_any() {
        assert!(got, "`*` must match everything");
    }
});
