//! The in-pod dead-man timer: a background shell loop started before the image's own command
//! that deletes the pod through the REST API after a maximum lifetime, using the pod's own
//! `RUNPOD_POD_ID` and `RUNPOD_API_KEY`. See DEADMAN.md for where it works and where not.

use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadMan {
    pub lifetime: Duration,
    /// The REST v2 base the pod calls (the same the app uses).
    pub api_base: Url,
    /// Pause between attempts when the delete fails.
    pub retry_every: Duration,
}

impl DeadMan {
    pub fn new(lifetime: Duration, api_base: Url) -> Self {
        Self {
            lifetime,
            api_base,
            retry_every: Duration::from_secs(30),
        }
    }

    /// POSIX `sh` that returns at once and, in the background, deletes this pod when the
    /// lifetime is over: curl, then python3 (every ComfyUI image has it), then wget, then
    /// runpodctl; it keeps trying until RunPod answers 2xx or 404.
    pub fn shell_snippet(&self) -> String {
        let url = format!("{}/pods/", self.api_base.as_str().trim_end_matches('/'));
        let agent = concat!("SteadyDancerStudio-deadman/", env!("CARGO_PKG_VERSION"));
        let py = "import os,sys,urllib.request as u\n\
r=u.Request(sys.argv[1],method=\"DELETE\",headers={\"Authorization\":\"Bearer \"+os.environ[\"RUNPOD_API_KEY\"],\"User-Agent\":sys.argv[2]})\n\
try:\n print(u.urlopen(r,timeout=30).status)\n\
except u.HTTPError as e:\n print(e.code)\n\
except Exception:\n print(0)";
        format!(
            r#"( sleep {secs}
u={url}"$RUNPOD_POD_ID"
while :; do
 c=0
 if command -v curl >/dev/null 2>&1; then
  c=$(curl -s -o /dev/null -w "%{{http_code}}" -m 30 -X DELETE -H "Authorization: Bearer $RUNPOD_API_KEY" -A {agent} "$u")
 elif command -v python3 >/dev/null 2>&1; then
  c=$(python3 -c {py} "$u" {agent})
 elif command -v wget >/dev/null 2>&1; then
  wget -q -O /dev/null -T 30 --method=DELETE --header="Authorization: Bearer $RUNPOD_API_KEY" -U {agent} "$u" && c=204
 elif command -v runpodctl >/dev/null 2>&1; then
  runpodctl remove pod "$RUNPOD_POD_ID" && c=204
 fi
 case "$c" in 2??|404) break ;; esac
 sleep {retry}
done ) >/dev/null 2>&1 &
"#,
            secs = self.lifetime.as_secs().max(1),
            url = sh_quote(&url),
            agent = sh_quote(agent),
            py = sh_quote(py),
            retry = self.retry_every.as_secs().max(1),
        )
    }

    /// The pod's `args`: arm the timer, then hand the container to the image's own command.
    pub fn container_args(&self, start_command: &str) -> String {
        let script = format!("{}exec {start_command}", self.shell_snippet());
        format!("sh -c {}", sh_quote(&script))
    }
}

impl DeadMan {
    /// The pod's `args` for a script of ours (the bootstrap): arm the timer, then run it in
    /// the same shell (it keeps ComfyUI as its child so it can report ComfyUI's exit).
    pub fn script_args(&self, script: &str) -> String {
        format!(
            "sh -c {}",
            sh_quote(&format!("{}{script}", self.shell_snippet()))
        )
    }
}

/// Single-quotes `s` for POSIX shells (a `'` becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn snippet_names_the_pod_variables_and_never_a_key() {
        let d = DeadMan::new(
            Duration::from_secs(3600),
            Url::parse("https://api.runpod.io/v2").expect("url"),
        );
        let s = d.shell_snippet();
        assert!(s.contains("sleep 3600"));
        assert!(s.contains("'https://api.runpod.io/v2/pods/'\"$RUNPOD_POD_ID\""));
        assert!(s.contains("$RUNPOD_API_KEY"));
        assert!(!s.contains("rpa_"));
        assert!(d.container_args("/start.sh").starts_with("sh -c '"));
        assert!(d.container_args("/start.sh").ends_with("exec /start.sh'"));
    }
}
