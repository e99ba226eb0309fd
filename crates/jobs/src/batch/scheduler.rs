//! The scheduler: local preparation first, then up to `max_pods` leases over the queue.

use super::{BatchControl, BatchOutcome};
use crate::engine::Engine;
use crate::events::EventSink;
use studio_error::{Error, Result};

impl Engine {
    pub(crate) async fn run_queue(
        &self,
        batch_id: &str,
        _control: BatchControl,
        _events: EventSink,
    ) -> Result<BatchOutcome> {
        Err(Error::internal(format!(
            "batch {batch_id}: the queue is not running yet"
        )))
    }
}
