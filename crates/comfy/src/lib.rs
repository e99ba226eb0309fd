//! ComfyUI client, workflow manifests and templates. Knows nothing of RunPod or Tauri: give it a
//! server URL (a pod's proxy URL, or a ComfyUI of the user's own) and a manifest.

mod client;
mod config;
mod download;
pub mod errors;
mod events;
mod follow;
mod limits;
mod manifest;
mod output_kind;
mod param_rule;
mod readiness;
mod redirect;
mod render;
mod save_as;
mod template;
mod upload;
mod validate;

pub use client::{ComfyClient, QueuedPrompt};
pub use config::ClientConfig;
pub use download::{OutputFile, outputs_of, safe_file_name};
pub use events::{ComfyEvent, history_outcome, parse_message, run_error};
pub use follow::Follower;
pub use limits::OutputLimits;
pub use manifest::{
    Manifest, ModelRequirement, OutputSpec, ParamSpec, Requires, Target, locate_workflow,
};
pub use output_kind::{MANIFEST_OUTPUT_KIND, OutputKind, kind_of_class};
pub use readiness::{Readiness, choices, missing_models, missing_nodes};
pub use render::{RenderEvent, RenderOutput, RenderRequest, RenderedFile, render, verify_download};
pub use save_as::{LocalFile, SaveAs, expected_extension, format_extension, set_output_prefix};
pub use template::{check_value, fill, parse_param};
pub use tokio_util::sync::CancellationToken;
pub use validate::{Problem, check_workflow, problems_to_result};
