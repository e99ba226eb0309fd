//! A valid, all-black grey PNG of any size, a few hundred bytes per megapixel: the shape of a
//! "decompression bomb". Written by hand (deflate runs of zeros) so that making one needs neither
//! memory nor a compression crate. Also used by the CLI's tests (`#[path]`).

/// PNG bytes of a `width` x `height` 8-bit grey picture, every pixel 0.
pub fn black_png(width: u32, height: u32) -> Vec<u8> {
    // Each row is a filter byte (0: none) and `width` zero bytes: the whole stream is zeros.
    let raw_len = u64::from(height) * (u64::from(width) + 1);
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8 bits, grey, deflate, no filter, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_zeros(raw_len));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zlib stream of `n` zero bytes: one fixed-Huffman block, a literal 0, then copies of 258 bytes
/// at distance 1 (13 bits each), the rest as literals.
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut w = Bits::default();
    w.put(1, 1); // last block
    w.put(1, 2); // fixed Huffman codes
    let literal_zero = |w: &mut Bits| w.code(0x30, 8);
    let mut left = n;
    if left > 0 {
        literal_zero(&mut w);
        left -= 1;
    }
    while left >= 258 {
        w.code(0xc5, 8); // length code 285: 258 bytes
        w.code(0, 5); // distance code 0: 1 byte back
        left -= 258;
    }
    for _ in 0..left {
        literal_zero(&mut w);
    }
    w.code(0, 7); // end of block
    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&w.finish());
    // Adler-32 of zeros: the first sum stays 1, the second grows by 1 per byte.
    let b = (n % 65521) as u32;
    out.extend_from_slice(&((b << 16) | 1).to_be_bytes());
    out
}

#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    acc: u32,
    used: u32,
}

impl Bits {
    /// Writes `count` bits of `value`, least significant first (deflate's header and extra bits).
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.acc |= ((value >> i) & 1) << self.used;
            self.used += 1;
            if self.used == 8 {
                self.bytes.push(self.acc as u8);
                self.acc = 0;
                self.used = 0;
            }
        }
    }

    /// Writes a Huffman code, most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}
