/**
 * A minimal PNG writer for the browser tests: 8-bit RGB or grayscale, no interlace, one IDAT chunk
 * compressed with the platform's zlib (`CompressionStream("deflate")`), no colour profile — so a
 * browser decodes exactly the pixels written.
 * @module
 */

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes `pixels` (row-major; 3 bytes per pixel for `"rgb"`, 1 for `"gray"`) as a PNG file.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const png = await encodePng(new Uint8Array(2 * 2 * 3).fill(200), 2, 2, "rgb");
 * console.assert(png[1] === 0x50); // "P"
 * ```
 */
export async function encodePng(
  pixels: Uint8Array,
  width: number,
  height: number,
  color: "rgb" | "gray",
): Promise<Uint8Array> {
  const channels = color === "rgb" ? 3 : 1;
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${pixels.length} bytes for ${width}×${height}×${channels}`);
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, color === "rgb" ? 2 : 0, 0, 0, 0], 8);
  // Each row starts with filter type 0 (none).
  const raw = new Uint8Array(height * (1 + width * channels));
  for (let y = 0; y < height; y++) {
    raw.set(
      pixels.subarray(y * width * channels, (y + 1) * width * channels),
      y * (1 + width * channels) + 1,
    );
  }
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  const idat = new Uint8Array(await new Response(stream).arrayBuffer());
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", header),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
