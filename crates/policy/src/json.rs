//! A small JSON reader that remembers where every value came from.
//!
//! Policy validation must point at the exact line and column of a bad
//! element, which a plain `serde_json::Value` cannot do. Documents are at
//! most a few KiB, so a straightforward recursive reader with a depth limit
//! is enough; it never panics, whatever the bytes.

use std::fmt;

/// Deepest nesting accepted. Real policies nest four levels; anything far
/// beyond that is an attack on the stack, not a policy.
const MAX_DEPTH: usize = 32;

/// A byte offset into the document, turned into line/column on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub offset: usize,
}

/// 1-based line and column (in characters) of a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Position {
    pub fn of(text: &str, span: Span) -> Position {
        let end = span.offset.min(text.len());
        let before = text.get(..end).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Position { line, column }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Kept as written: condition values compare as text or parse later
    /// with the operator's own rules.
    Number(String),
    String(String),
    Array(Vec<Spanned>),
    Object(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub span: Span,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Spanned,
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

pub fn parse(text: &str) -> Result<Spanned, SyntaxError> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        pos: 0,
    };
    reader.skip_ws();
    let value = reader.value(0)?;
    reader.skip_ws();
    if reader.pos < reader.bytes.len() {
        return Err(reader.error("unexpected text after the end of the document"));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            span: Span { offset: self.pos },
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, word: &str) -> Result<(), SyntaxError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Spanned, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting is too deep"));
        }
        let span = Span { offset: self.pos };
        let value = match self.peek() {
            None => return Err(self.error("unexpected end of document, expected a value")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => {
                self.expect_literal("true")?;
                Value::Bool(true)
            }
            Some(b'f') => {
                self.expect_literal("false")?;
                Value::Bool(false)
            }
            Some(b'n') => {
                self.expect_literal("null")?;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(_) => return Err(self.error("expected a JSON value")),
        };
        Ok(Spanned { span, value })
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.pos += 1;
        let mut members: Vec<Member> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a quoted member name"));
            }
            let key_span = Span { offset: self.pos };
            let key = self.string()?;
            if members.iter().any(|m| m.key == key) {
                return Err(SyntaxError {
                    span: key_span,
                    message: format!("duplicate member \"{key}\""),
                });
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after the member name"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit after '.'"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(self
            .text
            .get(start..self.pos)
            .unwrap_or_default()
            .to_string())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The run stops only on ASCII bytes, so it ends on a char boundary.
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(_) => return Err(self.error("control character inside a string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let first = self.hex4()?;
                let c = if (0xD800..0xDC00).contains(&first) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.error("unpaired surrogate in \\u escape"));
                    }
                    self.pos += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.error("unpaired surrogate in \\u escape"));
                    }
                    let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                    char::from_u32(code)
                } else {
                    char::from_u32(first)
                };
                let Some(c) = c else {
                    return Err(self.error("invalid \\u escape"));
                };
                out.push(c);
                return Ok(());
            }
            _ => return Err(self.error("invalid escape sequence")),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("expected four hex digits"))?;
        let code = u32::from_str_radix(digits, 16)
            .ok()
            .filter(|_| digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits"))?;
        self.pos += 4;
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_documents_with_positions() {
        let text = "{\n  \"a\": [1, \"x\", true, null],\n  \"b\": {}\n}";
        let doc = parse(text).unwrap();
        let Value::Object(members) = doc.value else {
            panic!("not an object")
        };
        assert_eq!(members.len(), 2);
        assert_eq!(
            Position::of(text, members[1].key_span),
            Position { line: 3, column: 3 }
        );
    }

    #[test]
    fn escapes_decode() {
        let doc = parse(r#""a\"b\\c\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(doc.value, Value::String("a\"b\\cé😀".into()));
    }

    #[test]
    fn errors_carry_positions() {
        let text = "{\"a\": [1, 2,]}";
        let err = parse(text).unwrap_err();
        assert_eq!(Position::of(text, err.span).column, 13);
        assert!(parse("{\"a\":1,\"a\":2}")
            .unwrap_err()
            .message
            .contains("duplicate"));
        assert!(parse("[1] x").is_err());
        assert!(parse("\"\\ud800\"").is_err());
        assert!(parse("01").is_err());
        assert!(parse(&"[".repeat(100))
            .unwrap_err()
            .message
            .contains("deep"));
    }

    #[test]
    fn agrees_with_serde_json_on_validity() {
        for text in [
            "1",
            "-0.5e+3",
            "\"x\"",
            "[]",
            "{}",
            "[1,]",
            "{\"a\"}",
            "tru",
            "1.",
            "\"\t\"",
            "[\"\\u12\"]",
            "  {\"a\" : [ {} ] }  ",
        ] {
            assert_eq!(
                parse(text).is_ok(),
                serde_json::from_str::<serde_json::Value>(text).is_ok(),
                "{text}"
            );
        }
    }
}
