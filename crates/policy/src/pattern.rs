//! Wildcard patterns: `*` is any run of characters (including none, and
//! crossing `/` and `:`), `?` is exactly one character.
//!
//! Patterns are classified once when a policy is compiled so the common
//! shapes (`*`, a literal, `prefix*`) match with a single comparison and no
//! allocation. Patterns with `*` but no `?` (`acs:cr:*:123:repository/*`)
//! are split into literal segments and matched by searching for each
//! segment in turn, which is exact for `*`-only patterns and runs at
//! substring-search speed. Only patterns with `?` use the general
//! character-by-character matcher with star backtracking. None allocates.

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
    /// `*` but no `?`: the text before the first star, the literal runs
    /// between stars (non-empty ones only), and the text after the last.
    Stars {
        first: String,
        middle: Vec<String>,
        last: String,
    },
    /// Anything else (patterns with `?`); matched character by character.
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
        } else if !text.contains('?') {
            let mut parts: Vec<&str> = text.split('*').collect();
            let last = parts.pop().unwrap_or_default().to_string();
            let first = if parts.is_empty() {
                String::new()
            } else {
                parts.remove(0).to_string()
            };
            Shape::Stars {
                first,
                middle: parts
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
                last,
            }
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
            Shape::Stars { first, .. } => first,
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
            Shape::Stars {
                first,
                middle,
                last,
            } => stars_match(first, middle, last, input.as_bytes(), fold),
            Shape::Glob(pattern) => glob_match(pattern, input, fold),
        }
    }
}

fn bytes_eq(a: &[u8], b: &[u8], fold: bool) -> bool {
    if fold {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// Where `needle` first occurs in `haystack`. Needles are whole UTF-8
/// strings split at ASCII `*`, so a byte match always starts on a
/// character boundary.
fn find(haystack: &[u8], needle: &[u8], fold: bool) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    if !fold {
        // memchr-style search on the first byte, then a full compare.
        let (&head, _) = needle.split_first()?;
        let mut from = 0;
        while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == head) {
            let at = from + offset;
            if haystack.get(at..at + needle.len())? == needle {
                return Some(at);
            }
            from = at + 1;
        }
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Matches a `*`-only pattern: the input starts with `first`, ends with
/// `last`, and holds each middle segment in order in between. Taking the
/// leftmost occurrence of each segment is never worse than any other
/// choice, so this is exact.
fn stars_match(first: &str, middle: &[String], last: &str, input: &[u8], fold: bool) -> bool {
    let (first, last) = (first.as_bytes(), last.as_bytes());
    let Some(end) = input.len().checked_sub(last.len()) else {
        return false;
    };
    if end < first.len() {
        return false;
    }
    let head_ok = input
        .get(..first.len())
        .is_some_and(|h| bytes_eq(h, first, fold));
    let tail_ok = input.get(end..).is_some_and(|t| bytes_eq(t, last, fold));
    if !(head_ok && tail_ok) {
        return false;
    }
    let mut pos = first.len();
    for segment in middle {
        let Some(window) = input.get(pos..end) else {
            return false;
        };
        match find(window, segment.as_bytes(), fold) {
            Some(at) => pos += at + segment.len(),
            None => return false,
        }
    }
    true
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

        #[test]
        fn segment_matching_agrees_with_glob(p in "[aAbé/:*]{0,10}", s in "[aAbé/:]{0,14}", fold in proptest::bool::ANY) {
            let case = if fold { Case::Insensitive } else { Case::Sensitive };
            let pattern = Pattern::new(&p, case);
            let folded: Vec<char> = if fold { p.to_ascii_lowercase().chars().collect() } else { p.chars().collect() };
            proptest::prop_assert_eq!(pattern.matches(&s), glob_match(&folded, &s, fold), "{} {}", p, s);
        }
    }
}
