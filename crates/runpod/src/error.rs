//! RunPod's answers mapped to stable codes the UI and the pod lifecycle act on.

use reqwest::StatusCode;
use serde::Deserialize;
use studio_error::Error;

pub mod codes {
    /// 401: the key is wrong, expired or revoked.
    pub const UNAUTHORIZED: &str = "runpod.unauthorized";
    /// 403: the key lacks access, a GPU pool is not open to the account, or the edge blocked us.
    pub const FORBIDDEN: &str = "runpod.forbidden";
    /// 402: not enough credit (at least one hour's worth is needed to deploy).
    pub const INSUFFICIENT_BALANCE: &str = "runpod.insufficient_balance";
    /// 400 with RunPod's capacity text: try the next GPU candidate.
    pub const NO_CAPACITY: &str = "runpod.no_capacity";
    /// 400 for any other rule violation.
    pub const REJECTED: &str = "runpod.rejected";
    /// 422: the body breaks the contract; never retried.
    pub const INVALID_REQUEST: &str = "runpod.invalid_request";
    /// 429 after the retries the client allows.
    pub const RATE_LIMITED: &str = "runpod.rate_limited";
    /// 5xx or the network, after bounded retries.
    pub const UNAVAILABLE: &str = "runpod.unavailable";
    pub const NOT_FOUND: &str = "runpod.not_found";
    /// 409: the action is not valid in the pod's current status.
    pub const CONFLICT: &str = "runpod.conflict";
    /// An answer this client cannot read.
    pub const BAD_RESPONSE: &str = "runpod.bad_response";
}

/// The capacity text is the only thing telling "no capacity" from another 400.
const CAPACITY_MARKERS: &[&str] = &[
    "no longer any instances available",
    "no instances available",
    "not enough capacity",
];

/// RFC 9457 problem document.
#[derive(Debug, Default, Deserialize)]
pub struct Problem {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub errors: Vec<String>,
}

impl Problem {
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_else(|_| Self {
            detail: String::from_utf8_lossy(body).chars().take(300).collect(),
            ..Self::default()
        })
    }

    fn text(&self) -> &str {
        if self.detail.is_empty() {
            &self.title
        } else {
            &self.detail
        }
    }
}

pub fn is_capacity_text(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    CAPACITY_MARKERS.iter().any(|m| lower.contains(m))
}

/// The error for a non-success answer to `what` (for instance "create the pod").
pub fn from_status(status: StatusCode, body: &[u8], what: &str) -> Error {
    let p = Problem::parse(body);
    let said = p.text().trim().to_string();
    match status.as_u16() {
        401 => Error::new(
            codes::UNAUTHORIZED,
            "RunPod did not accept the API key. Check it in Settings, or create a new key in the RunPod console.",
        ),
        402 => Error::new(
            codes::INSUFFICIENT_BALANCE,
            format!(
                "Your RunPod balance is too low to {what} ({said}). Add credit in the RunPod console, then try again."
            ),
        ),
        403 if said.contains("1010") => Error::new(
            codes::FORBIDDEN,
            format!(
                "RunPod's edge refused the request to {what} (Cloudflare 1010). Update the app."
            ),
        ),
        403 => Error::new(
            codes::FORBIDDEN,
            format!(
                "RunPod refused to {what}: {said}. Check that the API key has read/write access to pods."
            ),
        ),
        404 => Error::new(
            codes::NOT_FOUND,
            format!("RunPod could not {what}: {said}."),
        ),
        409 => Error::new(
            codes::CONFLICT,
            format!("RunPod could not {what} now: {said}."),
        ),
        400 if is_capacity_text(&said) => Error::new(
            codes::NO_CAPACITY,
            format!("RunPod has no free GPU of this type right now ({said})."),
        ),
        400 => Error::new(
            codes::REJECTED,
            format!("RunPod refused to {what}: {said}."),
        ),
        422 => {
            let details = if p.errors.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.errors.join("; "))
            };
            Error::new(
                codes::INVALID_REQUEST,
                format!(
                    "RunPod rejected the request to {what} as invalid: {said}{details}. Check the pod settings."
                ),
            )
        }
        429 => Error::new(
            codes::RATE_LIMITED,
            format!("RunPod is limiting requests; could not {what}. Wait a minute and try again."),
        ),
        s if s >= 500 => Error::new(
            codes::UNAVAILABLE,
            format!("RunPod had a server error ({s}) and could not {what}. Try again in a moment."),
        ),
        s => Error::new(
            codes::BAD_RESPONSE,
            format!("RunPod answered {s} when asked to {what}: {said}."),
        ),
    }
}

pub fn network(what: &str, err: reqwest::Error) -> Error {
    Error::new(
        codes::UNAVAILABLE,
        format!("Could not reach RunPod to {what}. Check the internet connection and try again."),
    )
    .with_source(err)
}

pub fn bad_body(what: &str, err: serde_json::Error) -> Error {
    Error::new(
        codes::BAD_RESPONSE,
        format!("RunPod's answer to {what} could not be read. The app may need an update."),
    )
    .with_source(err)
}
