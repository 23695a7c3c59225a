// A tiny Fashion-MNIST-format data set for the CLI tests.
import { encodeIdx } from "@hqat/data";

/** Writes `count` images per split (28×28, labels 0..9 in turn) into `dir` in Fashion-MNIST's idx format. */
export async function tinyFashionMnist(dir: string, count: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const split of ["train", "t10k"]) {
    const images = Uint8Array.from({ length: count * 28 * 28 }, (_, i) => (i * 37 + (i >> 9) * 11) % 256);
    await Deno.writeFile(`${dir}/${split}-images-idx3-ubyte`, encodeIdx(images, [count, 28, 28]));
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
    await Deno.writeFile(`${dir}/${split}-labels-idx1-ubyte`, encodeIdx(labels, [count]));
  }
}
