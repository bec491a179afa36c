// The width and height of a PNG, JPEG, GIF or WebP image from its first bytes; null for anything else or a
// header cut short. Pure: the upload hands it the bytes it kept from the start of the body (HEADER_BYTES).
export type Size = { width: number; height: number };

// JPEG's size is in its SOF segment, after any EXIF or ICC segments (each at most 64 KiB).
export const HEADER_BYTES = 256 * 1024;

export function imageSize(b: Uint8Array): Size | null {
  if (b.length < 10) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (png(b)) return b.length >= 24 ? sized(v.getUint32(16), v.getUint32(20)) : null;
  if (ascii(b, 0, 4) === "GIF8") return sized(v.getUint16(6, true), v.getUint16(8, true));
  if (b[0] === 0xff && b[1] === 0xd8) return jpeg(b, v);
  if (ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return webp(b, v);
  return null;
}

const sized = (width: number, height: number): Size | null => (width > 0 && height > 0 ? { width, height } : null);
const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));
const png = (b: Uint8Array) =>
  [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x) && ascii(b, 12, 4) === "IHDR";

// Walks the segments after SOI to the first SOF (C0-CF but C4 DHT, C8 JPG, CC DAC): its height, then width.
function jpeg(b: Uint8Array, v: DataView): Size | null {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end, or scan data before any SOF
    const length = v.getUint16(at + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return at + 9 <= b.length ? sized(v.getUint16(at + 7), v.getUint16(at + 5)) : null;
    if (length < 2) return null;
    at += 2 + length;
  }
  return null;
}

// The first chunk after "WEBP": VP8 (lossy: 14-bit sizes after the frame tag), VP8L (lossless: 14-bit
// sizes minus one, bit-packed after the 0x2f signature) or VP8X (extended: 24-bit canvas sizes minus one).
function webp(b: Uint8Array, v: DataView): Size | null {
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8 " && b.length >= 30) {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
    return sized(v.getUint16(26, true) & 0x3fff, v.getUint16(28, true) & 0x3fff);
  }
  if (chunk === "VP8L" && b.length >= 25) {
    if (b[20] !== 0x2f) return null;
    const bits = v.getUint32(21, true);
    return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === "VP8X" && b.length >= 30) {
    const u24 = (at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
    return sized(u24(24) + 1, u24(27) + 1);
  }
  return null;
}
