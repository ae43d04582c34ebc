//! Structured mutations of a real compact JWS (`header.payload.signature`), so the fuzzer spends
//! its time past the base64 and JSON layers: a member of the header or the claims set to another
//! value or removed, raw JSON text spliced in (duplicate members, odd numbers), a part taken from
//! another token, bits of the signature flipped, separators added or lost.

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// What the verifier is given.
#[derive(Debug, Arbitrary)]
pub enum TokenInput {
    /// Any text at all.
    Raw(String),
    /// One of the real tokens, edited.
    Mutated { base: u8, edits: Vec<Edit> },
}

/// One of a token's three parts.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Part {
    Header,
    Payload,
    Signature,
}

/// A member name: those the verifiers read, or any other.
#[derive(Debug, Arbitrary)]
pub enum Member {
    Alg,
    Kid,
    Typ,
    Jwk,
    Jku,
    X5u,
    X5c,
    Crit,
    Iss,
    Sub,
    Aud,
    Exp,
    Nbf,
    Iat,
    Jti,
    Sid,
    Role,
    Other(String),
}

impl Member {
    fn name(&self) -> &str {
        match self {
            Member::Alg => "alg",
            Member::Kid => "kid",
            Member::Typ => "typ",
            Member::Jwk => "jwk",
            Member::Jku => "jku",
            Member::X5u => "x5u",
            Member::X5c => "x5c",
            Member::Crit => "crit",
            Member::Iss => "iss",
            Member::Sub => "sub",
            Member::Aud => "aud",
            Member::Exp => "exp",
            Member::Nbf => "nbf",
            Member::Iat => "iat",
            Member::Jti => "jti",
            Member::Sid => "sid",
            Member::Role => "role",
            Member::Other(name) => name,
        }
    }
}

/// A JSON value to put in a member.
#[derive(Debug, Arbitrary)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    /// A value a real verifier expects somewhere: `EdDSA`, `none`, `HS256`, the service, ...
    Known(u8),
    List(Vec<String>),
    Object(Vec<(String, i64)>),
}

const KNOWN: &[&str] = &[
    "EdDSA",
    "none",
    "HS256",
    "RS256",
    "ES256",
    "JWT",
    "service-b",
    "auth-api",
    "auth-admin",
    "auth-gateway",
    "access",
    "session",
    "assertion",
    "admin",
    "refresh",
];

impl Json {
    fn value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(n) => Value::from(*n),
            Json::Float(f) => Value::from(*f),
            Json::Text(text) => Value::from(text.as_str()),
            Json::Known(i) => Value::from(KNOWN[usize::from(*i) % KNOWN.len()]),
            Json::List(items) => Value::from(items.clone()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(*v)))
                    .collect(),
            ),
        }
    }
}

/// One edit of a token.
#[derive(Debug, Arbitrary)]
pub enum Edit {
    /// Sets a member of the decoded JSON of a part (header or payload).
    Set(Part, Member, Json),
    /// Removes a member.
    Remove(Part, Member),
    /// Inserts text into the decoded JSON at a position (duplicate members, trailing garbage).
    Splice(Part, u16, String),
    /// Replaces the decoded bytes of a part.
    Decoded(Part, Vec<u8>),
    /// Replaces the base64url text of a part as it stands.
    Text(Part, String),
    /// Takes a part from another of the real tokens.
    Borrow(Part, u8),
    /// Flips one bit of the decoded bytes of a part.
    Flip(Part, u16, u8),
    /// Cuts the text of a part to this many bytes.
    Truncate(Part, u16),
    /// Appends text to the whole token (a fourth part, padding, whitespace).
    Append(String),
}

/// The token `input` stands for, given the real tokens to start from.
pub fn token(input: &TokenInput, real: &[&str]) -> String {
    match input {
        TokenInput::Raw(text) => text.clone(),
        TokenInput::Mutated { base, edits } => {
            let Some(start) = pick(real, *base) else {
                return String::new();
            };
            let mut token = Token::parse(start);
            for edit in edits {
                token.apply(edit, real);
            }
            token.join()
        }
    }
}

fn pick<'a>(real: &[&'a str], index: u8) -> Option<&'a str> {
    (!real.is_empty()).then(|| real[usize::from(index) % real.len()])
}

/// The three parts as text, and whatever was appended.
struct Token {
    parts: [String; 3],
    tail: String,
}

impl Token {
    fn parse(token: &str) -> Token {
        let mut split = token.splitn(3, '.').map(str::to_string);
        let mut next = || split.next().unwrap_or_default();
        Token {
            parts: [next(), next(), next()],
            tail: String::new(),
        }
    }

    fn join(&self) -> String {
        format!(
            "{}.{}.{}{}",
            self.parts[0], self.parts[1], self.parts[2], self.tail
        )
    }

    fn text(&mut self, part: Part) -> &mut String {
        &mut self.parts[part as usize]
    }

    fn decoded(&mut self, part: Part) -> Vec<u8> {
        let text = self.text(part);
        URL_SAFE_NO_PAD
            .decode(text.as_bytes())
            .unwrap_or_else(|_| text.as_bytes().to_vec())
    }

    fn set_decoded(&mut self, part: Part, bytes: &[u8]) {
        *self.text(part) = URL_SAFE_NO_PAD.encode(bytes);
    }

    fn object(&mut self, part: Part) -> Map<String, Value> {
        match serde_json::from_slice(&self.decoded(part)) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    fn apply(&mut self, edit: &Edit, real: &[&str]) {
        match edit {
            Edit::Set(part, member, value) => {
                let mut object = self.object(*part);
                object.insert(member.name().to_string(), value.value());
                self.set_decoded(*part, Value::Object(object).to_string().as_bytes());
            }
            Edit::Remove(part, member) => {
                let mut object = self.object(*part);
                object.remove(member.name());
                self.set_decoded(*part, Value::Object(object).to_string().as_bytes());
            }
            Edit::Splice(part, at, text) => {
                let mut bytes = self.decoded(*part);
                let at = usize::from(*at).min(bytes.len());
                bytes.splice(at..at, text.bytes());
                self.set_decoded(*part, &bytes);
            }
            Edit::Decoded(part, bytes) => self.set_decoded(*part, bytes),
            Edit::Text(part, text) => *self.text(*part) = text.clone(),
            Edit::Borrow(part, other) => {
                if let Some(other) = pick(real, *other) {
                    *self.text(*part) = Token::parse(other).text(*part).clone();
                }
            }
            Edit::Flip(part, index, bit) => {
                let mut bytes = self.decoded(*part);
                if !bytes.is_empty() {
                    let i = usize::from(*index) % bytes.len();
                    bytes[i] ^= 1 << (bit % 8);
                    self.set_decoded(*part, &bytes);
                }
            }
            Edit::Truncate(part, len) => {
                let text = self.text(*part);
                let mut cut = usize::from(*len).min(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            Edit::Append(text) => self.tail.push_str(text),
        }
    }
}
