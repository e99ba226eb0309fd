//! Server-Sent Events framing (the WHATWG `text/event-stream` format), fed in whatever chunks
//! the network delivers: a line, a UTF-8 character or a CRLF pair may be split between two.

use std::time::Duration;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The last `id:` seen on this connection up to this event (ids persist across events).
    pub id: Option<String>,
    /// `message` unless the server named it.
    pub event: String,
    pub data: String,
}

/// A line longer than this is cut: a misbehaving server must not grow memory without bound.
/// Log lines are far shorter; a cut line fails to parse as JSON and is skipped.
const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous byte ended a line with CR: an LF right after it belongs to the same break.
    after_cr: bool,
    started: bool,
    data: String,
    event: String,
    /// Set by `id:` lines; becomes the event's id when it is dispatched.
    id_buffer: Option<String>,
    /// As of the last dispatch (the spec's "last event ID string"): an id line of an event cut
    /// off by a dropped connection must not count, or resuming would skip that event.
    last_id: Option<String>,
    retry: Option<Duration>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; complete events are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) {
        for &b in chunk {
            if b == b'\n' && self.after_cr {
                self.after_cr = false;
                continue;
            }
            if b == b'\n' || b == b'\r' {
                self.after_cr = b == b'\r';
                let line = std::mem::take(&mut self.line);
                self.end_line(&line, out);
            } else {
                self.after_cr = false;
                if self.line.len() < MAX_LINE {
                    self.line.push(b);
                }
            }
        }
    }

    /// The reconnection delay the server asked for, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The id to send as `Last-Event-ID` when reconnecting (readers keep the id of the last
    /// event they handed out instead, which is the same thing).
    #[cfg(test)]
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    fn end_line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) {
        let mut bytes = raw;
        if !self.started {
            self.started = true;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if bytes.is_empty() {
            self.dispatch(out);
            return;
        }
        if bytes[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.event = value.to_string(),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                self.id_buffer = (!value.is_empty()).then(|| value.to_string());
            }
            "retry" if !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()) => {
                self.retry = value.parse::<u64>().ok().map(Duration::from_millis);
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        self.last_id = self.id_buffer.clone();
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        out.push(SseEvent {
            id: self.last_id.clone(),
            event: if event.is_empty() {
                "message".to_string()
            } else {
                event
            },
            data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in(chunks: &[&[u8]]) -> (Vec<SseEvent>, SseParser) {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out);
        }
        (out, p)
    }

    #[test]
    fn events_with_ids_and_comments() {
        let (ev, p) = parse_in(&[
            b": keep-alive\n\nid: a/1\ndata: {\"line\":\"x\"}\n\nid: a/2\ndata: two\n\n",
        ]);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].id.as_deref(), Some("a/1"));
        assert_eq!(ev[0].data, "{\"line\":\"x\"}");
        assert_eq!(ev[0].event, "message");
        assert_eq!(ev[1].id.as_deref(), Some("a/2"));
        assert_eq!(p.last_id(), Some("a/2"));
    }

    #[test]
    fn byte_by_byte_is_the_same_as_whole() {
        let whole: &[u8] =
            "id: 1\r\ndata: héllo\r\ndata: wörld\r\n\r\nevent: x\rdata: y\r\r".as_bytes();
        let (a, _) = parse_in(&[whole]);
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        let (b, _) = parse_in(&bytes);
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].data, "héllo\nwörld");
        assert_eq!(a[1].event, "x");
        assert_eq!(a[1].id.as_deref(), Some("1"), "ids persist across events");
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        let (ev, p) = parse_in(&[b"id: 7\ndata: whole\n\nid: 8\ndata: {\"half"]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].id.as_deref(), Some("7"));
        assert_eq!(p.last_id(), Some("7"), "resume from the last whole event");
    }

    #[test]
    fn fields_without_space_empty_data_retry_and_bom() {
        let (ev, p) =
            parse_in(&[b"\xEF\xBB\xBFdata:a\n\ndata\n\nretry: 2500\nretry: x\nid\ndata: b\n\n"]);
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].data, "a");
        assert_eq!(ev[1].data, "");
        assert_eq!(ev[2].id, None, "an empty id resets it");
        assert_eq!(p.retry(), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn blank_lines_alone_dispatch_nothing_and_ids_with_nul_are_ignored() {
        let (ev, p) = parse_in(&[b"\n\n\nid: ok\nid: bad\0id\nevent: e\n\n"]);
        assert!(ev.is_empty());
        assert_eq!(p.last_id(), Some("ok"), "a blank line still settles the id");
    }

    #[test]
    fn overlong_lines_are_cut() {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        p.push(b"data: ", &mut out);
        p.push(&vec![b'x'; MAX_LINE + 10], &mut out);
        p.push(b"\n\n", &mut out);
        assert_eq!(out[0].data.len(), MAX_LINE - "data: ".len());
    }
}
