// lib/files/image-size.ts on crafted headers: each format's size field where the format puts it, JPEG's SOF
// after other segments, WebP's three chunk kinds, and null for anything cut short or unknown.
import { describe, expect, test } from "bun:test";
import { imageSize } from "../lib/files/image-size.ts";
import { pngHeader } from "./support/files.ts";

const bytes = (...parts: (number[] | string | Uint8Array)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : [...p])));
const u16be = (n: number) => [n >> 8, n & 0xff];
const u16le = (n: number) => [n & 0xff, n >> 8];
const u24le = (n: number) => [n & 0xff, (n >> 8) & 0xff, n >> 16];

describe("image sizes from header bytes", () => {
  test("PNG: IHDR's width and height", () => {
    expect(imageSize(pngHeader(1920, 1080))).toEqual({ width: 1920, height: 1080 });
    expect(imageSize(pngHeader(1920, 1080).subarray(0, 20))).toBeNull();
  });

  test("GIF: the logical screen size, little-endian", () => {
    expect(imageSize(bytes("GIF89a", u16le(320), u16le(200), [0, 0, 0]))).toEqual({ width: 320, height: 200 });
  });

  test("JPEG: the first SOF after APP segments and fill bytes; DHT (C4) is not a SOF", () => {
    const app1 = [0xff, 0xe1, ...u16be(2 + 300), ...new Array(300).fill(7)];
    const dht = [0xff, 0xc4, ...u16be(2 + 4), 1, 2, 3, 4];
    const sof2 = [0xff, 0xc2, ...u16be(17), 8, ...u16be(600), ...u16be(800), 3];
    const jpeg = bytes([0xff, 0xd8], app1, [0xff], dht, sof2, new Array(8).fill(0));
    expect(imageSize(jpeg)).toEqual({ width: 800, height: 600 });
    expect(imageSize(jpeg.subarray(0, 200))).toBeNull(); // cut inside APP1
    expect(imageSize(bytes([0xff, 0xd8], [0xff, 0xda, 0, 4, 0, 0], sof2))).toBeNull(); // scan before any SOF
  });

  test("WebP: VP8 (lossy), VP8L (lossless) and VP8X (extended)", () => {
    const riff = (chunk: string, data: number[]) => bytes("RIFF", [0, 0, 0, 0], "WEBP", chunk, [0, 0, 0, 0], data);
    const vp8 = riff("VP8 ", [0, 0, 0, 0x9d, 0x01, 0x2a, ...u16le(400), ...u16le(300)]);
    expect(imageSize(vp8)).toEqual({ width: 400, height: 300 });
    const w = 1000 - 1;
    const h = 500 - 1;
    const bits = w | (h << 14);
    const vp8l = riff("VP8L", [0x2f, bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, (bits >>> 24) & 0xff]);
    expect(imageSize(vp8l)).toEqual({ width: 1000, height: 500 });
    const vp8x = riff("VP8X", [0, 0, 0, 0, ...u24le(4096 - 1), ...u24le(3000 - 1)]);
    expect(imageSize(vp8x)).toEqual({ width: 4096, height: 3000 });
  });

  test("anything else, or a zero size: null", () => {
    expect(imageSize(bytes("%PDF-1.7 hello world"))).toBeNull();
    expect(imageSize(bytes("GIF89a", u16le(0), u16le(5), [0, 0]))).toBeNull();
    expect(imageSize(new Uint8Array(0))).toBeNull();
  });
});
