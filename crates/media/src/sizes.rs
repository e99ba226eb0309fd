//! The output sizes SteadyDancer renders, and which one suits a reference photo.

use crate::facts::MediaFacts;

/// (short side, long side) pairs the model supports (from the SteadyDancer repository).
pub const RENDER_SIZES: &[(u32, u32)] = &[(480, 832), (576, 1024), (720, 1280)];

/// The supported size closest to `short_side` (e.g. 480, 576 or 720), turned to match the photo:
/// portrait (or square) photos get portrait output, landscape photos landscape, since the result
/// keeps the reference's shape. Returns (width, height).
pub fn render_size(photo: &MediaFacts, short_side: u32) -> (u32, u32) {
    let (short, long) = RENDER_SIZES
        .iter()
        .copied()
        .min_by_key(|(s, _)| s.abs_diff(short_side))
        .unwrap_or((480, 832));
    if photo.width > photo.height {
        (long, short)
    } else {
        (short, long)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::MediaKind;

    fn photo(width: u32, height: u32) -> MediaFacts {
        MediaFacts {
            path: "p.jpg".into(),
            file_name: "p.jpg".into(),
            file_size: 1,
            kind: MediaKind::Image,
            container: "JPEG".into(),
            codec: "mjpeg".into(),
            width,
            height,
            rotation: 0,
            duration_secs: None,
            frame_rate: None,
            frame_count: None,
            variable_frame_rate: false,
            has_audio: false,
            checks: Vec::new(),
        }
    }

    #[test]
    fn size_follows_photo_shape_and_nearest_quality() {
        assert_eq!(render_size(&photo(3000, 4000), 480), (480, 832));
        assert_eq!(render_size(&photo(4000, 3000), 720), (1280, 720));
        assert_eq!(render_size(&photo(1000, 1000), 600), (576, 1024));
    }
}
