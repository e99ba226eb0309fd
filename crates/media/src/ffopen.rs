//! The two places where ffmpeg-next has no safe way to say what we need, so we call FFmpeg
//! directly: opening an input with our options *and* a pixel cap for the decoders that stream
//! analysis runs (avformat_find_stream_info decodes first frames, so a picture bomb would be
//! decoded before we ever see its size), and the same cap on our own decoders.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::ptr;

use ff::ffi;
use ff::format::context::Input;
use ffmpeg_next as ff;

/// Opens `url` (a plain path, see `guard::ffmpeg_path`) with `options` for the format context,
/// and every decoder opened while analysing its streams held to `max_pixels` per picture.
pub(crate) fn open_input(
    url: &str,
    options: ff::Dictionary<'_>,
    max_pixels: u64,
    interrupt: impl FnMut() -> bool + Send + 'static,
) -> Result<Input, ff::Error> {
    let url = CString::new(url).map_err(|_| ff::Error::InvalidData)?;
    let interrupt = ff::util::interrupt::new(Box::new(interrupt));
    // SAFETY: the same sequence as ffmpeg-next's own `input_with_interrupt_and_dictionary`, plus
    // an options array for avformat_find_stream_info: one owned dictionary per stream, handed
    // over for the call and taken back (and freed) right after it. On failure the context is
    // freed by avformat_open_input itself or by avformat_close_input; on success `Input` owns it
    // together with the interrupt closure, which must outlive the context.
    unsafe {
        let mut ctx = ffi::avformat_alloc_context();
        if ctx.is_null() {
            return Err(ff::Error::Other {
                errno: ff::util::error::ENOMEM,
            });
        }
        (*ctx).interrupt_callback = interrupt.interrupt;
        let mut opts = options.disown();
        let opened = ffi::avformat_open_input(&mut ctx, url.as_ptr(), ptr::null(), &mut opts);
        drop(ff::Dictionary::own(opts));
        if opened < 0 {
            return Err(ff::Error::from(opened));
        }
        let streams = (*ctx).nb_streams as usize;
        let mut per_stream: Vec<*mut ffi::AVDictionary> = (0..streams)
            .map(|_| {
                let mut d = ff::Dictionary::new();
                d.set("max_pixels", &max_pixels.to_string());
                d.disown()
            })
            .collect();
        let options_ptr = if streams == 0 {
            ptr::null_mut()
        } else {
            per_stream.as_mut_ptr()
        };
        let analysed = ffi::avformat_find_stream_info(ctx, options_ptr);
        for d in per_stream {
            drop(ff::Dictionary::own(d));
        }
        if analysed < 0 {
            ffi::avformat_close_input(&mut ctx);
            return Err(ff::Error::from(analysed));
        }
        Ok(Input::wrap_with_interrupt(ctx, interrupt.guard))
    }
}

/// Holds a decoder that is not yet open to `max_pixels` per picture: larger frames are refused
/// by FFmpeg before their memory is allocated.
pub(crate) fn limit_pixels(ctx: &mut ff::codec::context::Context, max_pixels: u64) {
    // SAFETY: the context is valid for the borrow; max_pixels is a plain field that FFmpeg
    // documents as settable before avcodec_open2, which has not happened yet.
    unsafe {
        (*ctx.as_mut_ptr()).max_pixels = i64::try_from(max_pixels).unwrap_or(i64::MAX);
    }
}

/// Width and height a stream's header declares (0 when it does not say); ffmpeg-next has no
/// accessor for them short of opening a decoder.
pub(crate) fn declared_size(params: &ff::codec::Parameters) -> (u32, u32) {
    // SAFETY: the parameters are valid for the borrow and only read.
    let (w, h) = unsafe {
        let p = params.as_ptr();
        ((*p).width, (*p).height)
    };
    (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0))
}
