/**
 * A small DevTools-protocol driver for headless Chromium (Debian's `chromium`): launch, open a page,
 * evaluate, set a file input's files or drop files on the page, type keys, move and click the mouse,
 * take screenshots, and collect every console error, uncaught exception and failed request the page
 * raises.
 * @module
 */

/** The first Chromium on PATH, or `undefined`. */
export function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const out = new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync();
      if (out.success) return name;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** Windows virtual key codes of the named keys the tests press. */
const KEY_CODES: Record<string, number> = {
  Tab: 9,
  Enter: 13,
  Escape: 27,
  " ": 32,
  ArrowLeft: 37,
  ArrowUp: 38,
  ArrowRight: 39,
  ArrowDown: 40,
  "+": 187,
  "=": 187,
  "-": 189,
  "0": 48,
};

type Message = {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: unknown;
  error?: { message: string };
};

/** A launched browser with one page. */
export class Browser {
  #id = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #listeners: ((m: Message) => void)[] = [];
  /** Console errors and exceptions the page raised, as text. */
  readonly errors: string[] = [];
  /** Console lines of every level, as `level: text`. */
  readonly console: string[] = [];
  /** Requests the page has made that have not finished, by request id. */
  readonly #inFlight = new Map<string, string>();
  #session = "";

  private constructor(
    readonly process: Deno.ChildProcess,
    readonly socket: WebSocket,
    readonly profile: string,
  ) {
    socket.onmessage = (e) => {
      const m = JSON.parse(e.data as string) as Message;
      if (m.id !== undefined) {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.error) p?.reject(new Error(m.error.message));
        else p?.resolve(m.result);
      } else for (const l of this.#listeners) l(m);
    };
  }

