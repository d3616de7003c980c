//! The one error enum of payedge-core.
//!
//! Every variant carries a stable, machine-readable `code` (what a client
//! switches on) and a human message that says what was wrong and where. The
//! bindings map each variant to exactly one Python exception class.
use std::borrow::Cow;

/// A stable error code: a `&'static str` for fixed codes, owned when built at run time.
pub type Code = Cow<'static, str>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A webhook signature or signature header was rejected.
    #[error("{message}")]
    Signature { code: Code, message: String },

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
    Invalid {
        field: Cow<'static, str>,
        message: String,
    },
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
        }
    }

    /// The input at fault, where one is: a tariff's or routing rules' JSON path, an argument's name, or for
    /// money errors `currency` (unknown currency) or `amount` (everything else).
    pub fn param(&self) -> Option<&str> {
        match self {
            Error::Tariff { path, .. } | Error::Routing { path, .. } => Some(path),
            Error::Invalid { field, .. } => Some(field),
            Error::Money { code, .. } if code == "unknown_currency" => Some("currency"),
            Error::Money { .. } => Some("amount"),
            _ => None,
        }
    }

    pub fn signature(code: &'static str, message: impl Into<String>) -> Self {
        Error::Signature {
            code: Cow::Borrowed(code),
            message: message.into(),
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

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: Cow::Borrowed(field),
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
