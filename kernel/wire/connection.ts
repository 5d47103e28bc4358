/** The connection file Jupyter writes for a kernel: ports, address, key and signature scheme. */
import { readFileSync } from "node:fs";

export interface ConnectionInfo {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  iopub_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

const PORTS = ["shell_port", "control_port", "iopub_port", "stdin_port", "hb_port"] as const;

/** Reads and validates a connection file; the error says which field is wrong. */
export function readConnectionFile(path: string): ConnectionInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the connection file ${path}: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== "object") throw new Error(`connection file ${path} is not a JSON object`);
  const info = raw as Partial<Record<keyof ConnectionInfo, unknown>>;
  const transport = info.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") {
    throw new Error(`connection file ${path}: transport must be "tcp" or "ipc", got ${JSON.stringify(transport)}`);
  }
  for (const port of PORTS) {
    const value = info[port];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
      throw new Error(`connection file ${path}: ${port} must be a port number, got ${JSON.stringify(value)}`);
    }
  }
  const ip = info.ip ?? "127.0.0.1";
  if (typeof ip !== "string") throw new Error(`connection file ${path}: ip must be a string`);
  const key = info.key ?? "";
  if (typeof key !== "string") throw new Error(`connection file ${path}: key must be a string`);
  const scheme = info.signature_scheme ?? "hmac-sha256";
  if (typeof scheme !== "string") throw new Error(`connection file ${path}: signature_scheme must be a string`);
  return {
    transport,
    ip,
    shell_port: info.shell_port as number,
    control_port: info.control_port as number,
    iopub_port: info.iopub_port as number,
    stdin_port: info.stdin_port as number,
    hb_port: info.hb_port as number,
    key,
    signature_scheme: scheme,
  };
}

/** The ZeroMQ endpoint of one port (`tcp://ip:port`, or `ipc://ip-port` as jupyter_client names them). */
export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === "tcp" ? `tcp://${info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
