//! The states a render moves through, in the order the user sees them.

use serde::{Deserialize, Serialize};
use studio_error::{Error, Result};

/// One state of a render. Every non-terminal state names the side effect that is about to happen,
/// so a journal row left behind by a crash says exactly what may have been started.
/// Ordered as they happen (`Ord`), so "later than" comparisons follow the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    Queued,
    CheckingInputs,
    Normalising,
    StartingPod,
    /// The pinned environment's bootstrap installs ComfyUI, the node packs and Python packages.
    InstallingSoftware,
    /// The bootstrap downloads and checks the model files (skipped when a volume holds them).
    DownloadingModels,
    WaitingForComfy,
    WaitingForModels,
    Uploading,
    QueuedOnComfy,
    Generating,
    Downloading,
    Verifying,
    TearingDown,
    Done,
    Failed,
    Cancelled,
    Interrupted,
}

impl Stage {
    pub const ALL: [Stage; 18] = [
        Stage::Queued,
        Stage::CheckingInputs,
        Stage::Normalising,
        Stage::StartingPod,
        Stage::InstallingSoftware,
        Stage::DownloadingModels,
        Stage::WaitingForComfy,
        Stage::WaitingForModels,
        Stage::Uploading,
        Stage::QueuedOnComfy,
        Stage::Generating,
        Stage::Downloading,
        Stage::Verifying,
        Stage::TearingDown,
        Stage::Done,
        Stage::Failed,
        Stage::Cancelled,
        Stage::Interrupted,
    ];

    /// The stable name stored in the journal (and identical to the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::CheckingInputs => "checkingInputs",
            Stage::Normalising => "normalising",
            Stage::StartingPod => "startingPod",
            Stage::InstallingSoftware => "installingSoftware",
            Stage::DownloadingModels => "downloadingModels",
            Stage::WaitingForComfy => "waitingForComfy",
            Stage::WaitingForModels => "waitingForModels",
            Stage::Uploading => "uploading",
            Stage::QueuedOnComfy => "queuedOnComfy",
            Stage::Generating => "generating",
            Stage::Downloading => "downloading",
            Stage::Verifying => "verifying",
            Stage::TearingDown => "tearingDown",
            Stage::Done => "done",
            Stage::Failed => "failed",
            Stage::Cancelled => "cancelled",
            Stage::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Result<Stage> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::new(
                    "jobs.journal_corrupt",
                    format!("The job journal names an unknown stage \"{s}\". Delete jobs.sqlite if it was edited by hand."),
                )
            })
    }

    /// Finished one way or another: nothing more will happen to this job.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Stage::Done | Stage::Failed | Stage::Cancelled | Stage::Interrupted
        )
    }

    /// A short label for people (CLI, notifications).
    pub fn label(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::CheckingInputs => "checking inputs",
            Stage::Normalising => "normalising",
            Stage::StartingPod => "starting pod",
            Stage::InstallingSoftware => "installing software",
            Stage::DownloadingModels => "downloading models",
            Stage::WaitingForComfy => "waiting for ComfyUI",
            Stage::WaitingForModels => "waiting for models",
            Stage::Uploading => "uploading",
            Stage::QueuedOnComfy => "queued on ComfyUI",
            Stage::Generating => "generating",
            Stage::Downloading => "downloading",
            Stage::Verifying => "verifying",
            Stage::TearingDown => "tearing down",
            Stage::Done => "done",
            Stage::Failed => "failed",
            Stage::Cancelled => "cancelled",
            Stage::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for st in Stage::ALL {
            assert_eq!(Stage::parse(st.as_str()).expect("parse"), st);
            let json = serde_json::to_string(&st).expect("serialise");
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
        assert!(Stage::parse("bogus").is_err());
    }

    #[test]
    fn only_the_four_endings_are_terminal() {
        let terminal: Vec<_> = Stage::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [
                Stage::Done,
                Stage::Failed,
                Stage::Cancelled,
                Stage::Interrupted
            ]
        );
    }
}
