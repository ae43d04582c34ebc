//! The QR code images of a scan URL: SVG for pages, PNG (base64) for anything else. Both come from
//! one encoding of the URL (the qrcode crate's module matrix, its mask chosen once), with the
//! standard four-module quiet zone. The PNG is one bit per pixel with fast compression: a QR code
//! is black and white, so it loses nothing, and it is made several times faster and smaller than
//! an 8-bit greyscale image.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::error::{Error, Result};

/// Pixels per module in the PNG.
const PNG_SCALE: usize = 8;
const QUIET_ZONE: usize = 4;

/// The two images of one QR code.
pub struct QrImages {
    pub svg: String,
    pub png_base64: String,
}

/// The SVG document and the base64 PNG showing `data`.
pub fn images(data: &str) -> Result<QrImages> {
    let code = QrCode::with_error_correction_level(data, EcLevel::M).map_err(Error::internal)?;
    Ok(QrImages {
        svg: svg_of(&code),
        png_base64: STANDARD.encode(png_of(&code)?),
    })
}

/// An SVG document showing `data` alone (pages that show no PNG).
pub fn svg(data: &str) -> Result<String> {
    let code = QrCode::with_error_correction_level(data, EcLevel::M).map_err(Error::internal)?;
    Ok(svg_of(&code))
}

fn svg_of(code: &QrCode) -> String {
    code.render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build()
}

/// A 1-bit greyscale PNG (0 black, 1 white) of `code`.
fn png_of(code: &QrCode) -> Result<Vec<u8>> {
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let row_bytes = side.div_ceil(8);
    let mut rows = vec![0xffu8; row_bytes * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for y in my * PNG_SCALE..(my + 1) * PNG_SCALE {
            let row = &mut rows[y * row_bytes..(y + 1) * row_bytes];
            for x in mx * PNG_SCALE..(mx + 1) * PNG_SCALE {
                row[x / 8] &= !(0x80 >> (x % 8));
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(Error::internal)?;
        writer.write_image_data(&rows).map_err(Error::internal)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://auth.example.com/m/scan?t=3q2-7Yk_Zm9vYmFyYmF6cXV4";

    #[test]
    fn the_png_shows_every_module_of_the_code_with_its_quiet_zone() {
        let code = QrCode::with_error_correction_level(URL, EcLevel::M).unwrap();
        let png = STANDARD.decode(images(URL).unwrap().png_base64).unwrap();
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        let modules = code.width();
        let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
        assert_eq!((frame.width as usize, frame.height as usize), (side, side));
        let stride = frame.line_size;
        let dark_at = |x: usize, y: usize| pixels[y * stride + x] == 0;
        // The centre pixel of every module, and of every quiet-zone module, is what it should be.
        let colors = code.to_colors();
        for my in 0..modules + 2 * QUIET_ZONE {
            for mx in 0..modules + 2 * QUIET_ZONE {
                let inside = (QUIET_ZONE..QUIET_ZONE + modules).contains(&mx)
                    && (QUIET_ZONE..QUIET_ZONE + modules).contains(&my);
                let dark =
                    inside && colors[(my - QUIET_ZONE) * modules + mx - QUIET_ZONE] == Color::Dark;
                let (x, y) = (
                    mx * PNG_SCALE + PNG_SCALE / 2,
                    my * PNG_SCALE + PNG_SCALE / 2,
                );
                assert_eq!(dark_at(x, y), dark, "module ({mx}, {my})");
            }
        }
    }

    #[test]
    fn the_svg_draws_the_same_code() {
        let svg = images(URL).unwrap().svg;
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains("#000000") && svg.contains("#ffffff"));
    }
}
