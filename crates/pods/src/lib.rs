//! Pod lifecycle on RunPod: spec, journal, readiness, teardown, cost meter, orphan sweep
