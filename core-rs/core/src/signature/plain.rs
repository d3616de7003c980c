//! Plain HMAC-SHA256 of the raw body, for providers whose callbacks carry a
//! bare hex or base64 MAC (CinetPay and others). The payload is any bytes.
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use subtle::ConstantTimeEq;

use super::{codes, HmacKey, HMAC_PARAMS, MAX_HEADER_LEN};
use crate::{Error, Result};

/// How the signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacEncoding {
    /// 64 hex digits, either case.
    Hex,
    /// Standard-alphabet base64 of the 32 bytes, padding optional.
    Base64,
}

impl HmacEncoding {
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "hex" => Ok(Self::Hex),
            "base64" => Ok(Self::Base64),
            _ => Err(Error::signature(
                codes::INVALID_ARGUMENT,
                format!("encoding must be \"hex\" or \"base64\", not {name:?}"),
            )
            .with_param("encoding")),
        }
    }
}

const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn malformed(message: &str) -> Error {
    Error::signature(codes::MALFORMED_SIGNATURE, message)
}

/// Decode the claimed MAC into its 32 bytes.
fn decode(signature: &str, encoding: HmacEncoding) -> Result<[u8; 32]> {
    if signature.is_empty() {
        return Err(Error::signature(
            codes::MISSING_HEADER,
            "the signature is empty",
        ));
    }
    if signature.len() > MAX_HEADER_LEN {
        return Err(Error::signature(
            codes::HEADER_TOO_LARGE,
            format!("the signature is longer than {MAX_HEADER_LEN} bytes"),
        ));
    }
    let mut out = [0u8; 32];
    match encoding {
        HmacEncoding::Hex => hex::decode_to_slice(signature, &mut out)
            .map_err(|_| malformed("the signature is not 64 hex digits"))?,
        HmacEncoding::Base64 => {
            // 32 bytes need 43 or 44 characters; anything else cannot be a SHA-256 MAC
            if !(43..=44).contains(&signature.len()) {
                return Err(malformed("the signature is not base64 of 32 bytes"));
            }
            let mut buf = [0u8; 33];
            let n = B64
                .decode_slice(signature, &mut buf)
                .map_err(|_| malformed("the signature is not base64 of 32 bytes"))?;
            if n != 32 {
                return Err(malformed("the signature is not base64 of 32 bytes"));
            }
            out.copy_from_slice(&buf[..32]);
        }
    }
    Ok(out)
}

/// Check `signature == hmac-sha256(secret, payload)` in constant time.
/// Errors name their argument (`signature`, `secret`) in `param`.
pub fn verify_hmac(
    payload: &[u8],
    signature: &str,
    secret: &[u8],
    encoding: HmacEncoding,
) -> Result<()> {
    verify(payload, signature, secret, encoding).map_err(|e| HMAC_PARAMS.name(e))
}

fn verify(payload: &[u8], signature: &str, secret: &[u8], encoding: HmacEncoding) -> Result<()> {
    if secret.is_empty() {
        return Err(Error::signature(
            codes::INVALID_SECRET,
            "the secret is empty",
        ));
    }
    let claimed = decode(signature, encoding)?;
    let expected = HmacKey::new(secret)?.sign(&[payload]);
    if bool::from(expected.ct_eq(&claimed)) {
        Ok(())
    } else {
        Err(Error::signature(
            codes::SIGNATURE_MISMATCH,
            "the signature does not match the payload",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use proptest::prelude::*;

    fn mac(secret: &[u8], payload: &[u8]) -> [u8; 32] {
        HmacKey::new(secret).unwrap().sign(&[payload])
    }

    #[test]
    fn hex_and_base64() {
        let m = mac(b"k", b"body");
        let lower = hex::encode(m);
        assert!(verify_hmac(b"body", &lower, b"k", HmacEncoding::Hex).is_ok());
        assert!(verify_hmac(b"body", &lower.to_uppercase(), b"k", HmacEncoding::Hex).is_ok());
        assert!(verify_hmac(b"body", &STANDARD.encode(m), b"k", HmacEncoding::Base64).is_ok());
        assert!(verify_hmac(
            b"body",
            &STANDARD_NO_PAD.encode(m),
            b"k",
            HmacEncoding::Base64
        )
        .is_ok());
        let err = |sig: &str, enc| {
            verify_hmac(b"body", sig, b"k", enc)
                .unwrap_err()
                .code()
                .to_string()
        };
        assert_eq!(err(&lower[..62], HmacEncoding::Hex), "malformed_signature");
        assert_eq!(err("zz", HmacEncoding::Hex), "malformed_signature");
        assert_eq!(err(&lower, HmacEncoding::Base64), "malformed_signature");
        assert_eq!(err("", HmacEncoding::Hex), "missing_header");
        assert_eq!(
            err(&hex::encode(mac(b"other", b"body")), HmacEncoding::Hex),
            "signature_mismatch"
        );
        assert_eq!(
            verify_hmac(b"body", &lower, b"", HmacEncoding::Hex)
                .unwrap_err()
                .code(),
            "invalid_secret"
        );
        assert!(verify_hmac(
            b"\xff\xfe",
            &hex::encode(mac(b"k", b"\xff\xfe")),
            b"k",
            HmacEncoding::Hex
        )
        .is_ok());
    }

    #[test]
    fn encodings_by_name() {
        assert_eq!(HmacEncoding::from_name("hex"), Ok(HmacEncoding::Hex));
        assert_eq!(HmacEncoding::from_name("base64"), Ok(HmacEncoding::Base64));
        assert_eq!(
            HmacEncoding::from_name("HEX").unwrap_err().code(),
            "invalid_argument"
        );
    }

    proptest! {
        #[test]
        fn only_the_right_mac_verifies(payload in proptest::collection::vec(any::<u8>(), 0..300), flip in 0usize..32) {
            let m = mac(b"secret", &payload);
            prop_assert!(verify_hmac(&payload, &hex::encode(m), b"secret", HmacEncoding::Hex).is_ok());
            let mut bad = m;
            bad[flip] ^= 1;
            prop_assert!(verify_hmac(&payload, &STANDARD.encode(bad), b"secret", HmacEncoding::Base64).is_err());
        }
    }
}
