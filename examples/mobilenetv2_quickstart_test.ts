import { assertEquals, assertMatch } from "@std/assert";
import { existsSync } from "node:fs";

Deno.test({
  name: "examples/mobilenetv2_quickstart.ts runs every stage on a small subset",
  ignore: !existsSync("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
  async fn() {
    const out = await Deno.makeTempDir();
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./mobilenetv2_quickstart.ts", import.meta.url).pathname,
        "--limit",
        "1024",
        "--eval-limit",
        "256",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(r.stdout);
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    for (
      const line of [
        /Float Epoch 0: evaluation Acc@1/,
        /Calibration: evaluation Acc@1/,
        /QAT Epoch 0: evaluation Acc@1/,
        /Quantized model: evaluation Acc@1/,
      ]
    ) {
      assertMatch(stdout, line);
    }
    for (
      const f of [
        "float-checkpoint.safetensors",
        "calib-checkpoint.safetensors",
        "qat-checkpoint.safetensors",
        "int_model",
      ]
    ) {
      assertEquals(existsSync(`${out}/${f}`), true, f);
    }
    await Deno.remove(out, { recursive: true });
  },
});
