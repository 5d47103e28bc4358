/**
 * Jupyter messaging protocol 5.3: the typed shapes the kernel reads and writes.
 * Authoritative text: jupyter_client's docs/messaging.rst.
 */

/** The protocol version this kernel speaks. */
export const PROTOCOL_VERSION = "5.3";

/** The sockets a kernel serves (heartbeat is handled by the transport alone). */
export type Channel = "shell" | "control" | "iopub" | "stdin";

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
  [extra: string]: unknown;
}

export type JsonObject = Record<string, unknown>;

/** A decoded message, as received from or sent to a client. */
export interface Message<Content = JsonObject> {
  /** ZeroMQ routing identities (ROUTER sockets) or the topic (iopub). */
  identities: Buffer[];
  header: Header;
  /** The header of the request this message answers, or `{}`. */
  parent_header: Header | Record<string, never>;
  metadata: JsonObject;
  content: Content;
  buffers: Uint8Array[];
}

/** What a handler asks the transport to send: the kernel fills in the header. */
export interface Outgoing<Content = JsonObject> {
  msg_type: string;
  content: Content;
  metadata?: JsonObject;
  buffers?: Uint8Array[];
}

export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}

export interface CompleteRequest {
  code: string;
  /** In Unicode code points, not UTF-16 units. */
  cursor_pos: number;
}

export interface InspectRequest {
  code: string;
  cursor_pos: number;
  detail_level?: 0 | 1;
}

export interface IsCompleteRequest {
  code: string;
}

export interface HistoryRequest {
  output?: boolean;
  raw?: boolean;
  hist_access_type: "range" | "tail" | "search";
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

export interface CommOpen {
  comm_id: string;
  target_name: string;
  data?: JsonObject;
  target_module?: string;
}

export interface CommMsg {
  comm_id: string;
  data?: JsonObject;
}

export interface ShutdownRequest {
  restart?: boolean;
}

/** A MIME bundle as the protocol carries it (always with `text/plain`). */
export interface MimeData {
  "text/plain": string;
  [mime: string]: unknown;
}

/** The error triple of `error` outputs and error replies. */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export interface CompleteReply {
  matches: string[];
  /** Code points. */
  cursor_start: number;
  cursor_end: number;
  metadata: JsonObject;
}

export interface InspectReply {
  found: boolean;
  data: JsonObject;
  metadata: JsonObject;
}

export interface IsCompleteReply {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}
