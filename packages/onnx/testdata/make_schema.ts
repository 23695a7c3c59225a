/**
 * Writes `../src/onnx_schema.ts`, the protobufjs JSON descriptor of `onnx.proto`, from the schema that
 * Debian's python3-onnx ships:
 *
 *   deno run --allow-read --allow-write packages/onnx/testdata/make_schema.ts [/path/to/onnx.proto]
 *
 * Fields a newer schema adds are skipped by the decoder, so the descriptor of one release reads models
 * of every IR version that the reader accepts.
 * @module
 */
import protobuf from "protobufjs";

const path = Deno.args[0] ?? "/usr/lib/python3/dist-packages/onnx/onnx.proto";
const root = protobuf.parse(Deno.readTextFileSync(path), { keepCase: true }).root;
const json = JSON.stringify(root.toJSON({ keepComments: false }));
const out = new URL("../src/onnx_schema.ts", import.meta.url);
Deno.writeTextFileSync(
  out,
  `/**
 * The protobufjs JSON descriptor of \`onnx.proto\` (ONNX 1.12, IR version 8), written by
 * \`testdata/make_schema.ts\` from the schema python3-onnx ships. Do not edit by hand.
 * @module
 */

/** The descriptor, for \`protobuf.Root.fromJSON\`. */
export const ONNX_SCHEMA: Record<string, unknown> = ${json};
`,
);
console.log(`Wrote ${out.pathname} (${json.length} characters of JSON)`);
