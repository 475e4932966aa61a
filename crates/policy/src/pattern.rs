//! Wildcard patterns: `*` is any run of characters (including none, and
//! crossing `/` and `:`), `?` is exactly one character.
//!
//! Patterns are classified once when a policy is compiled so the common
//! shapes (`*`, a literal, `prefix*`) match with a single comparison and no
//! allocation; the general case uses the greedy star-backtracking matcher,
//! which is linear in practice and never allocates.

/// Whether letters compare exactly (resources, `StringLike`) or without
/// regard to ASCII case (action names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Sensitive,
    Insensitive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    shape: Shape,
    case: Case,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Any,
    Exact(String),
    Prefix(String),
    /// Anything else; matched character by character.
    Glob(Vec<char>),
}

impl Pattern {
    pub fn new(text: &str, case: Case) -> Pattern {
        let text = match case {
            Case::Sensitive => text.to_string(),
            Case::Insensitive => text.to_ascii_lowercase(),
        };
        let wild = |c: char| c == '*' || c == '?';
        let shape = if text == "*" {
            Shape::Any
        } else if !text.contains(wild) {
            Shape::Exact(text)
        } else if let Some(prefix) = text.strip_suffix('*').filter(|p| !p.contains(wild)) {
            Shape::Prefix(prefix.to_string())
        } else {
            Shape::Glob(text.chars().collect())
        };
        Pattern { shape, case }
    }

    pub fn is_any(&self) -> bool {
        self.shape == Shape::Any
    }

    /// The text before the first wildcard, lower-cased for insensitive
    /// patterns; used to index action patterns by service.
    pub fn literal_prefix(&self) -> &str {
        match &self.shape {
            Shape::Any => "",
            Shape::Exact(s) | Shape::Prefix(s) => s,
            Shape::Glob(_) => "",
        }
    }

    pub fn matches(&self, input: &str) -> bool {
        let fold = self.case == Case::Insensitive;
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(lit) => {
                if fold {
                    lit.eq_ignore_ascii_case(input)
                } else {
                    lit == input
                }
            }
            Shape::Prefix(lit) => input.get(..lit.len()).is_some_and(|head| {
                if fold {
                    lit.eq_ignore_ascii_case(head)
                } else {
                    lit == head
                }
            }),
            Shape::Glob(pattern) => glob_match(pattern, input, fold),
        }
    }
}

fn same(p: char, c: char, fold: bool) -> bool {
    p == c || (fold && p == c.to_ascii_lowercase())
}

/// Classic wildcard matching: on a mismatch, go back to the last `*` and
/// let it swallow one more character.
pub(crate) fn glob_match(pattern: &[char], input: &str, fold: bool) -> bool {
    let mut p = 0usize;
    // (pattern index after the star, input byte offset the star resumes at)
    let mut backtrack: Option<(usize, usize)> = None;
    let mut pos = 0usize;
    loop {
        let current = input.get(pos..).and_then(|rest| rest.chars().next());
        match (pattern.get(p), current) {
            (Some('*'), _) => {
                p += 1;
                backtrack = Some((p, pos));
            }
            (Some('?'), Some(c)) => {
                p += 1;
                pos += c.len_utf8();
            }
            (Some(&pc), Some(c)) if same(pc, c, fold) => {
                p += 1;
                pos += c.len_utf8();
            }
            (None, None) => return true,
            _ => match backtrack {
                Some((star_p, star_pos)) => {
                    let Some(skipped) = input.get(star_pos..).and_then(|r| r.chars().next()) else {
                        return false;
                    };
                    let resume = star_pos + skipped.len_utf8();
                    backtrack = Some((star_p, resume));
                    p = star_p;
                    pos = resume;
                }
                None => return false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p, Case::Sensitive).matches(s)
    }

    #[test]
    fn star_and_question_mark() {
        assert!(m("*", ""));
        assert!(m("acs:ram:*:123:role/x", "acs:ram::123:role/x"));
        assert!(m("acs:oss:*:*:bucket/*", "acs:oss:*:*:bucket/a/b/c"));
        assert!(!m("acs:oss:*:*:bucket/*", "acs:oss:*:*:bucket"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "a-b-b-"));
        assert!(m("*é?", "xxéü"));
        assert!(m("**", "anything"));
        assert!(m("a*", "a"));
        assert!(!m("Abc", "abc"));
    }

    #[test]
    fn insensitive_folds_ascii() {
        let p = Pattern::new("cr:Pull*", Case::Insensitive);
        assert!(p.matches("CR:pullrepository"));
        assert!(!p.matches("cr:Push"));
        assert!(Pattern::new("CR:?ull*y", Case::Insensitive).matches("cr:PullRepository"));
        assert!(Pattern::new("sts:AssumeRole", Case::Insensitive).matches("STS:assumerole"));
    }

    proptest::proptest! {
        #[test]
        fn literal_patterns_match_only_themselves(a in "[a-z:/]{0,12}", b in "[a-z:/]{0,12}") {
            proptest::prop_assert_eq!(m(&a, &b), a == b);
        }

        #[test]
        fn star_shapes_agree_with_glob(p in "[ab*?]{0,8}", s in "[ab]{0,10}") {
            let chars: Vec<char> = p.chars().collect();
            proptest::prop_assert_eq!(m(&p, &s), glob_match(&chars, &s, false));
        }
    }
}
