//! gzip and brotli encoders with deterministic output (gzip mtime 0, no file name).

use std::io::Write;

/// Default gzip level (best).
pub const DEFAULT_GZIP_LEVEL: u32 = 9;
/// Default brotli quality (best).
pub const DEFAULT_BROTLI_QUALITY: u32 = 11;
/// gzip `data` at `level` (0–9). The header has mtime 0 and no file name, so the
/// output depends only on the input bytes and the level.
pub fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut enc = flate2::GzBuilder::new().mtime(0).write(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::new(level.min(9)),
    );
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("write to Vec");
    enc.finish().expect("finish into Vec")
}

/// brotli-compress `data` at `quality` (0–11), with the window sized to the input the way the
/// `brotli` command does (the smallest window that holds it, 2^10 to 2^24 bytes).
pub fn brotli(data: &[u8], quality: u32) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: quality.min(11) as i32,
        lgwin: window_bits(data.len()),
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    let mut input = data;
    // Reading a slice and writing a Vec cannot fail.
    brotli::BrotliCompress(&mut input, &mut out, &params).expect("brotli into Vec");
    out
}

/// log2 of the smallest brotli window holding `len` bytes (window = 2^bits − 16), 10 to 24.
fn window_bits(len: usize) -> i32 {
    let mut bits = 10;
    while bits < 24 && (1usize << bits) - 16 < len {
        bits += 1;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trip_and_deterministic() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let gz = gzip(&data, 9);
        assert_eq!(gz, gzip(&data, 9));
        assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip mtime must be 0");
        assert_eq!(gz[3] & 0x08, 0, "no file name in the gzip header");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(
            (
                window_bits(0),
                window_bits(1008),
                window_bits(1009),
                window_bits(1 << 30)
            ),
            (10, 10, 11, 24)
        );
        let br = brotli(&data, 5);
        assert_eq!(br, brotli(&data, 5));
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
