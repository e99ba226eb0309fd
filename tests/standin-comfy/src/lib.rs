//! A stand-in ComfyUI server speaking ComfyUI's protocol, for tests and demo mode
