//! Reading a QR code out of a PNG image, as a phone's camera would.

use anyhow::{Context, bail};

/// The text encoded by the (first) QR code in a PNG image.
pub fn decode_png(png_bytes: &[u8]) -> anyhow::Result<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("not a PNG image")?;
    let mut buffer = vec![0; reader.output_buffer_size().context("image too large")?];
    let frame = reader.next_frame(&mut buffer).context("unreadable PNG")?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let channels = frame.color_type.samples();
    let luma = |x: usize, y: usize| -> u8 {
        let i = (y * width + x) * channels;
        // Greyscale images have one sample; for colour, the green channel is a fair luminance.
        buffer[i + if channels >= 3 { 1 } else { 0 }]
    };
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    let Some(grid) = prepared.detect_grids().into_iter().next() else {
        bail!("no QR code found in the image");
    };
    let (_, content) = grid.decode().context("the QR code could not be read")?;
    Ok(content)
}
