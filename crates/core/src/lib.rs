//! The studio core: settings, secrets, data directory, logging, pods, jobs, gallery
