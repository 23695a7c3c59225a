/**
 * The qconfig dictionary of `prepareQatFx` and its resolution per graph node: the global entry `""`,
 * then `moduleType` (by PyTorch class name), then `moduleName` (a module and everything inside it),
 * each overriding the one before; `null` leaves a node in float.
 * @module
 */
import type { Module } from "@hqat/nn";
import { namedModules } from "@hqat/nn";
import type { QConfig } from "@hqat/qtensor";
import type { GraphNode } from "./graph.ts";

/** Which qconfig applies where (the seed's `{"": …, "module_type": …, "module_name": …}`). */
export interface QConfigDict {
  /** The global qconfig. */
  ""?: QConfig | null;
  /** By module class name (`Conv2d`, `Linear`, …). */
  moduleType?: Record<string, QConfig | null>;
  /** By module path; applies to the module and its submodules. */
  moduleName?: Record<string, QConfig | null>;
}

/**
 * Resolves the qconfig of each node (by the node's module, or the module whose forward computed it).
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { resolveQConfigs } from "@hqat/fx";
 * import { Linear, Sequential } from "@hqat/nn";
 * import { default_qat_8bit_fake_quant_qconfig as q8, default_qat_8bit_weight_32bit_out_fake_quant_qconfig as q32 } from "@hqat/qtensor";
 * const m = new Sequential(new Linear(2, 2), new Linear(2, 2));
 * const nodes = [{ name: "1", kind: { op: "linear" as const, module: "1", bias: true }, inputs: [], shape: [1, 2], dtype: "float32" as const, owner: "1" }];
 * assert(resolveQConfigs(m, nodes, { "": q8, moduleName: { "1": q32 } }).get("1") === q32);
 * ```
 */
export function resolveQConfigs(
  model: Module,
  nodes: readonly GraphNode[],
  dict: QConfigDict,
): Map<string, QConfig | null> {
  const known = new Set(Object.keys(dict));
  for (const k of known) {
    if (k !== "" && k !== "moduleType" && k !== "moduleName") {
      throw new TypeError(`Unknown qconfig dictionary key "${k}"; use "", "moduleType" or "moduleName"`);
    }
  }
  const modules = new Map(namedModules(model));
  for (const name of Object.keys(dict.moduleName ?? {})) {
    if (!modules.has(name)) {
      throw new RangeError(`qconfig moduleName "${name}" names no module of ${model.typeName}`);
    }
  }
  const out = new Map<string, QConfig | null>();
  for (const n of nodes) {
    const owner = "module" in n.kind && n.kind.module ? n.kind.module : n.owner ?? "";
    let q: QConfig | null = dict[""] ?? null;
    const type = modules.get(owner)?.typeName;
    if (type && dict.moduleType && type in dict.moduleType) q = dict.moduleType[type];
    // The longest module-name prefix wins.
    let best = -1;
    for (const [name, qc] of Object.entries(dict.moduleName ?? {})) {
      if ((owner === name || owner.startsWith(name + ".") || name === "") && name.length > best) {
        best = name.length;
        q = qc;
      }
    }
    out.set(n.name, q);
  }
  return out;
}
