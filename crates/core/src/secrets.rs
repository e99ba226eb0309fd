//! The RunPod API key: in the OS keychain (or `RUNPOD_API_KEY`), never on disk, in the store,
//! or in a log line.

use serde::Serialize;
use studio_error::{Error, Result, Sensitive};

pub const API_KEY_ENV: &str = "RUNPOD_API_KEY";
const SERVICE: &str = "SteadyDancer Studio";
const ACCOUNT: &str = "runpod-api-key";

/// What the UI may know about the key: where it comes from and its last four characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyStatus {
    pub source: KeySource,
    pub last_four: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    None,
    Keychain,
    Environment,
}

fn entry() -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, ACCOUNT).map_err(keychain_error)
}

fn keychain_error(e: keyring::Error) -> Error {
    let message = match &e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => format!(
            "The system keychain is not available, so the key cannot be stored safely. Unlock or start your keychain (for example GNOME Keyring), or set {API_KEY_ENV} before starting the app."
        ),
        _ => "The system keychain refused the request. Try again, or set RUNPOD_API_KEY before starting the app.".to_string(),
    };
    // The keyring error text names the service, never the secret.
    Error::new("secrets.keychain_unavailable", message).with_source(e)
}

/// Trims and checks the shape of a key typed or pasted by the user.
pub fn parse_api_key(raw: &str) -> Result<Sensitive<String>> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(Error::new(
            "secrets.empty_key",
            "Paste your RunPod API key first. You find it at runpod.io under Settings > API Keys.",
        ));
    }
    if key.len() < 8 || key.chars().any(char::is_whitespace) {
        return Err(Error::new(
            "secrets.malformed_key",
            "That does not look like a RunPod API key. Copy the whole key from runpod.io (Settings > API Keys) and paste it again.",
        ));
    }
    Ok(Sensitive::new(key.to_string()))
}

#[tracing::instrument(skip_all)]
pub fn save_api_key(key: &Sensitive<String>) -> Result<()> {
    entry()?
        .set_password(key.expose())
        .map_err(keychain_error)?;
    tracing::info!("API key saved to the keychain");
    Ok(())
}

#[tracing::instrument]
pub fn delete_api_key() -> Result<()> {
    match entry()?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => {
            tracing::info!("API key removed from the keychain");
            Ok(())
        }
        Err(e) => Err(keychain_error(e)),
    }
}

fn keychain_key() -> Result<Option<Sensitive<String>>> {
    match entry()?.get_password() {
        Ok(key) => Ok(Some(Sensitive::new(key))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error(e)),
    }
}

fn env_key() -> Option<Sensitive<String>> {
    std::env::var(API_KEY_ENV)
        .ok()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .map(Sensitive::new)
}

/// The key to use: `RUNPOD_API_KEY` when set, else the keychain's.
pub fn load_api_key() -> Result<Option<Sensitive<String>>> {
    match env_key() {
        Some(key) => Ok(Some(key)),
        None => keychain_key(),
    }
}

/// Like [`load_api_key`], but a missing key is an error that says where to put one.
pub fn require_api_key() -> Result<Sensitive<String>> {
    load_api_key()?.ok_or_else(|| {
        Error::new(
            "secrets.no_key",
            format!("No RunPod API key is set. Add it in Settings, or set {API_KEY_ENV}."),
        )
    })
}

pub fn key_status() -> Result<KeyStatus> {
    if let Some(key) = env_key() {
        return Ok(KeyStatus {
            source: KeySource::Environment,
            last_four: Some(key.last_four()),
        });
    }
    Ok(match keychain_key()? {
        Some(key) => KeyStatus {
            source: KeySource::Keychain,
            last_four: Some(key.last_four()),
        },
        None => KeyStatus {
            source: KeySource::None,
            last_four: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_empty_and_malformed() {
        assert_eq!(
            parse_api_key("  ").expect_err("empty").code(),
            "secrets.empty_key"
        );
        assert_eq!(
            parse_api_key("abc").expect_err("short").code(),
            "secrets.malformed_key"
        );
        assert_eq!(
            parse_api_key("rpa_abc def123").expect_err("space").code(),
            "secrets.malformed_key"
        );
        let key = parse_api_key("  rpa_ABCDEF123456\n").expect("valid");
        assert_eq!(key.expose(), "rpa_ABCDEF123456");
        assert_eq!(key.last_four(), "3456");
    }

    #[test]
    fn status_never_serialises_the_key() {
        let status = KeyStatus {
            source: KeySource::Keychain,
            last_four: Some("3456".into()),
        };
        assert_eq!(
            serde_json::to_string(&status).expect("json"),
            r#"{"source":"keychain","lastFour":"3456"}"#
        );
    }
}