  /** Starts headless Chromium (`--no-sandbox`: CI runs as root) with `args`, and opens a blank page. */
  static async launch(executable: string, args: readonly string[] = []): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "hqat-chromium-" });
    const process = new Deno.Command(executable, {
      args: [
        "--headless",
        "--no-sandbox",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        ...args,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "", url: string | undefined;
    const deadline = Date.now() + 30_000;
    while (!url && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      url = /DevTools listening on (ws:\/\/\S+)/.exec(text)?.[1];
    }
    // Keep draining stderr so Chromium never blocks on a full pipe.
    (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })();
    if (!url) {
      process.kill();
      throw new Error(`Chromium did not start: ${text.slice(-500)}`);
    }
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error("Cannot connect to Chromium's DevTools socket"));
    });
    const b = new Browser(process, socket, profile);
    const { targetInfos } = await b.send("Target.getTargets") as {
      targetInfos: { targetId: string; type: string }[];
    };
    const page = targetInfos.find((t) => t.type === "page")!;
    const { sessionId } = await b.send("Target.attachToTarget", {
      targetId: page.targetId,
      flatten: true,
    }) as { sessionId: string };
    b.#session = sessionId;
    b.#listeners.push((m) => {
      if (m.sessionId !== b.#session) return;
      const p = m.params ?? {};
      if (m.method === "Runtime.consoleAPICalled") {
        const args = (p.args as { value?: unknown; description?: string }[]).map((a) =>
          a.description ?? String(a.value)
        );
        b.console.push(`${p.type}: ${args.join(" ")}`);
        if (p.type === "error" || p.type === "assert") b.errors.push(`console.${p.type}: ${args.join(" ")}`);
      } else if (m.method === "Runtime.exceptionThrown") {
        const d = p.exceptionDetails as { text: string; exception?: { description?: string } };
        b.errors.push(`exception: ${d.exception?.description ?? d.text}`);
      } else if (m.method === "Log.entryAdded") {
        const e = p.entry as { level: string; text: string; url?: string };
        if (e.level === "error") b.errors.push(`log: ${e.text} ${e.url ?? ""}`);
      } else if (m.method === "Network.requestWillBeSent") {
        b.#inFlight.set(p.requestId as string, (p.request as { url: string }).url);
      } else if (m.method === "Network.responseReceived") {
        const r = p.response as { url: string; status: number };
        if (r.status >= 400) b.errors.push(`network: ${r.status} for ${r.url}`);
      } else if (m.method === "Network.loadingFinished") {
        b.#inFlight.delete(p.requestId as string);
      } else if (m.method === "Network.loadingFailed") {
        const url = b.#inFlight.get(p.requestId as string);
        b.#inFlight.delete(p.requestId as string);
        if (!p.canceled) b.errors.push(`network: ${p.errorText} for ${url}`);
      }
    });
    await b.page("Runtime.enable");
    await b.page("Log.enable");
    await b.page("Page.enable");
    await b.page("DOM.enable");
    await b.page("Network.enable");
    // A headless page never has the window's focus; emulate it so that focus and :focus-visible behave.
    await b.page("Emulation.setFocusEmulationEnabled", { enabled: true });
    return b;
  }

  /** Sends a browser-level command. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<unknown> {
    const id = ++this.#id;
    this.socket.send(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /** Sends a command to the page. */
  page(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return this.send(method, params, this.#session);
  }

  /** Sets the viewport size. */
  async viewport(width: number, height: number): Promise<void> {
    await this.page("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => {
      const l = (m: Message) => {
        if (m.sessionId === this.#session && m.method === "Page.loadEventFired") {
          this.#listeners.splice(this.#listeners.indexOf(l), 1);
          resolve();
        }
      };
      this.#listeners.push(l);
    });
    await this.page("Page.navigate", { url });
    await loaded;
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its value. */
  async eval<T = unknown>(expression: string): Promise<T> {
    const r = await this.page("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) {
      throw new Error(`In the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    }
    return r.result.value as T;
  }

  /** Polls `expression` until it is truthy (or throws after `timeoutMs`). */
  async waitFor(expression: string, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await this.eval<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > end) throw new Error(`Timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Gives the file input `selector` these files (absolute paths), as a user choosing them. */
  async setFiles(selector: string, files: readonly string[]): Promise<void> {
    const { root } = await this.page("DOM.getDocument", { depth: 0 }) as { root: { nodeId: number } };
    const { nodeId } = await this.page("DOM.querySelector", { nodeId: root.nodeId, selector }) as {
      nodeId: number;
    };
    await this.page("DOM.setFileInputFiles", { nodeId, files });
  }

  /**
   * Presses a key in the page (keyDown + keyUp) as the keyboard does: the page sees the key events and
   * the browser acts on them (Tab moves the focus, a printable key types). `modifiers`: 8 for Shift.
   */
  async key(key: string, code = key, keyCode = 0, modifiers = 0): Promise<void> {
    keyCode ||= KEY_CODES[key] ?? (key.length === 1 ? key.toUpperCase().charCodeAt(0) : 0);
    const text = key.length === 1 ? key : undefined;
    for (const type of [text ? "keyDown" : "rawKeyDown", "keyUp"]) {
      await this.page("Input.dispatchKeyEvent", {
        type,
        key,
        code,
        modifiers,
        windowsVirtualKeyCode: keyCode,
        text: type === "keyDown" ? text : undefined,
      });
    }
  }

  /**
   * Waits until the page has no request in flight and has been quiet for `quietMs`, so that a late
   * request (an icon, a source map) has reported any failure before `errors` is read.
   */
  async settle(quietMs = 300, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let quietSince = Date.now();
    while (Date.now() < end) {
      if (this.#inFlight.size > 0) quietSince = Date.now();
      else if (Date.now() - quietSince >= quietMs) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Requests still in flight: ${[...this.#inFlight.values()].join(", ")}`);
  }

  /** Sends a mouse event at (x, y) in CSS pixels: `mousePressed` / `mouseReleased` with the left button. */
  async mouse(
    type: "mouseMoved" | "mousePressed" | "mouseReleased",
    x: number,
    y: number,
    pressed = false,
  ): Promise<void> {
    await this.page("Input.dispatchMouseEvent", {
      type,
      x,
      y,
      button: type === "mouseMoved" && !pressed ? "none" : "left",
      buttons: pressed || type === "mousePressed" ? 1 : 0,
      clickCount: type === "mouseMoved" ? 0 : 1,
    });
  }

  /** Clicks at (x, y). */
  async click(x: number, y: number): Promise<void> {
    await this.mouse("mouseMoved", x, y);
    await this.mouse("mousePressed", x, y);
    await this.mouse("mouseReleased", x, y);
  }

  /** Drags with the left button from (x0, y0) to (x1, y1) in `steps` moves. */
  async drag(x0: number, y0: number, x1: number, y1: number, steps = 5): Promise<void> {
    await this.mouse("mouseMoved", x0, y0);
    await this.mouse("mousePressed", x0, y0);
    for (let i = 1; i <= steps; i++) {
      await this.mouse("mouseMoved", x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, true);
    }
    await this.mouse("mouseReleased", x1, y1);
  }

  /** Turns the mouse wheel at (x, y) by `deltaY` pixels (negative: away from the user, zoom in). */
  async wheel(x: number, y: number, deltaY: number): Promise<void> {
    await this.page("Input.dispatchMouseEvent", { type: "mouseWheel", x, y, deltaX: 0, deltaY });
  }

  /** Drags files from the desktop (absolute paths) and drops them at (x, y), as a user does. */
  async dropFiles(x: number, y: number, files: readonly string[]): Promise<void> {
    const data = { items: [], files, dragOperationsMask: 1 };
    for (const type of ["dragEnter", "dragOver", "drop"]) {
      await this.page("Input.dispatchDragEvent", { type, x, y, data });
    }
  }

  /** A PNG screenshot of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.page("Page.captureScreenshot", { format: "png" }) as { data: string };
    return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  }

  /** Closes the browser and removes its profile. */
  async close(): Promise<void> {
    try {
      await Promise.race([this.send("Browser.close"), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // already gone
    }
    this.socket.close();
    try {
      this.process.kill();
    } catch {
      // exited
    }
    await this.process.status;
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}
