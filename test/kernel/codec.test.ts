import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import type { Message } from "../../kernel/protocol/messages.js";
import { decode, DELIMITER, encode, Signer } from "../../kernel/wire/codec.js";

const header = { msg_id: "m1", session: "s", username: "u", date: "2024-01-01T00:00:00Z", msg_type: "execute_request", version: "5.3" };

function message(overrides: Partial<Message> = {}): Message {
  return { identities: [Buffer.from("client-1")], header, parent_header: {}, metadata: {}, content: { code: "1 + 1" }, buffers: [], ...overrides };
}

describe("wire codec", () => {
  it("signs with HMAC-SHA256 over the four JSON frames, as jupyter_client does", () => {
    const signer = new Signer("hmac-sha256", "secret");
    const frames = encode(message(), signer);
    const split = frames.findIndex((f) => f.equals(DELIMITER));
    assert.equal(frames[0]!.toString(), "client-1");
    const expected = createHmac("sha256", "secret");
    for (const part of frames.slice(split + 2, split + 6)) expected.update(part);
    assert.equal(frames[split + 1]!.toString(), expected.digest("hex"));
  });

  it("round-trips identities, JSON parts and binary buffers", () => {
    const signer = new Signer("hmac-sha256", "k");
    const original = message({ buffers: [new Uint8Array([1, 2, 3]), new Uint8Array(0)], content: { text: "héllo 🎉" } });
    const decoded = decode(encode(original, signer), signer);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.message.identities.map(String), ["client-1"]);
    assert.deepEqual(decoded.message.header, header);
    assert.deepEqual(decoded.message.content, { text: "héllo 🎉" });
    assert.deepEqual(decoded.message.buffers.map((b) => [...b]), [[1, 2, 3], []]);
  });

  it("drops a message whose signature is wrong, of the wrong length, or signed with another key", () => {
    const signer = new Signer("hmac-sha256", "right");
    const frames = encode(message(), signer);
    const split = frames.findIndex((f) => f.equals(DELIMITER));
    const tampered = [...frames];
    tampered[split + 4] = Buffer.from(JSON.stringify({ code: "evil()" }));
    assert.deepEqual(decode(tampered, signer), { ok: false, reason: "bad signature" });
    const short = [...frames];
    short[split + 1] = Buffer.from("abc");
    assert.deepEqual(decode(short, signer), { ok: false, reason: "bad signature" });
    assert.deepEqual(decode(encode(message(), new Signer("hmac-sha256", "wrong")), signer), { ok: false, reason: "bad signature" });
  });

  it("accepts unsigned messages only when the key is empty", () => {
    const unsigned = new Signer("hmac-sha256", "");
    const frames = encode(message(), unsigned);
    assert.equal(frames[frames.findIndex((f) => f.equals(DELIMITER)) + 1]!.length, 0);
    assert.ok(decode(frames, unsigned).ok);
    assert.equal(decode(frames, new Signer("hmac-sha256", "key")).ok, false);
  });

  it("reports malformed frames instead of throwing", () => {
    const signer = new Signer("hmac-sha256", "");
    const good = encode(message(), signer);
    const split = good.findIndex((f) => f.equals(DELIMITER));
    const cases: Array<[Buffer[], RegExp]> = [
      [[Buffer.from("no delimiter here")], /delimiter/],
      [good.slice(0, split + 3), /4 JSON frames/],
      [[...good.slice(0, split + 2), Buffer.from("{not json"), ...good.slice(split + 3)], /header is not JSON/],
      [[...good.slice(0, split + 5), Buffer.from("[1, 2]"), ...good.slice(split + 6)], /content is not a JSON object/],
      [[...good.slice(0, split + 2), Buffer.from("{}"), ...good.slice(split + 3)], /lacks msg_type/],
      [[...good.slice(0, split + 2), Buffer.from([0xff, 0xfe, 0x00]), ...good.slice(split + 3)], /header is not JSON/],
    ];
    for (const [frames, reason] of cases) {
      const decoded = decode(frames, signer);
      assert.equal(decoded.ok, false);
      assert.match((decoded as { reason: string }).reason, reason);
    }
  });

  it("rejects an unknown signature scheme with a clear error", () => {
    assert.throws(() => new Signer("rsa-1024", "k"), /unsupported signature_scheme "rsa-1024"/);
    assert.throws(() => new Signer("hmac-nosuchhash", "k"), /unsupported/);
    assert.doesNotThrow(() => new Signer("hmac-sha512", "k"));
  });
});
