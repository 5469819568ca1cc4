// The GraphQL client every page uses: queries and mutations over POST
// /graphql, subscriptions over a WebSocket (graphql-transport-ws).

/**
 * An error answer: `code` is extensions.code of the first error. A
 * RATE_LIMITED one that says how long to wait (extensions.retryAfterSeconds)
 * reads the same on every page: "Too many attempts. Try again in N seconds."
 */
export class GraphQLError extends Error {
  constructor(errors) {
    const first = errors[0] || {};
    const wait = first.extensions?.retryAfterSeconds;
    super(first.extensions?.code === 'RATE_LIMITED' && wait > 0
      ? `Too many attempts. Try again in ${wait} second${wait === 1 ? '' : 's'}.`
      : first.message || 'The request failed. Try again.');
    this.errors = errors;
    this.code = first.extensions?.code || '';
    this.retryAfterSeconds = wait || 0;
  }
}

/**
 * Sends one operation and returns its `data`; throws GraphQLError for an
 * error answer and for a server that cannot be reached.
 */
export async function request(query, variables = {}, { token = '', signal } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new GraphQLError([{ message: 'The service cannot be reached. Check your connection.', extensions: { code: 'UNAVAILABLE' } }]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphQLError([{ message: `The service answered ${response.status}.`, extensions: { code: 'UNAVAILABLE' } }]);
  }
  if (body.errors?.length) throw new GraphQLError(body.errors);
  return body.data;
}

// WebSocket close codes the server uses for a session that no longer works.
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;

/**
 * Subscribes over its own WebSocket. onData gets each result's data; onEnd
 * gets the close code when the server ends the session (4401, 4403). Any
 * other loss, and a `complete` the page did not ask for (the server drops a
 * subscriber that falls behind), reconnects after a pause (1 s doubling to
 * 15 s) and calls onReconnect, so the page can fetch what it may have
 * missed. Returns a function that unsubscribes.
 */
export function subscribe(query, variables, { token, onData, onEnd = () => {}, onReconnect = () => {} }) {
  let socket;
  let stopped = false;
  let attempts = 0;
  const connect = () => {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    socket = new WebSocket(url, 'graphql-transport-ws');
    socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
    socket.onmessage = (message) => {
      const msg = JSON.parse(message.data);
      switch (msg.type) {
        case 'connection_ack':
          // Subscribe first, then let the page re-read: the read starts after the subscription was asked for.
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
          if (attempts > 0) onReconnect();
          attempts = 0;
          break;
        case 'next':
          if (msg.payload.errors?.length) {
            const err = new GraphQLError(msg.payload.errors);
            if (err.code === 'UNAUTHENTICATED' || err.code === 'ACCOUNT_DISABLED') stop(err.code === 'ACCOUNT_DISABLED' ? CLOSE_FORBIDDEN : CLOSE_UNAUTHORIZED);
          } else onData(msg.payload.data);
          break;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'error':
          stop(CLOSE_UNAUTHORIZED);
          break;
        case 'complete':
          // The server ended the subscription without being asked (a
          // subscriber that fell behind is dropped): like a lost socket,
          // subscribe again after the back-off, then onReconnect lets the
          // page re-read what it shows.
          if (!stopped) socket.close(1000);
          break;
      }
    };
    const current = socket;
    socket.onclose = (event) => {
      if (stopped || current !== socket) return;
      if (event.code === CLOSE_UNAUTHORIZED || event.code === CLOSE_FORBIDDEN) {
        stop(event.code);
        return;
      }
      attempts++;
      setTimeout(() => { if (!stopped) connect(); }, Math.min(1000 * 2 ** (attempts - 1), 15000));
    };
  };
  const stop = (code) => {
    if (stopped) return;
    stopped = true;
    socket.close(1000);
    if (code) onEnd(code);
  };
  connect();
  return () => stop(0);
}

/** The first GraphQL error's code for a thrown value, or ''. */
export const errorCode = (err) => (err instanceof GraphQLError ? err.code : '');
