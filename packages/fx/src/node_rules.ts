/**
 * The node kinds of imported networks, one entry each: whether the node's output takes its own scale or
 * keeps its input's integer grid, its float function, its VALIDATION twin (the fixed-point model's
 * arithmetic on the fake-quantized inputs, so that VALIDATION equals the integer model bit for bit) and
 * its conversion to an instruction of the integer program. The graph interpreter, `prepareQatFx` and
 * `convertFx` read this table; a kind without an entry is a type error.
 * @module
 */
import type { NodeOp } from "./graph.ts";
import type { NodeRule, RuleKind, RuleOp } from "./node_rule.ts";
import { ARITH_RULES } from "./node_rules_arith.ts";
import { LAYER_RULES } from "./node_rules_layers.ts";
import { MOVEMENT_RULES } from "./node_rules_movement.ts";

/**
 * The rules by node kind.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { NODE_RULES } from "@hqat/fx";
 * import { type Tensor, tensor } from "@hqat/tensor";
 * const params = { get: (name: string) => { throw new Error(name); }, weight: (w: Tensor) => w };
 * const y = NODE_RULES.activation.float({ op: "activation", fn: "hardswish", params: {} }, [tensor([3])], params);
 * assert(y.item() === 3 && NODE_RULES.resize.scale({ op: "resize", attrs: { size: [2, 2], mode: "nearest", coordinateTransformation: "asymmetric", nearestMode: "floor", scales: null } }) === "keep");
 * ```
 */
export const NODE_RULES: { readonly [K in RuleOp]: NodeRule<K> } = {
  ...ARITH_RULES,
  ...MOVEMENT_RULES,
  ...LAYER_RULES,
};

/**
 * Whether a node kind has an entry in {@linkcode NODE_RULES}.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { isRuleKind } from "@hqat/fx";
 * assert(isRuleKind({ op: "mul" }) && !isRuleKind({ op: "relu" }));
 * ```
 */
export function isRuleKind(k: NodeOp): k is RuleKind<RuleOp> {
  return Object.hasOwn(NODE_RULES, k.op);
}

/**
 * The rule of a node kind of the table, typed for its fields.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { ruleOf } from "@hqat/fx";
 * assert(ruleOf({ op: "mul" }).scale({ op: "mul" }) === "own");
 * ```
 */
export function ruleOf<K extends RuleOp>(k: RuleKind<K>): NodeRule<K> {
  return NODE_RULES[(k as { op: RuleOp }).op] as unknown as NodeRule<K>;
}
