/**
 * tslab's public API (`import * as tslab from "tslab"`), so notebooks written for tslab run
 * unchanged: `tslab.display.*`, `tslab.newDisplay()` and `tslab.versions`, with tslab 1.0.22's
 * signatures and behaviour. The cluelab kernel maps the module name `tslab` to this file.
 *
 * Differences, all additive: every output also carries `text/plain` (Jupyter frontends and
 * nbconvert expect it), `javascript()` also sends `application/javascript` (the MIME type the
 * classic notebook and nbconvert run), and outside a kernel outputs print their text instead of
 * throwing "Not ready".
 *
 * @packageDocumentation
 */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { inspect } from "node:util";
import { publish } from "./display.js";
import type { MimeBundle } from "./protocol.js";
import { htmlToText, toBase64 } from "./text.js";

/** Version strings, as tslab reports them. */
export interface Versions {
  /** The tslab API version this module implements. */
  tslab: string;
  /** The TypeScript compiler next to cluelab (the kernel's), or "unknown". */
  typescript: string;
  /** Node.js (`process.version`). */
  node: string;
  /** cluelab itself. */
  cluelab: string;
}

/** The version strings of tslab (the API implemented here) and its dependencies. */
export const versions: Versions = {
  tslab: "1.0.22",
  typescript: packageVersion("typescript"),
  node: process.version,
  cluelab: packageVersion("cluelab"),
};

/** Shows one kind of content; each call shows a new output, or, from {@link newDisplay}, replaces it. */
export interface Display {
  /** Runs JavaScript in the frontend. */
  javascript(s: string): void;
  html(s: string): void;
  markdown(s: string): void;
  latex(s: string): void;
  svg(s: string): void;
  png(b: Uint8Array): void;
  jpeg(b: Uint8Array): void;
  gif(b: Uint8Array): void;
  pdf(b: Uint8Array): void;
  text(s: string): void;
  /** Any MIME type; bytes are sent as base64. */
  raw(contentType: string, b: string | Uint8Array): void;
}

/**
 * Returns a new `Display` instance which displays and overwrites a single display-entry: its first
 * call shows an output, later calls replace that output.
 */
export function newDisplay(): Display {
  return new TslabDisplay(randomBytes(8).toString("hex"));
}

class TslabDisplay implements Display {
  #shown = false;

  constructor(private readonly id?: string) {}

  javascript(s: string): void {
    requireString(s, "javascript");
    this.#show({ "text/javascript": s, "application/javascript": s }, "[JavaScript]");
  }
  html(s: string): void {
    requireString(s, "html");
    this.#show({ "text/html": s }, htmlToText(s) || "[HTML]");
  }
  markdown(s: string): void {
    this.raw("text/markdown", s);
  }
  latex(s: string): void {
    this.raw("text/latex", s);
  }
  svg(s: string): void {
    this.raw("image/svg+xml", s);
  }
  png(b: Uint8Array): void {
    this.raw("image/png", b);
  }
  jpeg(b: Uint8Array): void {
    this.raw("image/jpeg", b);
  }
  gif(b: Uint8Array): void {
    this.raw("image/gif", b);
  }
  pdf(b: Uint8Array): void {
    this.raw("application/pdf", b);
  }
  text(s: string): void {
    this.raw("text/plain", s);
  }
  raw(contentType: string, b: string | Uint8Array): void {
    if (typeof contentType !== "string" || !contentType.includes("/")) {
      throw new TypeError(`tslab.display.raw(): contentType must be a MIME type like "text/html", got ${inspect(contentType)}`);
    }
    if (b instanceof Uint8Array) {
      this.#show({ [contentType]: toBase64(b) }, `[${contentType}, ${b.length} bytes]`);
    } else if (typeof b === "string") {
      const textual = contentType.startsWith("text/") || contentType === "image/svg+xml";
      this.#show({ [contentType]: b }, textual ? b : `[${contentType}]`);
    } else {
      throw new TypeError(`tslab.display.raw(): data must be a string or a Uint8Array, got ${inspect(b)}`);
    }
  }

  #show(data: Record<string, string>, plain: string): void {
    const bundle: MimeBundle = { "text/plain": plain, ...data };
    // tslab: an id'd display sends display_data first, then update_display_data.
    const update = this.id !== undefined && this.#shown;
    this.#shown = true;
    publish({ bundle, metadata: {} }, this.id === undefined ? {} : { id: this.id, update });
  }
}

/** Utility functions to display rich contents, as in tslab. */
export const display: Display = new TslabDisplay();

function requireString(s: unknown, method: string): asserts s is string {
  if (typeof s !== "string") throw new TypeError(`tslab.display.${method}(): expected a string, got ${inspect(s)}`);
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
