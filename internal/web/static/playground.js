// The admin playground: GraphiQL (served by the BFF) against /playground/graphql,
// the one endpoint that answers introspection, and only for ADMIN operators.
import { request } from './gql.js';
import { showSection, formError, handleSignIn } from './ui.js';

const TOKEN_KEY = 'bff.playground.token';
const $ = (id) => document.getElementById(id);
let root = null;

// What the editor opens with (GraphiQL's defaultQuery, until the admin has typed a query of its own):
// an operation of this API, not GraphiQL's generic comment.
const SAMPLE_QUERY = `# The playground runs operations with your own permissions, against live data.
# Press the run button (or Ctrl-Enter) to see who you are and your first five customers;
# the Docs pane on the left describes every type and field.
query Sample {
  viewer {
    ... on Operator { name role permissions domain { slug name } }
  }
  customers(query: "", first: 5) {
    totalCount
    edges {
      node { id firstName lastName email status }
    }
  }
}
`;

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  root?.unmount();
  root = null;
  $('graphiql').hidden = true;
  $('who').hidden = true;
  $('sign-in-main').hidden = false;
  showSection('sign-in');
  if (message) formError($('sign-in-form'), message);
  $('sign-in-domain').focus();
}

async function enter(token) {
  const data = await request('{ viewer { ... on Operator { name role } } }', {}, { token });
  if (data.viewer?.role !== 'ADMIN') return signOut('The playground is for administrators.');
  sessionStorage.setItem(TOKEN_KEY, token);
  $('who-name').textContent = data.viewer.name;
  $('who').hidden = false;
  $('sign-in-main').hidden = true;
  $('graphiql').hidden = false;
  const headers = { Authorization: `Bearer ${token}` };
  const fetcher = window.GraphiQL.createFetcher({
    url: `${location.origin}/playground/graphql`,
    subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    headers,
    wsConnectionParams: headers,
  });
  root = window.ReactDOM.createRoot($('graphiql'));
  root.render(window.React.createElement(window.GraphiQL, { fetcher, defaultQuery: SAMPLE_QUERY, defaultEditorToolsVisibility: true }));
}

handleSignIn($('sign-in-form'), `mutation($input: OperatorLoginInput!) {
  operatorLogin(input: $input) { token userErrors { field message code } } }`, (payload) => enter(payload.token));

$('sign-out').addEventListener('click', async () => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  try { await request('mutation { logout { success } }', {}, { token }); } catch { /* signed out locally either way */ }
  signOut();
});

// Module scripts run after the deferred GraphiQL scripts, so window.GraphiQL is there.
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) enter(saved).catch(() => signOut('Your session has ended. Sign in again.'));
else signOut();
