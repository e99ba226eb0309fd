//! Round trip through the machine's real keychain (a Secret Service on Linux).
//!
//! The test scripts start a private gnome-keyring and set `STUDIO_TEST_KEYCHAIN=1`; there the
//! keychain is required. On a machine without one the test says it was skipped, and under `CI` it
//! fails.

use studio_core::secrets;

#[test]
fn key_round_trip_through_the_real_keychain() {
    if std::env::var_os("STUDIO_TEST_KEYCHAIN").is_none() {
        studio_error::cannot_run_here(
            "key_round_trip_through_the_real_keychain",
            "no keychain for tests on this machine (STUDIO_TEST_KEYCHAIN unset; \
             scripts/keyring-session.sh starts one)",
        );
        return;
    }
    // SAFETY of the environment: this is the only test in this binary.
    let key = secrets::parse_api_key("rpa_TESTKEY_ROUNDTRIP_7788").expect("valid key");
    secrets::save_api_key(&key).expect("save");
    let status = secrets::key_status().expect("status");
    assert_eq!(status.source, secrets::KeySource::Keychain);
    assert_eq!(status.last_four.as_deref(), Some("7788"));
    let loaded = secrets::load_api_key().expect("load").expect("present");
    assert_eq!(loaded.expose(), key.expose());

    let replaced = secrets::parse_api_key("rpa_TESTKEY_REPLACED_1234").expect("valid");
    secrets::save_api_key(&replaced).expect("replace");
    assert_eq!(
        secrets::key_status().expect("status").last_four.as_deref(),
        Some("1234")
    );

    secrets::delete_api_key().expect("delete");
    assert_eq!(
        secrets::key_status().expect("status").source,
        secrets::KeySource::None
    );
    secrets::delete_api_key().expect("deleting twice is fine");
    assert_eq!(
        secrets::require_api_key().expect_err("gone").code(),
        "secrets.no_key"
    );
}
