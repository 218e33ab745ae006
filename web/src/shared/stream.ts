// The store's live stream (docs/api.md, "Live stream"). A browser cannot
// set Authorization on a WebSocket and a token in a URL ends up in logs, so
// each connection first asks for a one-use ticket (valid 30 s) and sends it
// as a subprotocol beside the messages' version.
//
// The client remembers the position (event id) of the last event it got and
// reconnects with `?after=<position>` and a fresh ticket, so it receives
// exactly what it missed. When it cannot resume (the server says `reload`,
// or it never had a position) it asks the page to read its data again.
import { api } from './api';
import { ApiProblem } from './problem';
import type { LiveMessage, StreamTicket } from './types';

export const LIVE_PROTOCOL = 'shopfleet.live.v1';
const TICKET_PROTOCOL_PREFIX = 'shopfleet.ticket.';
/** Ticks come every 5 s: this long without any message means the link is dead. */
const SILENCE_MS = 20_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export type StreamStatus = 'live' | 'reconnecting';

export interface StreamHandlers {
  /** Every message but `ready` and `reload`, in the order the server sent them. */
  onMessage(message: LiveMessage): void;
  /** What the page shows may be missing events: read it again. */
  onResync(reason: string): void;
  onStatus(status: StreamStatus): void;
}

export interface LiveStream {
  close(): void;
}

function isLiveMessage(value: unknown): value is LiveMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

export function openStream(storeId: string, handlers: StreamHandlers): LiveStream {
  let socket: WebSocket | null = null;
  let position: string | null = null;
  let attempts = 0;
  let connections = 0;
  let closed = false;
  let retryTimer: number | undefined;
  let silenceTimer: number | undefined;
  let ticketRequest: AbortController | null = null;
  /** Between asking for a ticket and having a socket. */
  let pending = false;

  const base = `/v1/stores/${encodeURIComponent(storeId)}`;

  function setStatus(status: StreamStatus): void {
    if (!closed) handlers.onStatus(status);
  }

  function watchSilence(): void {
    window.clearTimeout(silenceTimer);
    silenceTimer = window.setTimeout(() => socket?.close(4000, 'silent'), SILENCE_MS);
  }

  function scheduleReconnect(): void {
    if (closed) return;
    setStatus('reconnecting');
    window.clearTimeout(retryTimer);
    // Exponential backoff with jitter, so a restarted server is not hit by
    // every dashboard at the same instant.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    attempts += 1;
    retryTimer = window.setTimeout(connect, delay);
  }

  function onMessage(event: MessageEvent): void {
    watchSilence();
    if (typeof event.data !== 'string') return;
    let message: unknown;
    try {
      message = JSON.parse(event.data); // JSON boundary
    } catch {
      return;
    }
    if (!isLiveMessage(message)) return;
    switch (message.type) {
      case 'ready': {
        const resumed = position !== null;
        if (message.last_id != null && position === null) position = message.last_id;
        attempts = 0;
        setStatus('live');
        // A reconnect without a position cannot know what it missed.
        if (connections > 1 && !resumed) handlers.onResync('reconnected');
        return;
      }
      case 'reload':
        // Too far behind to resume: the stream goes on live, the page re-reads.
        handlers.onResync(message.reason);
        return;
      case 'tick':
        handlers.onMessage(message);
        return;
      default:
        if ('id' in message && typeof message.id === 'string') position = message.id;
        handlers.onMessage(message);
    }
  }

  async function connect(): Promise<void> {
    if (closed || pending) return;
    pending = true;
    ticketRequest = new AbortController();
    let ticket: StreamTicket;
    try {
      ticket = await api<StreamTicket>(`${base}/stream/tickets`, { method: 'POST', signal: ticketRequest.signal });
    } catch (error) {
      pending = false;
      if (closed) return;
      // Signed out, not this store's staff, or no such store: retrying cannot help.
      if (error instanceof ApiProblem && [401, 403, 404].includes(error.status)) {
        closed = true;
        return;
      }
      scheduleReconnect();
      return;
    }
    pending = false;
    if (closed) return;
    const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = position !== null ? `?after=${encodeURIComponent(position)}` : '';
    const url = `${scheme}//${window.location.host}${base}/stream${query}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, [LIVE_PROTOCOL, TICKET_PROTOCOL_PREFIX + ticket.ticket]);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    connections += 1;
    watchSilence();
    ws.onmessage = onMessage;
    ws.onclose = () => {
      window.clearTimeout(silenceTimer);
      if (socket === ws) socket = null;
      scheduleReconnect();
    };
    // An error is always followed by close, which reconnects.
    ws.onerror = () => undefined;
  }

  function onOnline(): void {
    // Back online: try now rather than at the end of a long backoff.
    if (!closed && socket === null && !pending) {
      attempts = 0;
      window.clearTimeout(retryTimer);
      void connect();
    }
  }

  window.addEventListener('online', onOnline);
  setStatus('reconnecting');
  void connect();

  return {
    close() {
      closed = true;
      window.removeEventListener('online', onOnline);
      window.clearTimeout(retryTimer);
      window.clearTimeout(silenceTimer);
      ticketRequest?.abort();
      if (socket) {
        socket.onclose = null;
        socket.close(1000, 'left the page');
        socket = null;
      }
    },
  };
}
