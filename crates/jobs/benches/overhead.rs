//! App overhead per render (written below once the rig is shared); see the crate README.
fn main() {}
