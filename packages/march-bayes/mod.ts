/**
 * `@hqat/march-bayes`: the target described as data — the march, the layer description the graph
 * IR produces, the BAYES operator table with its dtype and size limits, the layer check, and the
 * hardware figures of the performance model.
 * @module
 */

export { clearMarch, getMarch, isMarch, March, parseMarch, resolveMarch, setMarch } from "./src/march.ts";
export {
  dtypeBytes,
  elementsPerFrame,
  type LayerAttrs,
  type LayerDesc,
  nchwOf,
  type QDtype,
  QDTYPES,
  type TensorDesc,
  validateLayerDesc,
} from "./src/layer_desc.ts";
export type { InputSource, Limit, LimitContext, OpEntry } from "./src/limit.ts";
export { BAYES_OP_TABLE, GENERAL_LIMITS, opTable } from "./src/op_table.ts";
export { checkLayer, checkLayers, type CheckOptions, type Violation } from "./src/check_layer.ts";
export {
  type Figure,
  type HardwareFigures,
  hardwareFigures,
  type IoAlignment,
  type MacArrayShape,
} from "./src/hardware.ts";
export { type MobileNetV2LayerOptions, mobileNetV2Layers } from "./src/mobilenet_v2_layers.ts";
