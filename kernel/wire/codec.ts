/**
 * The Jupyter wire format: frames ⇄ messages, with HMAC signatures.
 *
 * `[identities…, "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers…]`;
 * the signature is the hex HMAC of the four JSON frames. Decoding never throws: a bad frame
 * comes back as a reason, so one malformed message cannot take the kernel down.
 */
import { createHmac, getHashes, timingSafeEqual } from "node:crypto";
import type { Header, JsonObject, Message } from "../protocol/messages.js";

export const DELIMITER = Buffer.from("<IDS|MSG>");

/** Signs and verifies messages with the key and scheme of the connection file. */
export class Signer {
  private readonly algorithm: string;

  /**
   * @param scheme `hmac-<hash>` as in the connection file (`hmac-sha256` by default).
   * @param key the shared key; an empty key means messages are not signed.
   */
  constructor(
    scheme: string,
    private readonly key: string,
  ) {
    const match = /^hmac-([\w-]+)$/.exec(scheme);
    if (!match || !getHashes().includes(match[1]!)) {
      throw new Error(`unsupported signature_scheme "${scheme}": expected hmac-<hash>, e.g. hmac-sha256`);
    }
    this.algorithm = match[1]!;
  }

  get enabled(): boolean {
    return this.key.length > 0;
  }

  sign(parts: readonly Buffer[]): string {
    if (!this.enabled) return "";
    const hmac = createHmac(this.algorithm, this.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest("hex");
  }

  /** Constant-time comparison of `signature` with the expected one. */
  verify(signature: Buffer, parts: readonly Buffer[]): boolean {
    if (!this.enabled) return true;
    const expected = Buffer.from(this.sign(parts));
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}

export type Decoded = { ok: true; message: Message } | { ok: false; reason: string };

/** Parses frames received on a ROUTER (or SUB) socket. */
export function decode(frames: readonly Buffer[], signer: Signer): Decoded {
  const split = frames.findIndex((frame) => frame.equals(DELIMITER));
  if (split < 0) return { ok: false, reason: "no <IDS|MSG> delimiter frame" };
  if (frames.length < split + 6) {
    return { ok: false, reason: `expected signature and 4 JSON frames after the delimiter, got ${frames.length - split - 1}` };
  }
  const [signature, ...parts] = frames.slice(split + 1, split + 6) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  if (!signer.verify(signature, parts)) return { ok: false, reason: "bad signature" };
  const names = ["header", "parent_header", "metadata", "content"] as const;
  const parsed: JsonObject[] = [];
  for (let i = 0; i < 4; i++) {
    let value: unknown;
    try {
      value = JSON.parse(parts[i]!.toString("utf8"));
    } catch (error) {
      return { ok: false, reason: `${names[i]} is not JSON (${(error as Error).message})` };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { ok: false, reason: `${names[i]} is not a JSON object` };
    }
    parsed.push(value as JsonObject);
  }
  const header = parsed[0]!;
  if (typeof header.msg_type !== "string" || typeof header.msg_id !== "string") {
    return { ok: false, reason: "header lacks msg_type or msg_id" };
  }
  return {
    ok: true,
    message: {
      identities: frames.slice(0, split),
      header: header as Header,
      parent_header: parsed[1] as Message["parent_header"],
      metadata: parsed[2]!,
      content: parsed[3]!,
      buffers: frames.slice(split + 6),
    },
  };
}

/** Serialises a message into frames, signing it. */
export function encode(message: Message, signer: Signer): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((part) =>
    Buffer.from(JSON.stringify(part)),
  );
  return [
    ...message.identities,
    DELIMITER,
    Buffer.from(signer.sign(parts)),
    ...parts,
    ...message.buffers.map((buffer) => Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength)),
  ];
}
