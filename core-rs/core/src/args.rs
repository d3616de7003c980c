//! Argument checks shared by the clocked structures (dedupe, idempotency,
//! terminal queue, lease locks), so each rejects bad input the same way.
use crate::{Error, Result};

/// Reject a `now` that would poison expiry arithmetic (NaN, infinities).
pub(crate) fn check_now(now: f64) -> Result<()> {
    if now.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(
            "now",
            format!("must be a finite number of seconds, got {now}"),
        ))
    }
}

/// Reject a TTL that is not a positive, finite number of seconds.
pub(crate) fn check_ttl(field: &'static str, ttl: f64) -> Result<()> {
    if ttl.is_finite() && ttl > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be a positive, finite number of seconds, got {ttl}"),
        ))
    }
}

/// Reject an empty identifier.
pub(crate) fn check_id(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        Err(Error::invalid(field, "must be a non-empty string"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_ttl_and_id() {
        assert!(check_now(1.5).is_ok());
        assert!(check_now(f64::NAN).is_err());
        assert!(check_now(f64::INFINITY).is_err());
        assert!(check_ttl("ttl", 1.0).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = check_ttl("ttl", bad).unwrap_err();
            assert_eq!(err.code(), "invalid_argument");
            assert!(err.to_string().starts_with("ttl: "));
        }
        assert!(check_id("user_id", "u1").is_ok());
        assert_eq!(
            check_id("user_id", "").unwrap_err().to_string(),
            "user_id: must be a non-empty string"
        );
    }
}
