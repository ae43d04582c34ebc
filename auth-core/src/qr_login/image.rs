//! The QR code images of a scan URL: SVG for pages, PNG (base64) for anything else. Both come from
//! the qrcode crate's module matrix, with the standard four-module quiet zone.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::error::{Error, Result};

/// Pixels per module in the PNG.
const PNG_SCALE: usize = 8;
const QUIET_ZONE: usize = 4;

fn code(data: &str) -> Result<QrCode> {
    QrCode::with_error_correction_level(data, EcLevel::M).map_err(Error::internal)
}

/// An SVG document showing `data`.
pub fn svg(data: &str) -> Result<String> {
    Ok(code(data)?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A greyscale PNG showing `data`, base64-encoded.
pub fn png_base64(data: &str) -> Result<String> {
    let code = code(data)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * PNG_SCALE..(my + 1) * PNG_SCALE {
            pixels[y * side + mx * PNG_SCALE..y * side + (mx + 1) * PNG_SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(Error::internal)?;
        writer.write_image_data(&pixels).map_err(Error::internal)?;
    }
    Ok(STANDARD.encode(out))
}
