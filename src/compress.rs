//! gzip and brotli encoders with deterministic output (gzip mtime 0, no file name).

use std::io::Write;

/// Default gzip level (best).
pub const DEFAULT_GZIP_LEVEL: u32 = 9;
/// Default brotli quality (best).
pub const DEFAULT_BROTLI_QUALITY: u32 = 11;
/// brotli window (log2), brotli's own default.
const BROTLI_LGWIN: u32 = 22;

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

/// brotli-compress `data` at `quality` (0–11).
pub fn brotli(data: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    {
        let mut enc =
            brotli::CompressorWriter::new(&mut out, 64 * 1024, quality.min(11), BROTLI_LGWIN);
        enc.write_all(data).expect("write to Vec");
        enc.flush().expect("flush into Vec");
    }
    out
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
        let br = brotli(&data, 5);
        assert_eq!(br, brotli(&data, 5));
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
