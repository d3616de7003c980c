//! The one error enum of payedge-core.
//!
//! Every variant carries a stable, machine-readable `code` (what a client
//! switches on) and a human message that says what was wrong and where. The
//! bindings map each variant to exactly one Python exception class.
use std::borrow::Cow;

/// A stable error code: a `&'static str` for fixed codes, owned when built at run time.
pub type Code = Cow<'static, str>;

/// The input at fault: an argument's name as the caller wrote it (`secrets[1]`)
/// or a JSON path (`data.object.amount`).
pub type Param = Cow<'static, str>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A webhook signature or signature header was rejected; `param` names the
    /// argument at fault (set by the verifier, see `signature::Params`).
    #[error("{message}")]
    Signature {
        code: Code,
        param: Option<Param>,
        message: String,
    },

    /// A payload whose signature is valid but which cannot be what the parser
    /// reads (not JSON, a required field missing or of the wrong type); `param`
    /// is the JSON path of the field, or `payload` for the whole document.
    #[error("{message}")]
    Payload { param: Param, message: String },

    /// Bad money input: unknown currency, excess precision, overflow.
    #[error("{message}")]
    Money { code: Code, message: String },

    /// Invalid tariff rules; `path` is the JSON path of the bad field (e.g. `$.bands[2].unit_price`).
    #[error("{path}: {message}")]
    Tariff { path: String, message: String },

    /// Invalid routing rules; `path` is the JSON path of the bad field (e.g. `$.rules[1].when[0].op`).
    #[error("{path}: {message}")]
    Routing { path: String, message: String },

    /// A terminal queue or lock operation that cannot proceed (`terminal_busy`, `unknown_terminal`, ...).
    #[error("{message}")]
    Queue { code: Code, message: String },

    /// A lease token that is expired, completed or unknown.
    #[error("{message}")]
    StaleLease { token: u64, message: String },

    /// Idempotency-key misuse (e.g. a key longer than 255 characters).
    #[error("{message}")]
    Idempotency { code: Code, message: String },

    /// Any other bad argument; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: Param, message: String },
}

impl Error {
    /// The stable code a client can switch on.
    pub fn code(&self) -> &str {
        match self {
            Error::Signature { code, .. }
            | Error::Money { code, .. }
            | Error::Queue { code, .. }
            | Error::Idempotency { code, .. } => code,
            Error::Tariff { .. } => "invalid_tariff",
            Error::Routing { .. } => "invalid_routing_rules",
            Error::StaleLease { .. } => "stale_lease",
            Error::Invalid { .. } => "invalid_argument",
            Error::Payload { .. } => "invalid_payload",
        }
    }

    /// The input at fault, where one is: a tariff's or routing rules' JSON path, an argument's name, or for
    /// money errors `currency` (unknown currency) or `amount` (everything else).
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::Tariff { path, .. } | Error::Routing { path, .. } => Some(path),
            Error::Invalid { field, .. } => Some(field),
            Error::Signature { param, .. } => param.as_deref(),
            Error::Payload { param, .. } => Some(param),
            Error::Money { code, .. } if code == "unknown_currency" => Some("currency"),
            Error::Money { .. } => Some("amount"),
            _ => None,
        }
    }

    pub fn signature(code: &'static str, message: impl Into<String>) -> Self {
        Error::Signature {
            code: Cow::Borrowed(code),
            param: None,
            message: message.into(),
        }
    }

    pub fn payload(param: impl Into<Param>, message: impl Into<String>) -> Self {
        Error::Payload {
            param: param.into(),
            message: message.into(),
        }
    }

    /// The same error, about the input `param` (an argument as the caller
    /// named it, e.g. `secrets[1]`). Variants whose input is fixed by their code
    /// (money, queue, leases, idempotency keys) are returned unchanged.
    pub fn with_param(self, param: impl Into<Param>) -> Self {
        match self {
            Error::Signature { code, message, .. } => Error::Signature {
                code,
                param: Some(param.into()),
                message,
            },
            Error::Invalid { message, .. } => Error::Invalid {
                field: param.into(),
                message,
            },
            Error::Tariff { message, .. } => Error::Tariff {
                path: param.into().into_owned(),
                message,
            },
            Error::Payload { message, .. } => Error::Payload {
                param: param.into(),
                message,
            },
            other => other,
        }
    }

    pub fn money(code: &'static str, message: impl Into<String>) -> Self {
        Error::Money {
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    pub fn tariff(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Tariff {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn routing(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Routing {
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn queue(code: &'static str, message: impl Into<String>) -> Self {
        Error::Queue {
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    pub fn idempotency(code: &'static str, message: impl Into<String>) -> Self {
        Error::Idempotency {
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    pub fn invalid(field: impl Into<Param>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_names_the_bad_input() {
        assert_eq!(
            Error::money("unknown_currency", "m").param(),
            Some("currency")
        );
        assert_eq!(
            Error::money("excess_precision", "m").param(),
            Some("amount")
        );
        assert_eq!(Error::tariff("$.bands[1]", "m").param(), Some("$.bands[1]"));
        assert_eq!(Error::invalid("ttl", "m").param(), Some("ttl"));
        let routing = Error::routing("$.rules[1].when[0].op", "m");
        assert_eq!(routing.param(), Some("$.rules[1].when[0].op"));
        assert_eq!(routing.code(), "invalid_routing_rules");
        assert_eq!(Error::queue("terminal_busy", "m").param(), None);
        assert_eq!(Error::signature("no_timestamp", "m").param(), None);
        let named = Error::signature("no_timestamp", "m").with_param("header");
        assert_eq!(
            (named.code(), named.param()),
            ("no_timestamp", Some("header"))
        );
        let err = Error::payload("id", "m");
        assert_eq!((err.code(), err.param()), ("invalid_payload", Some("id")));
        assert_eq!(
            Error::invalid("keys", "m")
                .with_param("secrets[1]")
                .to_string(),
            "secrets[1]: m"
        );
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::signature("no_timestamp", "x").code(), "no_timestamp");
        assert_eq!(Error::tariff("$.bands", "empty").code(), "invalid_tariff");
        assert_eq!(
            Error::tariff("$.bands", "empty").to_string(),
            "$.bands: empty"
        );
        assert_eq!(
            Error::StaleLease {
                token: 3,
                message: "m".into()
            }
            .code(),
            "stale_lease"
        );
        assert_eq!(
            Error::invalid("amount", "negative").to_string(),
            "amount: negative"
        );
    }
}
