//! Media checks with ffmpeg-next: probing, thumbnails, normalising, pose preview
