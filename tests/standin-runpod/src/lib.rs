//! A stand-in RunPod REST v2 server (with pod HTTP proxy) for tests and demo mode
