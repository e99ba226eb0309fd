//! Redirects: ComfyUI and the RunPod proxy have no reason to send a request elsewhere, and a
//! redirect to another host would carry the user's photo, or fetch a "result", from a server
//! nobody chose. Redirects within the same origin are followed; any other is refused.

use crate::errors::REDIRECT_REFUSED;
use reqwest::redirect::{Attempt, Policy};
use studio_error::Error;
use url::Url;

/// Same-origin hops a request may take before it is given up.
const MAX_HOPS: usize = 5;

#[derive(Debug)]
struct OtherHost(String);

impl std::fmt::Display for OtherHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to another host refused: {}", self.0)
    }
}

impl std::error::Error for OtherHost {}

/// Follows a redirect only to the origin (scheme, host, port) the request was sent to.
pub fn same_origin() -> Policy {
    Policy::custom(|attempt: Attempt<'_>| {
        let first = attempt.previous().first().map(Url::origin);
        if first.as_ref() != Some(&attempt.url().origin()) {
            let to = attempt.url().origin().ascii_serialization();
            return attempt.error(OtherHost(to));
        }
        if attempt.previous().len() > MAX_HOPS {
            return attempt.error(OtherHost("too many redirects".into()));
        }
        attempt.follow()
    })
}

/// The error for a request that a server tried to send elsewhere.
pub(crate) fn refused(what: &str, base: &Url, e: reqwest::Error) -> Error {
    let to = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<OtherHost>())
        .map(|h| h.0.clone())
        .unwrap_or_else(|| "another address".into());
    Error::new(
        REDIRECT_REFUSED,
        format!(
            "Could not {what}: ComfyUI at {} redirected the request to {to}. The app does not \
             follow a server to another host; check the URL, and that nothing between you and \
             the server rewrites requests.",
            base.origin().ascii_serialization()
        ),
    )
    .with_source(e)
}
