// Standard GraphQL clients, unchanged and with their default options, against a running server:
//
//   node clients/standard-clients.mjs <baseURL> <operatorToken> <customerId>
//
// The token must be an ADMIN's (the script disables and re-enables the customer). Every outcome is
// one JSON line on stdout, with a "check" of "urql", "graphql-ws" or "audit"; the caller
// (server/clients_test.go) judges them. The exit code is 0 when everything ran, whatever the
// outcomes, and non-zero when something crashed (a line with "crash" says what).
import { createClient as createUrqlClient, fetchExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { auditServer } from 'graphql-http';

const [baseURL, token, customerId] = process.argv.slice(2);
if (!baseURL || !token || !customerId) {
  console.error('usage: node standard-clients.mjs <baseURL> <operatorToken> <customerId>');
  process.exit(2);
}
const graphqlURL = baseURL.replace(/\/$/, '') + '/graphql';
const wsURL = graphqlURL.replace(/^http/, 'ws');
const authorization = 'Bearer ' + token;

const print = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const errorText = (err) =>
  err instanceof Error ? err.message : typeof err === 'object' ? JSON.stringify(err) : String(err);

// Observe, never change, the requests the clients make: the global fetch is wrapped to note each
// request's method and answer status, and passes everything through untouched.
const seen = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const res = await realFetch(input, init);
  seen.push({ method, status: res.status, contentType: res.headers.get('content-type') });
  return res;
};

// A POST of our own (not a client under test): the mutations that make the events.
async function post(query, variables) {
  const res = await realFetch(graphqlURL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: authorization },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

const setStatus = `mutation($id: ID!, $status: AccountStatus!, $reason: String) {
  setAccountStatus(input: {customerId: $id, status: $status, reason: $reason}) {
    changed customer { status } userErrors { field code }
  }
}`;

// urql 6 (@urql/core): a customer search. Its default preferGetMethod, "within-url-limit", sends
// queries as GET.
async function urql() {
  seen.length = 0;
  const client = createUrqlClient({
    url: graphqlURL,
    exchanges: [fetchExchange],
    fetchOptions: { headers: { Authorization: authorization } },
  });
  const query = `query Search($query: String, $first: Int) {
    customers(query: $query, first: $first) { edges { cursor node { id email status } } }
  }`;
  const result = await Promise.race([
    client.query(query, { query: 'casey', first: 5 }).toPromise(),
    sleep(10_000).then(() => ({ timedOut: true })),
  ]);
  const edges = result.data?.customers?.edges ?? [];
  print({
    check: 'urql',
    ok: !result.timedOut && !result.error && edges.length > 0,
    edges: edges.length,
    foundCustomer: edges.some((e) => e.node.id === customerId),
    requests: [...seen],
    error: result.timedOut ? 'no answer within 10 s' : result.error ? result.error.message : undefined,
    errorStatus: result.error?.response?.status,
  });
}

// graphql-ws (graphql-transport-ws): customerStatusChanged of one customer, while our own POSTs
// disable and enable it.
async function graphqlWs() {
  let protocol, closed;
  const events = [];
  const waiters = [];
  const client = createWsClient({
    url: wsURL,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: authorization },
  });
  client.on('connected', (socket) => (protocol = socket.protocol));
  client.on('closed', (event) => (closed = { code: event?.code, reason: event?.reason }));
  let subscriptionError;
  const unsubscribe = client.subscribe(
    {
      query: `subscription($id: ID) {
        customerStatusChanged(customerId: $id) { customer { id status } previousStatus status reason changedBy { name } }
      }`,
      variables: { id: customerId },
    },
    {
      next: (value) => {
        events.push(value);
        waiters.splice(0).forEach((wake) => wake());
      },
      error: (err) => {
        subscriptionError = errorText(err);
        waiters.splice(0).forEach((wake) => wake());
      },
      complete: () => waiters.splice(0).forEach((wake) => wake()),
    },
  );
  // Waits until events holds n events, an error came or ms passed.
  const waitFor = async (n, ms) => {
    const deadline = Date.now() + ms;
    while (events.length < n && !subscriptionError && Date.now() < deadline) {
      await Promise.race([new Promise((wake) => waiters.push(wake)), sleep(deadline - Date.now())]);
    }
    return events.length >= n;
  };
  const changeOf = (value) => value?.data?.customerStatusChanged;
  const mutations = [];
  try {
    // The protocol has no acknowledgement of a subscribe: connect, then give the server's resolver a
    // moment to register the subscription (as server/realtime_test.go does).
    const connectedBy = Date.now() + 5_000;
    while (!protocol && !subscriptionError && Date.now() < connectedBy) await sleep(20);
    await sleep(300);
    mutations.push(await post(setStatus, { id: customerId, status: 'DISABLED', reason: 'standard clients check' }));
    const gotDisable = await waitFor(1, 5_000);
    mutations.push(await post(setStatus, { id: customerId, status: 'ACTIVE', reason: 'standard clients check done' }));
    const gotEnable = await waitFor(2, 5_000);
    const disable = changeOf(events[0]);
    const enable = changeOf(events[1]);
    print({
      check: 'graphql-ws',
      protocol,
      ok:
        gotDisable &&
        disable?.status === 'DISABLED' &&
        disable?.previousStatus === 'ACTIVE' &&
        disable?.customer?.id === customerId,
      disableDelivered: gotDisable && disable?.status === 'DISABLED',
      enableDelivered: gotEnable && enable?.status === 'ACTIVE',
      events,
      mutations: mutations.map((m) => ({ status: m.status, result: m.body?.data?.setAccountStatus ?? m.body })),
      error: subscriptionError,
      closed,
    });
  } finally {
    unsubscribe();
    await client.dispose();
  }
}

// graphql-http's GraphQL-over-HTTP audits; the token rides on every request.
async function audits() {
  const results = await auditServer({
    url: graphqlURL,
    fetchFn: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, Authorization: authorization } }),
  });
  for (const result of results) {
    const line = { check: 'audit', id: result.id, name: result.name, status: result.status };
    if (result.status !== 'ok') {
      line.reason = result.reason;
      const res = result.response;
      let body = '';
      try {
        body = await res.text();
      } catch (err) {
        body = `(body unreadable: ${errorText(err)})`;
      }
      line.response = {
        status: res.status,
        contentType: res.headers.get('content-type'),
        body: body.length > 400 ? body.slice(0, 400) + '...' : body,
      };
    }
    print(line);
  }
}

let crashed = false;
for (const [check, run] of [
  ['urql', urql],
  ['graphql-ws', graphqlWs],
  ['audit', audits],
]) {
  try {
    await run();
  } catch (err) {
    crashed = true;
    print({ check, ok: false, crash: err instanceof Error ? err.stack : errorText(err) });
  }
}
// Nothing may keep the process alive (idle keep-alive sockets): stdout to a pipe is synchronous.
process.exit(crashed ? 1 : 0);
