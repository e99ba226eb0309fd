use std::fmt;

/// A value that must never be printed, logged or serialised: the RunPod API key, for one.
///
/// `Debug` and `Display` print `<redacted>`; `Serialize` fails, so a secret that slips into a
/// struct bound for the store or the UI breaks loudly instead of leaking quietly.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The only way to reach the value; grep for it when auditing where secrets go.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Sensitive<String> {
    /// What the UI may show of a key: its last four characters.
    pub fn last_four(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let start = chars.len().saturating_sub(4);
        chars[start..].iter().collect()
    }
}

impl<T> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "refusing to serialise a sensitive value",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let key = Sensitive::new("rpa_SECRETKEY1234".to_string());
        assert_eq!(format!("{key:?}"), "<redacted>");
        assert_eq!(format!("{key}"), "<redacted>");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            key: Sensitive<String>,
        }
        let shown = format!("{:?}", Holder { key });
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn refuses_to_serialise() {
        let key = Sensitive::new("rpa_SECRETKEY1234".to_string());
        let err = serde_json::to_string(&key).expect_err("must refuse");
        assert!(err.to_string().contains("refusing"));
    }

    #[test]
    fn last_four_only() {
        assert_eq!(
            Sensitive::new("rpa_ABCDEFGH9876".to_string()).last_four(),
            "9876"
        );
        assert_eq!(Sensitive::new("ab".to_string()).last_four(), "ab");
    }
}
