/**
 * What a file the user opens is, and the input batch images or a `.npy` give.
 * @module
 */
import { parseNpy, PROGRAM_FORMAT, rgb2centeredYuv } from "../hqat_browser.ts";

/** The kinds of file the studio takes. */
export type FileKind = "program" | "onnx" | "npy" | "safetensors" | "image";

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

function startsWith(bytes: Uint8Array, prefix: ArrayLike<number>): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * The kind of a file from its first bytes, MIME type and name: a program container (`int_model`, `.hbm`),
 * a `.npy`, an image, a safetensors file, an ONNX model; `undefined` for anything else.
 *
 * @example
 * ```ts ignore
 * fileKind("x.npy", "", new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])); // "npy"
 * ```
 */
export function fileKind(name: string, type: string, bytes: Uint8Array): FileKind | undefined {
  const magic = new TextEncoder().encode(PROGRAM_FORMAT.magic);
  if (startsWith(bytes, magic)) return "program";
  if (startsWith(bytes, NPY_MAGIC)) return "npy";
  if (type.startsWith("image/")) return "image";
  if (/\.safetensors$/i.test(name)) return "safetensors";
  if (/\.onnx$/i.test(name)) return "onnx";
  if (/\.hbm$/i.test(name) || /int_model/i.test(name)) return "program";
  return undefined;
}

/** How image pixels become the network input. */
export type Preprocess = "yuv" | "rgb01" | "rgb-centered";

/** The preprocessing choices, with what the page shows for each. */
export const PREPROCESS: Readonly<Record<Preprocess, string>> = {
  yuv: "centered YUV ÷ 128 (the quick start: rgb2centeredYuv, studio swing)",
  rgb01: "RGB ÷ 255",
  "rgb-centered": "(RGB − 128) ÷ 128",
};

/** An input batch: NCHW float32 and a thumbnail per frame (absent for a `.npy`). */
export interface InputBatch {
  /** The values. */
  readonly data: Float32Array;
  /** [N, C, H, W]. */
  readonly shape: readonly number[];
  /** Where it came from, for the page. */
  readonly source: string;
  /** One data URL per image, when the batch came from images. */
  readonly thumbnails: readonly string[];
}

/**
 * A batch from a `.npy` file: float32 (or any stored float / integer dtype, as float32) with the
 * model's shape past the batch dimension.
 *
 * @example
 * ```ts ignore
 * const batch = npyBatch(bytes, "x.npy", [1, 3, 32, 32]);
 * ```
 */
export function npyBatch(bytes: Uint8Array, name: string, inputShape: readonly number[]): InputBatch {
  const t = parseNpy(bytes, { fileName: name });
  const want = inputShape.slice(1).join(",");
  if (t.shape.length !== inputShape.length || t.shape.slice(1).join(",") !== want) {
    throw new RangeError(`${name}: shape [${t.shape}] does not fit the model input [N,${want}]`);
  }
  if (typeof t.data[0] === "bigint") throw new RangeError(`${name}: 64-bit integers are not an input`);
  const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  return { data, shape: t.shape, source: name, thumbnails: [] };
}

/**
 * A batch from images: each drawn to the model's H×W (the whole image, scaled), its RGB pixels
 * converted by `preprocess`; grayscale images come out with three equal channels, as the quick start's
 * Fashion-MNIST pictures do.
 *
 * @example
 * ```ts ignore
 * const batch = await imageBatch(files, [1, 3, 32, 32], "yuv");
 * ```
 */
export async function imageBatch(
  files: readonly File[],
  inputShape: readonly number[],
  preprocess: Preprocess,
): Promise<InputBatch> {
  const [, c, hh, ww] = inputShape;
  if (inputShape.length !== 4 || c !== 3) {
    throw new RangeError(`Images need a model input of [N,3,H,W]; this one takes [${inputShape}]`);
  }
  const frame = 3 * hh * ww;
  const data = new Float32Array(files.length * frame);
  const thumbnails: string[] = [];
  const canvas = document.createElement("canvas");
  canvas.width = ww;
  canvas.height = hh;
  const g = canvas.getContext("2d", { willReadFrequently: true })!;
  for (let i = 0; i < files.length; i++) {
    const bitmap = await createImageBitmap(files[i]);
    g.clearRect(0, 0, ww, hh);
    g.drawImage(bitmap, 0, 0, ww, hh);
    bitmap.close();
    thumbnails.push(canvas.toDataURL());
    const rgba = g.getImageData(0, 0, ww, hh).data;
    const chw = new Uint8Array(frame);
    for (let p = 0; p < hh * ww; p++) {
      for (let k = 0; k < 3; k++) chw[k * hh * ww + p] = rgba[4 * p + k];
    }
    const out = data.subarray(i * frame, (i + 1) * frame);
    if (preprocess === "yuv") {
      const yuv = rgb2centeredYuv(chw, [3, hh, ww]);
      for (let j = 0; j < frame; j++) out[j] = yuv[j] / 128;
    } else if (preprocess === "rgb01") {
      for (let j = 0; j < frame; j++) out[j] = chw[j] / 255;
    } else {
      for (let j = 0; j < frame; j++) out[j] = (chw[j] - 128) / 128;
    }
  }
  const source = files.length === 1 ? files[0].name : `${files.length} images`;
  return { data, shape: [files.length, 3, hh, ww], source, thumbnails };
}
