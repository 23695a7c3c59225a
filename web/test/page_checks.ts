/**
 * Checks the browser tests run inside the studio page (each function is self-contained: the test
 * sends its source text to the page): readability at the window's size, and what has the keyboard
 * focus and whether the user can see it.
 * @module
 */

/** A problem `readabilityIssues` found, as text naming the element. */
export type Issue = string;

/**
 * The page's readability problems at the current window size: the page scrolling as a whole (the panels
 * scroll, the page does not), text under 12 px, text whose contrast with its background is under
 * WCAG's 4.5:1, a visible control without an accessible name, a header or toolbar control outside the
 * window, and graph text drawn under `minGraphPx` at the current zoom.
 *
 * @example
 * ```ts ignore
 * const issues = await browser.eval<string[]>(`(${readabilityIssues})(10)`);
 * ```
 */
export function readabilityIssues(minGraphPx: number): Issue[] {
  const issues: string[] = [];
  const root = document.documentElement;
  if (root.scrollWidth > innerWidth) issues.push(`the page scrolls sideways (${root.scrollWidth}px)`);
  if (root.scrollHeight > innerHeight) issues.push(`the page scrolls (${root.scrollHeight}px)`);
  const label = (el: Element) =>
    `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""} "${(el.textContent ?? "").trim().slice(0, 30)}"`;
  const visible = (el: Element) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden" &&
      !el.closest("[hidden]");
  };
  const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
  const luminance = ([r, g, b]: number[]) => {
    const f = (v: number) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el: Element | null): number[] => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set<Element>();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent?.trim() || el.closest("svg, script, style, option")) continue;
    seen.add(el);
    if (!visible(el)) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    if (size < 12) issues.push(`${label(el)}: ${size}px text`);
    const fg = rgb(style.color), bg = background(el);
    const [a, b] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const faded = parseFloat(style.opacity) < 1 || el.closest(":disabled") !== null;
    if (!faded && ratio < (large ? 3 : 4.5)) issues.push(`${label(el)}: contrast ${ratio.toFixed(2)}:1`);
  }
  const controls = document.querySelectorAll<HTMLElement>(
    "button, select, input, a[href], [tabindex]:not([tabindex='-1'])",
  );
  for (const el of controls) {
    if (!visible(el) && el.id !== "open-file") continue;
    const byLabel = "labels" in el ? [...((el as HTMLInputElement).labels ?? [])] : [];
    const labelledBy = el.getAttribute("aria-labelledby")?.split(" ").map((id) =>
      document.getElementById(id)
    );
    const name = [
      el.getAttribute("aria-label"),
      ...byLabel.map((l) => l.textContent),
      ...(labelledBy ?? []).map((l) => l?.textContent),
      el.tagName === "INPUT" ? "" : el.textContent,
      el.getAttribute("title"),
    ].find((s) => s?.trim());
    if (!name) issues.push(`${label(el)}: a control without an accessible name`);
    if (el.closest("header, .toolbar, [role='tablist']") && el.id !== "open-file") {
      const r = el.getBoundingClientRect();
      if (r.left < 0 || r.top < 0 || r.right > innerWidth || r.bottom > innerHeight) {
        issues.push(`${label(el)}: outside the window`);
      }
    }
  }
  for (const t of document.querySelectorAll<SVGTextElement>("svg.graph .node text")) {
    const m = t.getScreenCTM();
    const px = parseFloat(getComputedStyle(t).fontSize) * (m ? Math.hypot(m.a, m.b) : 1);
    if (px < minGraphPx) {
      issues.push(`graph text "${t.textContent}" drawn at ${px.toFixed(1)}px`);
      break;
    }
  }
  return issues;
}

/** What has the focus: its id or layer name, and whether a focus indicator is drawn around it. */
export interface FocusInfo {
  /** `#id`, `node:NAME` for a graph box, `row:NAME` for a table row, or the tag name. */
  readonly what: string;
  /** Whether the user sees where the focus is (an outline, or a graph box's thick stroke). */
  readonly shown: boolean;
  /** Whether the focused element is inside the window. */
  readonly inWindow: boolean;
}

/**
 * The focused element (see {@linkcode FocusInfo}).
 *
 * @example
 * ```ts ignore
 * const f = await browser.eval<FocusInfo>(`(${focusInfo})()`);
 * ```
 */
export function focusInfo(): FocusInfo {
  const el = document.activeElement as HTMLElement | null;
  if (!el || el === document.body) return { what: "body", shown: false, inWindow: true };
  const outlined = (e: Element) => {
    const s = getComputedStyle(e);
    return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  };
  let what = el.id ? `#${el.id}` : el.tagName.toLowerCase();
  let shown = outlined(el);
  let box: Element = el;
  if (el.classList.contains("node")) {
    what = `node:${el.dataset.name}`;
    shown = parseFloat(getComputedStyle(el.querySelector("rect")!).strokeWidth) >= 2;
  } else if (el.tagName === "TR" && el.dataset.name) {
    what = `row:${el.dataset.name}`;
  } else if (el.id === "open-file") {
    box = document.querySelector("label[for='open-file']")!;
    shown = outlined(box);
  }
  const r = box.getBoundingClientRect();
  const inWindow = r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight;
  return { what, shown, inWindow };
}
