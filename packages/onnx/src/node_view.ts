/**
 * A node as the operator rules see it: typed attribute getters with defaults, the model's opset, and
 * errors that name the file, the node and its operator.
 * @module
 */
import type { OnnxAttribute, OnnxNode } from "./proto.ts";
import type { OnnxTensor } from "./tensor_proto.ts";

/**
 * A node with its context. Getters throw a TypeError naming the node when an attribute has the wrong
 * kind.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { NodeView } from "./node_view.ts";
 * const attributes = new Map([["axis", { kind: "int", value: 2 } as const]]);
 * const n = new NodeView({ name: "c", opType: "Concat", domain: "", inputs: [], outputs: [], attributes }, 13, "m.onnx");
 * assert(n.int("axis", 0) === 2 && n.int("missing", 7) === 7);
 * ```
 */
export class NodeView {
  /** Wraps `node` of a model with default-domain opset `opset`; `source` names the file. */
  constructor(readonly node: OnnxNode, readonly opset: number, readonly source: string) {}

  /** The node's name. */
  get name(): string {
    return this.node.name;
  }

  /** The operator. */
  get opType(): string {
    return this.node.opType;
  }

  /** "file, node "name" (Op)" for messages. */
  get where(): string {
    return `${this.source}, node "${this.node.name}" (${this.node.opType})`;
  }

  /** An error naming the node. */
  error(message: string, type: "range" | "type" = "range"): Error {
    const text = `${this.where}: ${message}`;
    return type === "type" ? new TypeError(text) : new RangeError(text);
  }

  #get<K extends OnnxAttribute["kind"]>(
    name: string,
    kind: K,
  ): Extract<OnnxAttribute, { kind: K }> | undefined {
    const a = this.node.attributes.get(name);
    if (a === undefined) return undefined;
    if (a.kind !== kind) throw this.error(`attribute "${name}" should be ${kind}, not ${a.kind}`, "type");
    return a as Extract<OnnxAttribute, { kind: K }>;
  }

  /** Whether the node has attribute `name`. */
  has(name: string): boolean {
    return this.node.attributes.has(name);
  }

  /** An int attribute. */
  int(name: string, fallback: number): number {
    return this.#get(name, "int")?.value ?? fallback;
  }

  /** A float attribute. */
  float(name: string, fallback: number): number {
    return this.#get(name, "float")?.value ?? fallback;
  }

  /** A string attribute. */
  string(name: string, fallback: string): string {
    return this.#get(name, "string")?.value ?? fallback;
  }

  /** An ints attribute (undefined when absent and no fallback is given). */
  ints(name: string): readonly number[] | undefined;
  /** An ints attribute with a fallback. */
  ints(name: string, fallback: readonly number[]): readonly number[];
  ints(name: string, fallback?: readonly number[]): readonly number[] | undefined {
    return this.#get(name, "ints")?.value ?? fallback;
  }

  /** A floats attribute (undefined when absent). */
  floats(name: string): readonly number[] | undefined {
    return this.#get(name, "floats")?.value;
  }

  /** A tensor attribute (undefined when absent). */
  tensor(name: string): OnnxTensor | undefined {
    return this.#get(name, "tensor")?.value;
  }

  /** The name of input `i` ("" when omitted). */
  input(i: number): string {
    return this.node.inputs[i] ?? "";
  }

  /** Checks an attribute is one of `allowed`. */
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const v = this.string(name, fallback) as T;
    if (!allowed.includes(v)) {
      throw this.error(`${name} "${v}" is not supported (supported: ${allowed.join(", ")})`, "type");
    }
    return v;
  }
}
