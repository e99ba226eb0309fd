//! ComfyUI client, workflow manifests and templates
