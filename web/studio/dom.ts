/**
 * A small element builder for the studio: text always goes in as text (file and layer names are never
 * parsed as HTML).
 * @module
 */

/** An attribute value; `false` or `undefined` leaves the attribute out. */
export type AttrValue = string | number | boolean | undefined;

/** A child: an element, text, or nothing. */
export type Child = Node | string | number | null | undefined | false;

/**
 * Creates `<tag>` with attributes (`class`, `data-*`, `aria-*` …; `on*` functions become listeners)
 * and children.
 *
 * @example
 * ```ts ignore
 * const row = h("tr", {}, h("td", {}, "conv"), h("td", { class: "num" }, 3));
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue | ((e: Event) => void)> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false && v !== undefined) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "number" ? String(c) : c);
  }
  return el;
}

/** The element with id `id`, typed; throws if the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The studio page has no #${id}`);
  return el as T;
}

/** A number with at most `digits` significant digits, as text. */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return v > 0 ? "∞" : v < 0 ? "−∞" : "—";
  return Number(v.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}
