#![no_main]
//! The Stripe event reader behind `parse_stripe_event`, on any bytes signed
//! with a valid signature: never a panic, never a signature error after the
//! signature verified, a refusal only as a payload error naming a field, and an
//! accepted event whose listed `malformed` paths are ones the reader can name.
use libfuzzer_sys::fuzz_target;
use payedge_core::event::{parse_event, parse_stripe_event};
use payedge_core::signature::{sign_stripe, StripeKey, UnixTime};
use payedge_core::Error;

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fuzz_target!(|data: &[u8]| {
    let Ok(key) = StripeKey::new("whsec_fuzz") else {
        return;
    };
    let header = sign_stripe(data, &key, 1_700_000_000);
    match parse_stripe_event(data, &header, &[key], Some(300), NOW) {
        Ok((_, event)) => {
            for path in &event.malformed {
                assert!(
                    path == "livemode" || path == "data" || path.starts_with("data.object"),
                    "{path}"
                );
            }
            // reading the same text again gives the same event
            let text = std::str::from_utf8(data).expect("verified payloads are UTF-8");
            assert_eq!(parse_event(text).ok(), Some(event));
        }
        Err(Error::Payload { param, .. }) => {
            assert!(["payload", "id", "type", "created"].contains(&&*param), "{param}");
        }
        // Stripe signs text: only a non-UTF-8 body fails verification here
        Err(err) => {
            assert_eq!(err.code(), "invalid_payload", "{err:?}");
            assert!(std::str::from_utf8(data).is_err());
        }
    }
});
