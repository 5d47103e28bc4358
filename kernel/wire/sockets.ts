/**
 * The kernel's ZeroMQ sockets (zeromq 6): shell, control and stdin ROUTERs, the iopub PUB and
 * the heartbeat REP. Bytes in, typed messages out; nothing here knows what a message means.
 */
import * as zmq from "zeromq";
import type { Channel, Message } from "../protocol/messages.js";
import { decode, encode, type Signer } from "./codec.js";
import { endpoint, type ConnectionInfo } from "./connection.js";

export type Receiver = (channel: Channel, message: Message) => void;
export type Logger = (line: string) => void;

/**
 * Sends frames in order. zeromq 6 allows one pending `send` per socket, so writes queue here
 * and a single pump drains them.
 */
class Outbox {
  private readonly queue: Buffer[][] = [];
  private pumping = false;

  constructor(
    private readonly socket: zmq.Writable & zmq.Socket,
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  push(frames: Buffer[]): void {
    this.queue.push(frames);
    if (!this.pumping) void this.pump();
  }

  /** Resolves once everything queued so far has been handed to ZeroMQ. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.pumping) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const frames = this.queue.shift()!;
        try {
          await this.socket.send(frames);
        } catch (error) {
          if (this.socket.closed) return;
          this.log(`send on ${this.name} failed: ${(error as Error).message}`);
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

/** The bound sockets of one kernel. */
export class ZmqTransport {
  private readonly outboxes: Record<Channel, Outbox>;
  private receiver: Receiver = () => {};

  private constructor(
    private readonly sockets: {
      shell: zmq.Router;
      control: zmq.Router;
      stdin: zmq.Router;
      iopub: zmq.Publisher;
      hb: zmq.Reply;
    },
    private readonly signer: Signer,
    private readonly log: Logger,
  ) {
    this.outboxes = {
      shell: new Outbox(sockets.shell, "shell", log),
      control: new Outbox(sockets.control, "control", log),
      stdin: new Outbox(sockets.stdin, "stdin", log),
      iopub: new Outbox(sockets.iopub, "iopub", log),
    };
  }

  /** Binds every socket of the connection file and starts receiving. */
  static async bind(info: ConnectionInfo, signer: Signer, log: Logger): Promise<ZmqTransport> {
    const options = { linger: 1000 };
    const sockets = {
      shell: new zmq.Router(options),
      control: new zmq.Router(options),
      stdin: new zmq.Router(options),
      iopub: new zmq.Publisher(options),
      hb: new zmq.Reply(options),
    };
    await Promise.all([
      sockets.shell.bind(endpoint(info, info.shell_port)),
      sockets.control.bind(endpoint(info, info.control_port)),
      sockets.stdin.bind(endpoint(info, info.stdin_port)),
      sockets.iopub.bind(endpoint(info, info.iopub_port)),
      sockets.hb.bind(endpoint(info, info.hb_port)),
    ]);
    const transport = new ZmqTransport(sockets, signer, log);
    for (const channel of ["shell", "control", "stdin"] as const) void transport.receive(channel);
    void transport.heartbeat();
    return transport;
  }

  onMessage(receiver: Receiver): void {
    this.receiver = receiver;
  }

  send(channel: Channel, message: Message): void {
    this.outboxes[channel].push(encode(message, this.signer));
  }

  /** Waits until queued messages are handed over, then closes every socket. */
  async close(): Promise<void> {
    await Promise.all(Object.values(this.outboxes).map((outbox) => outbox.drain()));
    for (const socket of Object.values(this.sockets)) socket.close();
  }

  private async receive(channel: "shell" | "control" | "stdin"): Promise<void> {
    const socket = this.sockets[channel];
    try {
      for await (const frames of socket) {
        const decoded = decode(frames, this.signer);
        if (!decoded.ok) {
          this.log(`dropped a message on ${channel}: ${decoded.reason}`);
          continue;
        }
        try {
          this.receiver(channel, decoded.message);
        } catch (error) {
          this.log(`handling ${decoded.message.header.msg_type} on ${channel} failed: ${(error as Error).stack}`);
        }
      }
    } catch (error) {
      if (!socket.closed) this.log(`${channel} socket stopped: ${(error as Error).message}`);
    }
  }

  private async heartbeat(): Promise<void> {
    const socket = this.sockets.hb;
    try {
      for await (const frames of socket) await socket.send(frames);
    } catch (error) {
      if (!socket.closed) this.log(`heartbeat stopped: ${(error as Error).message}`);
    }
  }
}
