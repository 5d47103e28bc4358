/**
 * The comm manager user code and libraries reach through `Symbol.for("cluelab.comm.sink")`:
 * comms opened from the kernel to a frontend target (e.g. `jupyter.widget`), and targets that
 * accept comms the frontend opens.
 */
import { randomUUID } from "node:crypto";
import type { Comm, CommMessage, CommSendOptions, CommSink } from "../../lib/display/protocol.js";
import type { Output } from "../protocol/core.js";
import type { JsonObject } from "../protocol/messages.js";

type Send = (output: Output) => void;

class KernelComm implements Comm {
  closed = false;
  readonly messageHandlers: Array<(message: CommMessage) => void> = [];
  readonly closeHandlers: Array<(message: CommMessage) => void> = [];

  constructor(
    readonly commId: string,
    readonly targetName: string,
    private readonly send_: Send,
    private readonly forget: (id: string) => void,
  ) {}

  send(data: Record<string, unknown>, options: CommSendOptions = {}): void {
    if (this.closed) throw new Error(`comm ${this.commId} (${this.targetName}) is closed: cannot send on it`);
    this.send_({ msg_type: "comm_msg", content: { comm_id: this.commId, data }, metadata: options.metadata ?? {}, buffers: options.buffers ?? [] });
  }

  close(data: Record<string, unknown> = {}, options: CommSendOptions = {}): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this.commId);
    this.send_({ msg_type: "comm_close", content: { comm_id: this.commId, data }, metadata: options.metadata ?? {}, buffers: options.buffers ?? [] });
  }

  onMessage(handler: (message: CommMessage) => void): void {
    this.messageHandlers.push(handler);
  }

  onClose(handler: (message: CommMessage) => void): void {
    this.closeHandlers.push(handler);
  }
}

export class CommManager implements CommSink {
  private readonly comms = new Map<string, KernelComm>();
  private readonly targets = new Map<string, (comm: Comm, message: CommMessage) => void>();

  /**
   * @param send publishes a comm output (with the running cell, or the comm request, as parent)
   * @param report reports an error thrown by a user handler without failing the protocol
   */
  constructor(
    private readonly send: Send,
    private readonly report: (error: unknown) => void,
  ) {}

  open(targetName: string, data: Record<string, unknown> = {}, options: CommSendOptions = {}): Comm {
    const comm = this.create(randomUUID().replaceAll("-", ""), targetName);
    this.send({ msg_type: "comm_open", content: { comm_id: comm.commId, target_name: targetName, data }, metadata: options.metadata ?? {}, buffers: options.buffers ?? [] });
    return comm;
  }

  registerTarget(targetName: string, onOpen: (comm: Comm, message: CommMessage) => void): () => void {
    this.targets.set(targetName, onOpen);
    return () => {
      if (this.targets.get(targetName) === onOpen) this.targets.delete(targetName);
    };
  }

  /** A comm message from the frontend. */
  receive(kind: "comm_open" | "comm_msg" | "comm_close", content: JsonObject, buffers: Uint8Array[]): void {
    const id = String(content.comm_id);
    const message: CommMessage = { data: (content.data as Record<string, unknown>) ?? {}, metadata: {}, buffers };
    if (kind === "comm_open") {
      const target = String(content.target_name);
      const onOpen = this.targets.get(target);
      if (!onOpen) {
        // Nobody listens: say so by closing it, as ipykernel does.
        this.send({ msg_type: "comm_close", content: { comm_id: id, data: { error: `no comm target "${target}" is registered in this kernel` } } });
        return;
      }
      const comm = this.create(id, target);
      this.call(() => onOpen(comm, message));
      return;
    }
    const comm = this.comms.get(id);
    if (!comm) return;
    if (kind === "comm_msg") {
      for (const handler of comm.messageHandlers) this.call(() => handler(message));
    } else {
      comm.closed = true;
      this.comms.delete(id);
      for (const handler of comm.closeHandlers) this.call(() => handler(message));
    }
  }

  private create(id: string, target: string): KernelComm {
    const comm = new KernelComm(id, target, this.send, (commId) => this.comms.delete(commId));
    this.comms.set(id, comm);
    return comm;
  }

  private call(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.report(error);
    }
  }
}
