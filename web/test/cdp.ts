/**
 * A small DevTools-protocol driver for headless Chromium (Debian's `chromium`): launch, open a page,
 * evaluate, set a file input's files, take screenshots, and collect every console error and uncaught
 * exception the page raises.
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
      }
    });
    await b.page("Runtime.enable");
    await b.page("Log.enable");
    await b.page("Page.enable");
    await b.page("DOM.enable");
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

  /** Presses a key in the page (keyDown + keyUp). */
  async key(key: string, code = key, keyCode = 0): Promise<void> {
    for (const type of ["keyDown", "keyUp"]) {
      await this.page("Input.dispatchKeyEvent", {
        type,
        key,
        code,
        windowsVirtualKeyCode: keyCode,
        text: type === "keyDown" && key.length === 1 ? key : undefined,
      });
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
