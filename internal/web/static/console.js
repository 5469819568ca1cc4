// The operator console: sign-in (with a second factor, and the first one, from a setup link), the
// Customers screen, new customers and the actions on one, the team, the audit log, the domain's
// settings and the operator's own password and authenticator app.
import { request, subscribe, errorCode, CLOSE_FORBIDDEN } from './gql.js';
import { watchPassword } from './strength.js';
import {
  h, showSection, showErrors, clearErrors, formError, busy, announce as showStatus, formatTime, statusLabel, handleSignIn, activityLabel, deviceIDs,
  deviceTokenKey, nameAccount,
} from './ui.js';

const TOKEN_KEY = 'bff.console.token';
const DOMAIN_KEY = 'bff.console.domain';
// Where this tab's signed-in operator keeps its device token (the localStorage key, not the token):
// the second factor and a password change hand one out for it.
const ACCOUNT_DEVICE_KEY = 'bff.console.deviceKey';
const DEVICE_KEY = 'bff.console.device'; // + the account: its device token (ui.js deviceTokenKey)
const PAGE_SIZE = 25;
const DEBOUNCE_MS = 100;
const SPINNER_AFTER_MS = 200;

const CUSTOMER_FIELDS = 'id firstName lastName email phone status version';
// What a search matched in each result, to mark it (CustomerEdge).
const MATCH_FIELDS = 'matchedFields highlights { field value ranges { start length } }';
// A match the row does not show otherwise gets a line of its own: what it is, then its value.
const MATCHED = { DEVICE: 'Device', EXTERNAL_ID: 'External id', ID: 'Customer id' };
const PROFILE = ['firstName', 'lastName', 'email', 'phone']; // what the Edit dialog corrects
const ENDED_MESSAGE = 'Your session has ended. Sign in again.';
const DISABLED_MESSAGE = 'Your operator account has been disabled, so you have been signed out. Ask an ADMIN of your team if you think this is a mistake.';

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  operator: null,
  customers: [], // the list as shown, in order
  endCursor: null,
  latestRequest: 0, // responses to older requests are discarded
  query: null, // the search text the list shows the answer to
  total: 0, // how many customers that search found
  selected: null, // the customer shown in the details pane
  editing: null, // the profile and version the Edit dialog started from
  unsubscribe: null,
  renewal: null, // a password change in flight: it brings a new token
  resubscribe: null, // the timer that opens the live updates again
  enrolOnly: false, // the session may only set up a second factor
};

const fullName = (c) => `${c.firstName} ${c.lastName}`;

// A status message goes after STATUS_MS (or #status's data-clear-after, in ms), or at the next
// action: opening a dialog clears it, and every action says its own.
const STATUS_MS = 12000;
let statusTimer;
function announce(text) {
  clearTimeout(statusTimer);
  showStatus(text);
  if (text) statusTimer = setTimeout(() => showStatus(''), Number($('status').dataset.clearAfter) || STATUS_MS);
}
const can = (permission) => state.operator?.permissions.includes(permission);

// ---- Session ----

/** Sends a request with the session's token; an answer saying the session is over signs out. */
async function call(query, variables, options = {}) {
  const token = state.token;
  try {
    return await request(query, variables, { token, ...options });
  } catch (err) {
    if (token && token === state.token) { // not an answer to a token already replaced
      if (errorCode(err) === 'ACCOUNT_DISABLED') signOut(DISABLED_MESSAGE, true);
      else if (errorCode(err) === 'UNAUTHENTICATED') signOut(ENDED_MESSAGE);
    }
    throw err;
  }
}

function keepToken(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
}

function signOut(message = '', isError = false) {
  state.unsubscribe?.();
  state.unsubscribe = null;
  clearTimeout(state.resubscribe);
  state.resubscribe = null;
  state.token = '';
  state.operator = null;
  nameAccount('');
  state.enrolOnly = false;
  challenge = '';
  state.customers = [];
  state.selected = null;
  team.operators = [];
  audit.entries = [];
  audit.customer = null;
  audit.names.clear();
  audit.operatorsLoaded = false;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ACCOUNT_DEVICE_KEY); // signed out: the tab no longer points at an account's device token
  $('nav').hidden = true;
  $('nav').replaceChildren();
  $('team-search').value = '';
  $('operators').replaceChildren();
  $('team-count').textContent = '';
  $('team-more').hidden = true;
  $('audit-entries').replaceChildren();
  $('audit-count').textContent = '';
  $('audit-more').hidden = true;
  $('audit-operator').replaceChildren(h('option', { value: '' }, 'Everyone'));
  for (const form of [$('audit-filters'), $('password-form'), $('setup-form'), $('mfa-form'), $('settings-form')]) form.reset();
  resetTotp();
  $('search').value = '';
  $('results').replaceChildren();
  $('result-count').textContent = '';
  $('suggestions').replaceChildren();
  $('more').hidden = true;
  $('details').hidden = true; // nothing of this session stays on the page for the next one
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  for (const form of document.querySelectorAll('dialog form')) form.reset(); // nor what was typed in a dialog
  $('new-customer').hidden = true;
  $('who').hidden = true;
  announce('');
  $('sign-in-notice').textContent = message;
  $('sign-in-notice').classList.toggle('error', isError);
  $('sign-in-domain').value = localStorage.getItem(DOMAIN_KEY) || new URLSearchParams(location.search).get('domain') || '';
  showSection('sign-in');
  ($('sign-in-domain').value ? $('sign-in-email') : $('sign-in-domain')).focus();
}

handleSignIn($('sign-in-form'), `mutation($input: OperatorLoginInput!) {
  operatorLogin(input: $input) { token deviceToken mfaRequired challenge mustEnrollMfa userErrors { field message code } } }`, async (payload, input) => {
  localStorage.setItem(DOMAIN_KEY, input.domain);
  sessionStorage.setItem(ACCOUNT_DEVICE_KEY, deviceTokenKey(DEVICE_KEY, input.domain, input.email));
  $('sign-in-notice').textContent = '';
  if (payload.mfaRequired) return askCode(payload.challenge);
  keepToken(payload.token);
  await enter({ enrol: payload.mustEnrollMfa });
}, { ACCOUNT_DISABLED: 'This operator account is disabled. Ask an ADMIN of your team.' }, DEVICE_KEY);

// ---- Second step of the sign-in: a code of the authenticator app ----

let challenge = ''; // what operatorLogin gave for the code, kept only in memory
const CODE_ERRORS = {
  INVALID_CODE: 'This code is not right. Type the 6 digits your authenticator app shows now, or one of your recovery codes.',
  CODE_USED: 'This code has just been used: each code works once. Wait for your app to show the next one (at most 30 seconds).',
  INVALID_CHALLENGE: 'Your sign-in has expired. Start it again: your password, then a new code.',
  RATE_LIMITED: 'Too many wrong codes. Wait a minute, then try again with the code your app shows then.',
  WRONG_PASSWORD: 'This is not your password.',
};
const plainCodeErrors = (errors) => errors.map((e) => ({ ...e, message: CODE_ERRORS[e.code] || e.message }));

function askCode(found) {
  challenge = found;
  $('mfa-form').reset();
  clearErrors($('mfa-form'));
  showSection('mfa');
  $('mfa-code').focus();
}

/** Back to the password, with a message (the challenge is gone). */
function restartSignIn(message = '') {
  challenge = '';
  $('mfa-form').reset();
  $('sign-in-notice').textContent = message;
  $('sign-in-notice').classList.toggle('error', Boolean(message));
  showSection('sign-in');
  ($('sign-in-email').value ? $('sign-in-password') : $('sign-in-domain')).focus();
}
$('mfa-restart').addEventListener('click', () => restartSignIn());

$('mfa-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const code = form.code.value.trim();
  if (!code) return showErrors(form, [{ field: ['code'], message: 'Type the code your authenticator app shows now.' }]);
  await busy(form, async () => {
    try {
      // The device token comes with the completed sign-in: send the one kept, keep what comes back.
      const deviceKey = sessionStorage.getItem(ACCOUNT_DEVICE_KEY);
      const known = deviceKey && localStorage.getItem(deviceKey);
      const data = await request(`mutation($input: VerifyOperatorMfaInput!) {
        verifyOperatorMfa(input: $input) { token deviceToken mustEnrollMfa userErrors { field message code } } }`,
      { input: known ? { challenge, code, deviceToken: known } : { challenge, code } });
      const payload = data.verifyOperatorMfa;
      if (payload.userErrors.some((e) => e.code === 'INVALID_CHALLENGE')) return restartSignIn(CODE_ERRORS.INVALID_CHALLENGE);
      if (payload.userErrors.length) return showErrors(form, plainCodeErrors(payload.userErrors));
      challenge = '';
      form.reset();
      if (deviceKey && payload.deviceToken) localStorage.setItem(deviceKey, payload.deviceToken);
      keepToken(payload.token);
      await enter({ enrol: payload.mustEnrollMfa });
    } catch (err) {
      if (errorCode(err) === 'RATE_LIMITED') showErrors(form, plainCodeErrors([{ field: ['code'], code: 'RATE_LIMITED' }]));
      else formError(form, err.message);
    }
  });
});

$('sign-out').addEventListener('click', async () => {
  try { await call('mutation { logout { success } }'); } catch { /* signed out locally either way */ }
  if (location.hash) history.replaceState(null, '', `#${route().section}`); // the next person gets no search or customer
  signOut('You are signed out.');
});

/**
 * Shows the console to the signed-in operator; only the set-up of an authenticator app when the
 * session may do nothing else (enrol, or a domain requiring a second factor the operator lacks).
 */
async function enter({ enrol = false } = {}) {
  const data = await call(`{ viewer { ... on Operator { id name email role permissions totpEnabled domain { name slug requireOperatorMfa } } } }`);
  if (!data.viewer?.permissions) return signOut('This console is for operators.');
  state.operator = data.viewer;
  nameAccount(state.operator.email);
  $('who-name').textContent = `${state.operator.name} · ${state.operator.domain.name}`;
  $('who').hidden = false;
  state.enrolOnly = !state.operator.totpEnabled && (enrol || state.operator.domain.requireOperatorMfa);
  if (state.enrolOnly) return showEnrolment();
  showEnrolment(false);
  $('new-customer').hidden = !can('EDIT_CUSTOMER');
  $('audit-operator-field').hidden = !can('MANAGE_OPERATORS');
  renderNav();
  const address = route(); // a reload, or a link from a colleague: its search and customer
  go(address.section, { replace: true, focus: false });
  if (!$('customers').hidden) $('search').focus();
  watchStatusChanges();
  if (address.section === 'customers') $('search').value = address.q;
  await search();
  if (address.section === 'customers' && address.customer) await select(address.customer);
}

// ---- Sections ----

// What the navigation offers: a section needing a permission the operator lacks is not there at all.
const SECTIONS = [
  { id: 'customers', label: 'Customers' },
  { id: 'team', label: 'Team', permission: 'MANAGE_OPERATORS', open: () => loadOperators() },
  { id: 'audit', label: 'Audit log', permission: 'VIEW_AUDIT_LOG', open: () => openAudit() },
  { id: 'settings', label: 'Settings', permission: 'MANAGE_DOMAIN', open: () => loadSettings() },
  { id: 'security', label: 'Security', open: () => { clearErrors($('password-form')); resetTotp(); } },
];
const allowedSections = () => SECTIONS.filter((s) => !s.permission || can(s.permission));

function renderNav() {
  $('nav').replaceChildren(...allowedSections().map((s) => h('a', {
    href: `#${s.id}`, id: `nav-${s.id}`, onclick: (event) => { event.preventDefault(); go(s.id); },
  }, s.label)));
  $('nav').hidden = false;
}

/**
 * Shows a section (Customers for one the operator may not see); the address's fragment remembers
 * it (for Customers, with the search and the customer shown). The focus goes to the section's
 * heading, unless focus is false.
 */
function go(id, { replace = false, focus = true } = {}) {
  const section = allowedSections().find((s) => s.id === id) || SECTIONS[0];
  if (route().section !== section.id) {
    history[replace ? 'replaceState' : 'pushState'](null, '', section.id === 'customers' ? customersHash() : `#${section.id}`);
  }
  if ($(section.id).hidden) announce(''); // what the status line said was about another section
  if (section.id !== 'security') resetTotp(); // a secret or recovery codes shown once do not stay behind
  showSection(section.id);
  for (const link of $('nav').querySelectorAll('a')) {
    if (link.id === `nav-${section.id}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  section.open?.();
  if (focus) $(`${section.id}-title`).focus();
}

addEventListener('hashchange', () => {
  if (location.hash.startsWith('#setup=')) startSetup();
  else if (state.enrolOnly) history.replaceState(null, '', '#security'); // nothing else until it is set up
  else if (state.operator) {
    const { section } = route();
    const within = section === 'customers' && !$('customers').hidden; // Back or Forward between results and a customer
    go(section, { replace: true, focus: !within });
    if (section === 'customers' && !$('customers').hidden) followAddress();
  }
});

/**
 * The address's fragment: the section, and for Customers the search and the customer shown, as in
 * #customers?q=casey&customer=<id>. Nothing else goes there (no token, nothing secret).
 */
function route() {
  const [section, params = ''] = location.hash.slice(1).split('?');
  const found = new URLSearchParams(params);
  return { section, q: found.get('q') || '', customer: found.get('customer') || '' };
}

function customersHash() {
  const params = new URLSearchParams();
  if ($('search').value) params.set('q', $('search').value);
  if (state.selected) params.set('customer', state.selected.id);
  return `#customers${params.size ? `?${params}` : ''}`;
}

/**
 * Writes the search and the customer shown into the address, in place (typing makes no history
 * entries) or, with push, as a new entry when a customer opens from the results, so that the
 * browser's Back returns to them.
 */
function setAddress({ push = false } = {}) {
  if (!state.operator || $('customers').hidden) return;
  const hash = customersHash();
  if (location.hash === hash) return;
  if (push && state.selected && !route().customer) history.pushState({ opened: true }, '', hash);
  else history.replaceState(history.state, '', hash);
}

/** Shows what the address says after Back, Forward or an edit of it: the search, and the customer or the results. */
function followAddress() {
  const { q, customer } = route();
  if ($('search').value !== q) {
    $('search').value = q;
    clearTimeout(debounceTimer);
    search();
  }
  if (customer && customer !== state.selected?.id) select(customer);
  else if (!customer && state.selected) closeDetails();
}

// ---- Search as you type ----

let debounceTimer;
$('search').addEventListener('input', () => {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(() => search(), DEBOUNCE_MS);
  if (detailsView()) closeDetails({ focus: false }); // a new search on a phone shows its results
  setAddress();
});
// Enter opens the one customer found; Down goes from the search box into the results.
$('search').addEventListener('keydown', async (event) => {
  if (event.key === 'ArrowDown' && $('results').querySelector('.result')) {
    event.preventDefault();
    $('results').querySelector('.result').focus();
  } else if (event.key === 'Enter') {
    event.preventDefault();
    const query = $('search').value;
    if (state.query !== query) { // the answer to what was typed is not shown yet
      clearTimeout(debounceTimer);
      await search();
    }
    if (state.query === query && $('search').value === query && state.total === 1) select(state.customers[0].id);
  }
});
// Up and Down move through the results; Up from the first goes back to the search box.
$('results').addEventListener('keydown', (event) => {
  if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
  const rows = [...$('results').querySelectorAll('.result')];
  const at = rows.indexOf(document.activeElement);
  if (at < 0) return;
  event.preventDefault();
  const next = event.key === 'ArrowUp' ? rows[at - 1] || $('search') : rows[at + 1] || (!$('more').hidden && $('more'));
  if (next) next.focus();
});
$('more').addEventListener('click', () => search({ more: true }));
// Below 52 rem (app.css) the details are a view of their own, in place of the results.
const narrow = matchMedia('(width < 52rem)');
const detailsView = () => narrow.matches && !$('details').hidden;
// Infinite scroll: the "Load more" button loads the next page when it scrolls into view, but not
// behind a customer's details on a phone.
new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && !$('more').hidden && !$('more').disabled && !detailsView()) search({ more: true });
}).observe($('more'));

/** Searches for a suggestion of a search that found nothing, as if it had been typed; the keyboard stays in the search box. */
function searchInstead(suggestion) {
  $('search').value = suggestion;
  $('search').focus();
  clearTimeout(debounceTimer);
  setAddress();
  search();
}

let inFlight;
async function search({ more = false } = {}) {
  const id = ++state.latestRequest;
  const query = $('search').value;
  inFlight?.abort();
  inFlight = new AbortController();
  const spinnerTimer = setTimeout(() => { if (id === state.latestRequest) $('spinner').hidden = false; }, SPINNER_AFTER_MS);
  $('more').disabled = true;
  try {
    // Suggestions come with a new search only: the server looks for them when it finds nothing.
    const data = await call(`query($query: String, $first: Int, $after: String) {
      customers(query: $query, first: $first, after: $after) {
        totalCount edges { node { ${CUSTOMER_FIELDS} } ${MATCH_FIELDS} } pageInfo { hasNextPage endCursor }${more ? '' : ' suggestions'} } }`,
    { query, first: PAGE_SIZE, after: more ? state.endCursor : null }, { signal: inFlight.signal });
    if (id !== state.latestRequest) return; // a newer request is on its way
    const page = data.customers;
    const found = page.edges.map((e) => ({ ...e.node, matchedFields: e.matchedFields, highlights: e.highlights }));
    state.customers = more ? state.customers.concat(found) : found;
    state.endCursor = page.pageInfo.endCursor;
    state.query = query;
    state.total = page.totalCount;
    renderResults(page.totalCount, page.pageInfo.hasNextPage, more ? null : page.suggestions);
  } catch (err) {
    if (err.name === 'AbortError' || id !== state.latestRequest) return;
    $('result-count').textContent = err.message;
    $('suggestions').replaceChildren();
  } finally {
    clearTimeout(spinnerTimer);
    if (id === state.latestRequest) {
      $('spinner').hidden = true;
      $('more').disabled = false;
    }
  }
}

/** Shows how many customers the search matched. */
function showCount(total) {
  $('result-count').textContent = total === 0 ? 'No customers match.' : `${total} customer${total === 1 ? '' : 's'}`;
}

/** Shows a search's count and list; suggestions (null: keep those shown) are offered when nothing matched. */
function renderResults(total, hasNext, suggestions) {
  showCount(total);
  if (suggestions) {
    const offered = total === 0 ? suggestions : [];
    $('suggestions').replaceChildren(...(offered.length ? ['Did you mean: ', ...offered.map((s) => h('button', {
      type: 'button', class: 'secondary', onclick: () => searchInstead(s),
    }, s))] : []));
  }
  $('more').hidden = !hasNext;
  renderList();
}

function renderList() {
  $('results').replaceChildren(...state.customers.map((c) => h('li', {}, resultRow(c))));
}

/**
 * A customer's row in the results: name, email and phone with what the search matched marked, a
 * line saying which device or id matched when that was it, and the status. The whole name stays one
 * text in .name (what screen readers read, and what finds a customer's row by its name); when parts
 * of it are marked, a marked copy, hidden from screen readers, is what shows.
 */
function resultRow(c) {
  const highlights = c.highlights || [];
  const of = (field) => highlights.find((m) => m.field === field);
  const name = fullName(c);
  const contact = [c.email && marked(c.email, of('EMAIL')), c.phone && marked(c.phone, of('PHONE'))].filter(Boolean);
  const other = of((c.matchedFields || []).find((field) => MATCHED[field]));
  return h('button', {
    type: 'button', class: 'result', 'data-id': c.id, 'aria-current': String(c.id === state.selected?.id),
    onclick: () => select(c.id),
  },
  of('NAME')?.value === name
    ? [h('span', { class: 'visually-hidden' }, h('span', { class: 'name' }, name)),
      h('span', { class: 'name-shown', 'aria-hidden': 'true' }, marked(name, of('NAME')))]
    : h('span', { class: 'name' }, name),
  h('span', { class: 'contact' }, contact.flatMap((part, i) => (i ? [' · ', ...part] : part))),
  other && h('span', { class: 'matched' }, `${MATCHED[other.field]} `, marked(other.value, other)),
  h('span', { class: `badge ${c.status.toLowerCase()}` }, statusLabel(c.status)));
}

/**
 * The text and element nodes of text with its highlight's ranges (UTF-16 offsets, the way
 * JavaScript indexes strings) in <mark>; text alone when the highlight is of another value (the
 * customer changed since the search) or there is none.
 */
function marked(text, highlight) {
  if (highlight?.value !== text) return [text];
  const parts = [];
  let at = 0;
  for (const { start, length } of highlight.ranges) {
    if (start < at || length <= 0 || start + length > text.length) continue; // out of order or bounds: left plain
    parts.push(text.slice(at, start), h('mark', {}, text.slice(start, start + length)));
    at = start + length;
  }
  parts.push(text.slice(at));
  return parts.filter((p) => p !== '');
}

// ---- Details and actions ----

const DETAILS = `query($id: ID!, $assist: Boolean!) {
  customer(id: $id) { ${CUSTOMER_FIELDS} createdAt disabling { at by reason operator { name } } devices { id name model serialNumber macAddress online }
    activity(first: 8) { edges { node { action by outcome at } } } }
  assistSessions(customerId: $id, state: ACTIVE, first: 5) @include(if: $assist) {
    edges { node { id mode startedAt expiresAt operator { id name } } } } }`;

/** Shows a customer's details; focus moves there unless the refresh is a side effect. */
async function select(id, { focus = true } = {}) {
  try {
    const data = await call(DETAILS, { id, assist: Boolean(can('REMOTE_ASSIST')) });
    if (!data.customer) { // a link to a customer since deleted (or another company's) opens nothing
      closeDetails({ focus: false }); // not the customer shown before either
      setAddress();
      return announce('That customer no longer exists (deleted, or not of your company). Search for the customer again.');
    }
    state.selected = {
      ...data.customer,
      activity: data.customer.activity.edges.map((e) => e.node),
      assists: (data.assistSessions?.edges || []).map((e) => e.node),
    };
    renderDetails();
    renderList();
    setAddress({ push: focus });
    if (focus) {
      if (narrow.matches) scrollTo(0, 0); // the details' own view, from its top
      $('details').focus({ preventScroll: narrow.matches });
    }
  } catch (err) {
    announce(err.message);
  }
}

/** Closes the details; the keyboard goes back to the customer's row (else the search box), unless focus is false. */
function closeDetails({ focus = true } = {}) {
  const id = state.selected?.id;
  state.selected = null;
  $('details').hidden = true;
  $('details').replaceChildren();
  renderList();
  if (!focus) return;
  const row = id && $('results').querySelector(`.result[data-id="${CSS.escape(id)}"]`);
  (row || $('search')).focus();
}

// Back to results (on a phone): the browser's Back when opening the customer made a history entry.
$('back-to-results').addEventListener('click', () => {
  if (history.state?.opened) return history.back(); // then followAddress closes the details
  closeDetails();
  setAddress();
});

const BY = { CUSTOMER: ' by the customer', SUPPORT: ' by support', ADMIN: ' by an administrator', SYSTEM: ' automatically', UNKNOWN: '' };
// What a failed attempt was, where the operator may tell the caller why (the shared labels say only that it failed).
const FAILED = { authn_login_fail: 'Failed sign-in attempt (wrong password)', authn_password_change: 'Password change refused (wrong current password)' };

/** One line of Recent activity: when, what (a failure said once), by whom. */
function activityLine(a) {
  const what = (a.outcome === 'failure' && FAILED[a.action]) || activityLabel(a.action, a.outcome);
  return `${formatTime(a.at)}: ${what}${BY[a.by] ?? ''}`;
}

let expiryTimer;
let refreshTimer;
/** Reads the selected customer's details again, soon: several events in a row make one read. */
function refreshDetails() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { if (state.selected) select(state.selected.id, { focus: false }); }, 100);
}

/** Who disabled the account, when and why (the reason for those who may read the audit log). */
function disablingText(d) {
  if (!d) return 'No record says who disabled it.';
  const who = d.operator ? `${d.operator.name} (${d.by === 'ADMIN' ? 'administrator' : 'support'})` : 'the service (an import)';
  const why = d.reason ? `Reason: ${d.reason}` : can('VIEW_AUDIT_LOG') ? 'No reason was given.' : 'The reason is in the audit log, which administrators read.';
  return `By ${who}, ${formatTime(d.at)}. ${why}`;
}

function renderDetails() {
  const c = state.selected;
  const disabled = c.status === 'DISABLED';
  const mayEnd = (a) => a.operator.id === state.operator.id || can('END_ANY_ASSIST');
  // An assistance past its expiresAt is over, whether or not the server has recorded it yet; a
  // timer draws the details again when the next one runs out.
  const now = Date.now();
  const assists = c.assists.filter((a) => Date.parse(a.expiresAt) > now);
  clearTimeout(expiryTimer);
  if (assists.length) {
    const next = Math.min(...assists.map((a) => Date.parse(a.expiresAt)));
    expiryTimer = setTimeout(() => { if (state.selected?.id === c.id) refreshDetails(); }, Math.min(next - now + 50, 2 ** 31 - 1));
  }
  const focused = $('details').contains(document.activeElement) ? document.activeElement.id : '';
  $('details').hidden = false;
  $('details').replaceChildren(...[
    h('div', { class: 'details-head' },
      h('h3', { id: 'details-name' }, fullName(c)),
      can('EDIT_CUSTOMER') && h('button', { type: 'button', class: 'secondary', id: 'edit-action', 'aria-describedby': 'details-name', onclick: openEdit }, 'Edit')),
    h('dl', {},
      h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge ${c.status.toLowerCase()}`, id: 'details-status' }, statusLabel(c.status))),
      h('dt', {}, 'Email'), h('dd', {}, c.email),
      h('dt', {}, 'Phone'), h('dd', {}, c.phone || '—'),
      h('dt', {}, 'Customer since'), h('dd', {}, formatTime(c.createdAt)),
      disabled && [h('dt', {}, 'Disabled'), h('dd', { id: 'details-disabling' }, disablingText(c.disabling))]),
    h('h3', {}, 'Devices'),
    c.devices.length
      ? h('ul', { class: 'plain', id: 'details-devices' }, c.devices.map((d) => h('li', {},
        `${d.name} · ${d.model} · ${d.online ? 'online' : 'offline'}`, deviceIDs(d))))
      : h('p', { class: 'hint' }, 'No devices.'),
    h('div', { class: 'actions' },
      can('RESET_PASSWORD') && h('button', { type: 'button', id: 'reset-action', onclick: openReset }, 'Reset Password'),
      can('SET_ACCOUNT_STATUS') && h('button', { type: 'button', class: disabled ? '' : 'danger', id: 'status-action', onclick: openStatus },
        disabled ? 'Enable Account' : 'Disable Account'),
      can('REMOTE_ASSIST') && h('button', {
        type: 'button', class: 'secondary', id: 'assist-action', onclick: openAssist, disabled, 'aria-describedby': disabled && 'assist-unavailable',
      }, 'Remote Assistance'),
      can('DELETE_CUSTOMER') && h('button', { type: 'button', class: 'danger', id: 'delete-action', onclick: openDelete }, 'Delete customer')),
    can('REMOTE_ASSIST') && disabled && h('p', { class: 'hint', id: 'assist-unavailable' },
      'Remote assistance is unavailable while the account is disabled. ',
      can('SET_ACCOUNT_STATUS') ? 'Enable the account first to assist the customer.' : 'An administrator can enable the account.'),
    assists.length > 0 && h('section', { id: 'assists', 'aria-labelledby': 'assists-title' },
      h('h3', { id: 'assists-title', class: 'spaced' }, 'Remote assistance running'),
      h('ul', { class: 'plain' }, assists.map((a) => h('li', {},
        `${a.operator.name} (${a.mode === 'VIEW' ? 'view only' : 'control'}), since ${formatTime(a.startedAt)}, until ${formatTime(a.expiresAt)} `,
        a.operator.id === state.operator.id && h('button', { type: 'button', class: 'secondary', onclick: () => openOwnAssist(a) }, 'Open dashboard'),
        mayEnd(a) && h('button', { type: 'button', class: 'secondary', onclick: () => endAssist(a) }, 'End assistance'))))),
    h('h3', { class: 'spaced' }, 'Recent activity'),
    c.activity.length
      ? h('ul', { class: 'plain', id: 'details-activity' }, c.activity.map((a) => h('li', {}, activityLine(a))))
      : h('p', { class: 'hint' }, 'Nothing yet.'),
    can('VIEW_AUDIT_LOG') && h('p', { class: 'spaced' }, h('a', {
      href: '#audit', id: 'details-audit', 'aria-describedby': 'details-name',
      onclick: (event) => { event.preventDefault(); auditOf(c); },
    }, 'Audit log')),
  ].filter(Boolean));
  if (focused) $(focused)?.focus(); // a refresh keeps the keyboard where it was
}

/**
 * Opens the dashboard of the operator's own running assistance a (one the customer agreed to after
 * the waiting dialog was closed): a new ticket (issueAssistTicket); ALREADY_OPENED says its tab is open.
 */
async function openOwnAssist(a) {
  const tab = window.open('', '_blank');
  try {
    const data = await call(`mutation($id: ID!) { issueAssistTicket(input: {assistSessionId: $id}) { dashboardUrl userErrors { message } } }`, { id: a.id });
    const payload = data.issueAssistTicket;
    if (!payload.dashboardUrl) throw new Error(payload.userErrors[0]?.message || 'The dashboard could not be opened.');
    tab.opener = null;
    tab.location.href = new URL(payload.dashboardUrl, location.href).href;
    announce(`Remote assistance for ${fullName(state.selected)} opened in a new tab.`);
  } catch (err) {
    tab?.close();
    announce(err.message);
  }
}

async function endAssist(assistance) {
  try {
    const data = await call(`mutation($id: ID!) { endAssist(input: {assistSessionId: $id}) { userErrors { message } } }`, { id: assistance.id });
    const errors = data.endAssist.userErrors;
    const whose = assistance.operator.id === state.operator.id ? 'your' : `${assistance.operator.name}'s`;
    announce(errors.length ? errors[0].message : `You ended ${whose} remote assistance of ${fullName(state.selected)}: the assisted tab is signed out.`);
  } catch (err) {
    announce(err.message);
  }
  await select(state.selected.id, { focus: false });
}

// Dialogs: native <dialog> gives the focus trap, Escape to close and focus back to the opener.
// The details are drawn anew when they change, so the button that opened a dialog may be gone
// when it closes: the focus then goes to the button with its id, else to the details or the search.
let opener = '';
function openDialog(id) {
  announce(''); // the next action: the last message was about something done before
  const dialog = $(id);
  const form = dialog.querySelector('form');
  form.reset();
  clearErrors(form);
  if (state.selected) for (const el of dialog.querySelectorAll('[data-customer-name]')) el.textContent = fullName(state.selected);
  opener = document.activeElement?.id || '';
  dialog.showModal();
  return form;
}
for (const dialog of document.querySelectorAll('dialog')) {
  dialog.addEventListener('close', () => {
    if (document.activeElement && document.activeElement !== document.body) return;
    const target = (opener && $(opener)) || (!$('details').hidden && $('details')) || $('search');
    if (target.offsetParent !== null) target.focus();
  });
}
for (const button of document.querySelectorAll('dialog [data-close]')) {
  button.addEventListener('click', () => button.closest('dialog').close());
}

// The API's password errors as the operator reads them: about the customer's email and name (the
// operator is not the customer), each saying what to do.
const PASSWORD_ERRORS = {
  MATCHES_ACCOUNT: "The password must not be the customer's email address or name: choose another.",
  COMMON_PASSWORD: 'This password is one of the most common ones: choose another.',
  SAME_PASSWORD: "This is the customer's current password: choose another.",
  MISMATCH: 'The two passwords differ: type the same password in both fields.',
};
function customerPasswordErrors(form, errors, also = '') {
  return errors.map((e) => {
    const input = e.field && form.elements.namedItem(e.field.join('.'));
    if (e.code === 'TOO_SHORT' && input && !input.value) return { ...e, message: `A password is required: type the one the customer will sign in with${also}.` };
    if (!PASSWORD_ERRORS[e.code]) return e;
    return { ...e, message: PASSWORD_ERRORS[e.code].replace(/\.$/, `${e.code === 'MISMATCH' ? '' : also}.`) };
  });
}

function openReset() {
  openDialog('reset-dialog');
  showResetForm();
  $('reset-new').dispatchEvent(new Event('input')); // a password left typed is rated for this customer
}

// Strength meters: the server's password policy, for the customer at hand, as the operator types (strength.js).
watchPassword($('reset-new'), () => ({ for: 'CUSTOMER', customerId: state.selected?.id }), () => state.token);
watchPassword($('create-password'), () => {
  const form = $('create-form');
  return { for: 'CUSTOMER', firstName: form.firstName.value, lastName: form.lastName.value, email: form.email.value };
}, () => state.token, ['firstName', 'lastName', 'email'].map((name) => $('create-form')[name]));

/** The reset dialog's form (or, with done, what to tell the caller), the password hidden again. */
function showResetForm(done = false) {
  $('reset-form').hidden = done;
  $('reset-done').hidden = !done;
  $('reset-dialog').setAttribute('aria-labelledby', done ? 'reset-done-title' : 'reset-title');
  $('reset-new').type = 'password';
  $('reset-copy').hidden = true;
  $('reset-copied').textContent = '';
  $('reset-done-copied').textContent = '';
  if (!done) $('reset-done-password').textContent = '';
}

$('reset-generate').addEventListener('click', async () => {
  const form = $('reset-form');
  clearErrors(form);
  $('reset-copied').textContent = '';
  await busy(form, async () => {
    try {
      const data = await call('{ temporaryPassword }');
      form.newPassword.value = data.temporaryPassword;
      form.confirmPassword.value = data.temporaryPassword;
      form.newPassword.type = 'text'; // shown, to be read out
      form.newPassword.dispatchEvent(new Event('input')); // rated like a typed one
      form.requireChangeOnNextLogin.checked = true;
      $('reset-copy').hidden = false;
      requestAnimationFrame(() => { form.newPassword.scrollLeft = 0; }); // a narrow field shows the phrase's start, read first
    } catch (err) {
      formError(form, err.message);
    }
  });
  $('reset-new').focus();
});

$('reset-copy').addEventListener('click', async () => {
  const copied = await copyText($('reset-new').value, $('reset-new'));
  $('reset-copied').textContent = copied ? 'Copied.' : 'Select the password and copy it with Ctrl+C.';
});

$('reset-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const customer = state.selected;
  const password = form.newPassword.value;
  const temporary = form.requireChangeOnNextLogin.checked;
  if (!password) {
    return showErrors(form, [{ field: ['newPassword'], message: 'A new password is required: type one, or press Generate for one that is easy to read out.' }]);
  }
  if (!form.confirmPassword.value) {
    return showErrors(form, [{ field: ['confirmPassword'], message: 'Type the new password again here to confirm it.' }]);
  }
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: ResetPasswordInput!) {
        resetPassword(input: $input) { customer { id email } userErrors { field message code } } }`, {
        input: { customerId: customer.id, newPassword: password, confirmPassword: form.confirmPassword.value, requireChangeOnNextLogin: temporary },
      });
      const payload = data.resetPassword;
      if (payload.userErrors.length) return showErrors(form, customerPasswordErrors(form, payload.userErrors, ', or press Generate'));
      form.reset(); // the password stays only in what to tell the caller, until the dialog closes
      showResetDone(customer, payload.customer.email, password, temporary);
      announce(`${fullName(customer)} has a new password; their sessions have ended.`);
      refreshDetails(); // Recent activity shows the reset
    } catch (err) {
      formError(form, err.message);
    }
  });
});

/** The end of a reset: where the customer signs in, with what. */
function showResetDone(customer, email, password, temporary) {
  const company = state.operator.domain.slug;
  $('reset-done-url').textContent = `${location.origin}/dashboard?company=${encodeURIComponent(company)}`;
  $('reset-done-company').textContent = company;
  $('reset-done-email').textContent = email;
  $('reset-done-password').textContent = password;
  $('reset-done-password-label').textContent = temporary ? 'Temporary password' : 'Password';
  $('reset-done-intro').textContent = temporary
    ? `Read this out to ${fullName(customer)}. With this temporary password they sign in, then choose a new password of their own at once.`
    : `Read this out to ${fullName(customer)}: they sign in with this password from now on.`;
  showResetForm(true);
  $('reset-done-title').focus();
}

$('reset-done-copy').addEventListener('click', async () => {
  const copied = await copyText($('reset-done-password').textContent, $('reset-done-password'));
  $('reset-done-copied').textContent = copied ? 'Password copied.' : 'Select the password and copy it with Ctrl+C.';
});
$('reset-done-copy-all').addEventListener('click', async () => {
  const lines = [...$('reset-done').querySelectorAll('dt')].map((dt) => `${dt.textContent}: ${dt.nextElementSibling.firstChild.textContent}`);
  const copied = await copyText(lines.join('\n'), $('reset-done').querySelector('dl'));
  $('reset-done-copied').textContent = copied ? 'Copied: where to sign in, company code, email and password.' : 'Select the lines and copy them with Ctrl+C.';
});
$('reset-dialog').addEventListener('close', () => showResetForm()); // the password leaves the page

function openStatus() {
  const disabling = state.selected.status === 'ACTIVE';
  const form = openDialog('status-dialog');
  const name = fullName(state.selected);
  $('status-title').textContent = disabling ? `Disable ${name}'s account?` : `Enable ${name}'s account?`;
  $('status-explanation').textContent = disabling
    ? 'The customer is signed out everywhere at once and cannot sign in until the account is enabled again.'
    : 'The customer can sign in again with their password.';
  $('status-reason-label').textContent = disabling ? 'Reason (kept in the audit log)' : 'Reason (optional)';
  form.reason.required = disabling;
  $('status-confirm').textContent = disabling ? 'Disable Account' : 'Enable Account';
  $('status-confirm').className = disabling ? 'danger' : '';
}

$('status-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const customer = state.selected;
  const status = customer.status === 'ACTIVE' ? 'DISABLED' : 'ACTIVE';
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: SetAccountStatusInput!) {
        setAccountStatus(input: $input) { customer { ${CUSTOMER_FIELDS} } userErrors { field message code } } }`, {
        input: { customerId: customer.id, status, reason: form.reason.value.trim() || null },
      });
      const payload = data.setAccountStatus;
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      form.closest('dialog').close();
      updateCustomer(payload.customer);
      select(customer.id, { focus: false }); // its activity, and assistance the change ended
      announce(payload.customer.status === 'DISABLED'
        ? `${fullName(customer)}'s account is disabled: they are signed out everywhere and cannot sign in until it is enabled.`
        : `${fullName(customer)}'s account is enabled: they can sign in again with their password.`);
    } catch (err) {
      formError(form, err.message);
    }
  });
});

function openAssist() {
  const form = openDialog('assist-dialog');
  assistWaiting(null);
  form.reason.focus();
}

// ---- Remote assistance: the mode, the customer's answer awaited live, the tab opened ----

const ASSIST_STATE_FIELDS = 'id state mode expiresAt request { state expiresAt }';
let assistWatch = null; // the assistance whose answer the dialog awaits: { id, stop }

/** Shows the dialog's form (a = null) or the wait for the customer's answer to assistance a. */
function assistWaiting(a, text = '') {
  const waiting = Boolean(a);
  if (!waiting) { assistWatch?.stop(); assistWatch = null; }
  for (const id of ['assist-mode', 'assist-reason-field', 'assist-submit']) $(id).hidden = waiting;
  $('assist-waiting').hidden = !waiting;
  $('assist-waiting').textContent = text;
  $('assist-withdraw').hidden = !(a && a.state === 'PENDING');
  $('assist-open').hidden = !(a && a.state === 'ACTIVE');
  $('assist-link').hidden = true;
}

/** What the console says of assistance a, waited for, as it now stands. */
function assistAnswer(a, who) {
  switch (a.state) {
    case 'PENDING': return `Waiting for ${who} to answer in their app or dashboard (until ${formatTime(a.request?.expiresAt || a.expiresAt)})…`;
    case 'ACTIVE': return `${who} agreed. Open the dashboard now.`;
    case 'DECLINED': return `${who} declined the assistance.`;
    case 'EXPIRED': return `${who} did not answer within 5 minutes: the request expired. You can ask again.`;
    default: return 'The request was withdrawn.';
  }
}

/** Follows assistance a's answer live (assistSessionChanged) in the dialog until it is answered. */
function awaitAnswer(a) {
  const who = fullName(state.selected);
  const show = (now) => {
    if (assistWatch?.id !== now.id) return;
    assistWatch.state = now.state;
    assistWaiting(now, assistAnswer(now, who));
    announce(assistAnswer(now, who));
    if (now.state === 'ACTIVE') $('assist-open').focus();
    if (now.state !== 'PENDING') { assistWatch.stop(); select(state.selected.id, { focus: false }); }
  };
  const read = () => call(`query($id: ID!) { node(id: $id) { ... on AssistSession { ${ASSIST_STATE_FIELDS} } } }`, { id: a.id })
    .then((data) => data.node && show(data.node)).catch(() => {});
  const stop = subscribe(`subscription($id: ID!) { assistSessionChanged(assistSessionId: $id) { ${ASSIST_STATE_FIELDS} } }`, { id: a.id }, {
    token: state.token,
    onData: (data) => show(data.assistSessionChanged),
    onReconnect: read,
  });
  assistWatch = { id: a.id, stop, state: a.state };
  assistWaiting(a, assistAnswer(a, who));
}

/** Opens the dashboard of assistance id, ticket in hand, in tab (opened on the click). */
async function openAssistTab(form, tab, url) {
  if (!tab) {
    const link = $('assist-link');
    link.querySelector('a').href = url;
    link.hidden = false;
    return;
  }
  tab.opener = null;
  tab.location.href = url;
  form.closest('dialog').close();
  announce(`Remote assistance for ${fullName(state.selected)} opened in a new tab.`);
  await select(state.selected.id, { focus: false });
}

$('assist-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!form.reason.value.trim()) {
    return showErrors(form, [{ field: ['reason'], message: 'Give a reason: the customer will see it.' }]);
  }
  // Opened now, while the click still counts as the user's, so no popup blocker stops it.
  const tab = window.open('', '_blank');
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: StartAssistInput!) {
        startAssist(input: $input) { dashboardUrl assistSession { ${ASSIST_STATE_FIELDS} } userErrors { field message code } } }`,
      { input: { customerId: state.selected.id, reason: form.reason.value.trim(), mode: form.mode.value } });
      const payload = data.startAssist;
      if (payload.userErrors.length) {
        tab?.close();
        const offline = payload.userErrors.find((e) => e.code === 'CUSTOMER_OFFLINE');
        return offline ? formError(form, offline.message) : showErrors(form, payload.userErrors);
      }
      if (!payload.dashboardUrl) { // the customer is asked first
        tab?.close();
        return awaitAnswer(payload.assistSession);
      }
      await openAssistTab(form, tab, new URL(payload.dashboardUrl, location.href).href);
    } catch (err) {
      tab?.close();
      formError(form, err.message);
    }
  });
});
$('assist-open').addEventListener('click', async () => {
  const form = $('assist-form');
  const tab = window.open('', '_blank');
  try {
    const data = await call(`mutation($id: ID!) { issueAssistTicket(input: {assistSessionId: $id}) { dashboardUrl userErrors { message } } }`,
      { id: assistWatch?.id });
    const payload = data.issueAssistTicket;
    if (!payload.dashboardUrl) throw new Error(payload.userErrors[0]?.message || 'The dashboard could not be opened.');
    await openAssistTab(form, tab, new URL(payload.dashboardUrl, location.href).href);
  } catch (err) {
    tab?.close();
    formError(form, err.message);
  }
});
// Withdraw, Cancel and Escape all close the dialog; closing it while the request is PENDING
// withdraws it (endAssist), so no answer can come in that the operator no longer sees.
$('assist-withdraw').addEventListener('click', () => $('assist-dialog').close());
$('assist-dialog').addEventListener('close', async () => {
  const watched = assistWatch;
  watched?.stop();
  assistWatch = null;
  if (watched?.state !== 'PENDING') return;
  const who = state.selected ? fullName(state.selected) : 'the customer';
  try {
    await call(`mutation($id: ID!) { endAssist(input: {assistSessionId: $id}) { assistSession { state } } }`, { id: watched.id });
    announce(`You withdrew the request to assist ${who}.`);
  } catch (err) {
    announce(`The request could not be withdrawn: ${err.message}`);
  }
  if (state.selected) await select(state.selected.id, { focus: false });
});
$('assist-link').querySelector('a').addEventListener('click', () => $('assist-dialog').close());

// ---- Delete a customer (erasure) ----

const sameEmail = (a, b) => a.trim().toLowerCase() === b.trim().toLowerCase();

function openDelete() {
  openDialog('delete-dialog');
  $('delete-expected').textContent = state.selected.email;
  $('delete-confirm').disabled = true;
}

// The confirm button works only once the customer's email is typed (case and spaces aside).
$('delete-email').addEventListener('input', () => {
  $('delete-confirm').disabled = !state.selected || !sameEmail($('delete-email').value, state.selected.email);
});

$('delete-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const customer = state.selected;
  if (!customer || !sameEmail(form.email.value, customer.email)) {
    return showErrors(form, [{ field: ['email'], message: "Type the customer's email exactly." }]);
  }
  if (!form.reason.value.trim()) {
    return showErrors(form, [{ field: ['reason'], message: 'Give a reason: it is kept in the audit log.' }]);
  }
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: DeleteCustomerInput!) {
        deleteCustomer(input: $input) { deletedCustomerId userErrors { field message code } } }`,
      { input: { customerId: customer.id, reason: form.reason.value.trim() } });
      const payload = data.deleteCustomer;
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      form.reset();
      dropCustomer(customer.id);
      renderList();
      if (state.selected?.id === customer.id) state.selected = null;
      $('details').hidden = true;
      $('details').replaceChildren();
      setAddress();
      opener = 'search';
      form.closest('dialog').close();
      announce(`${fullName(customer)} was deleted, with their devices and personal data.`);
    } catch (err) {
      formError(form, err.message);
    }
  });
  $('delete-confirm').disabled = !state.selected || !sameEmail(form.email.value, state.selected.email);
});

// ---- New customer ----

$('new-customer').addEventListener('click', () => openDialog('create-dialog'));

$('create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const input = {
    ...Object.fromEntries(PROFILE.map((k) => [k, form[k].value])),
    password: form.password.value, confirmPassword: form.confirmPassword.value,
    requireChangeOnNextLogin: form.requireChangeOnNextLogin.checked,
  };
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: CreateCustomerInput!) {
        createCustomer(input: $input) { customer { ${CUSTOMER_FIELDS} } userErrors { field message code } } }`, { input });
      const payload = data.createCustomer;
      if (payload.userErrors.length) return showErrors(form, customerPasswordErrors(form, payload.userErrors));
      form.reset(); // the password leaves the page
      form.closest('dialog').close();
      const created = payload.customer;
      announce(`${fullName(created)}'s account is created${input.requireChangeOnNextLogin ? '; they choose a new password at the first sign-in' : ''}.`);
      // The list shows the new customer, selected, with its details.
      $('search').value = created.email;
      clearTimeout(debounceTimer);
      await search();
      await select(created.id);
    } catch (err) {
      formError(form, err.message);
    }
  });
});

// ---- Edit a customer's profile ----

const profileOf = (c) => Object.fromEntries(PROFILE.map((k) => [k, c[k]]));

function openEdit() {
  const c = state.selected;
  const form = openDialog('edit-dialog');
  clearNotes(form);
  state.editing = { id: c.id, version: c.version, ...profileOf(c) };
  for (const k of PROFILE) form[k].value = c[k];
}

function clearNotes(form) {
  for (const el of form.querySelectorAll('.field-note')) el.remove();
  for (const el of form.querySelectorAll('[data-note]')) {
    el.removeAttribute('data-note');
    el.removeAttribute('aria-describedby');
  }
}

/** Shows, under a field, a note about it (what someone else set meanwhile). */
function note(input, text) {
  const id = `${input.id}-note`;
  input.setAttribute('data-note', '');
  input.setAttribute('aria-describedby', id);
  input.closest('.field').append(h('p', { class: 'field-note', id }, text));
}

$('edit-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  clearNotes(form);
  const base = state.editing;
  const changes = Object.fromEntries(PROFILE.filter((k) => form[k].value !== base[k]).map((k) => [k, form[k].value]));
  if (Object.keys(changes).length === 0) {
    form.closest('dialog').close();
    announce('Nothing was changed.');
    return;
  }
  let focus = null;
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: UpdateCustomerInput!) {
        updateCustomer(input: $input) { changed customer { ${CUSTOMER_FIELDS} } userErrors { field message code } } }`,
      { input: { customerId: base.id, version: base.version, ...changes } });
      const payload = data.updateCustomer;
      if (payload.userErrors.some((e) => e.code === 'CONFLICT')) {
        focus = await afterConflict(form, base);
        return;
      }
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      form.closest('dialog').close();
      state.editing = null;
      announce(payload.changed ? `${fullName(payload.customer)}'s details are saved.` : 'Nothing was changed.');
      updateProfile(payload.customer);
    } catch (err) {
      formError(form, err.message);
    }
  });
  focus?.focus();
});

/**
 * Someone changed the customer after the dialog was filled: the details are
 * read again, and the dialog keeps every value the operator typed. A field
 * the operator left alone takes the new value; one both changed keeps the
 * operator's, with a note saying what the other person set. Saving again
 * then decides on the customer as it is now. Returns the field to focus.
 */
async function afterConflict(form, base) {
  await select(base.id, { focus: false });
  const now = state.selected?.id === base.id ? state.selected : null;
  if (!now || now.version === base.version) {
    formError(form, 'Someone else changed this customer while you were editing, and it could not be read again. Cancel, then open Edit again.');
    return null;
  }
  let first = null;
  for (const k of PROFILE) {
    if (now[k] === base[k]) continue; // the other person left it alone
    if (form[k].value === base[k]) form[k].value = now[k]; // so did the operator: theirs it is
    else if (form[k].value !== now[k]) {
      note(form[k], `Changed meanwhile to “${now[k] || 'no phone'}”. Saving keeps what you typed.`);
      first ??= form[k];
    }
  }
  state.editing = { id: now.id, version: now.version, ...profileOf(now) };
  for (const el of form.querySelectorAll('[data-customer-name]')) el.textContent = fullName(now);
  formError(form, 'Someone else changed this customer while you were editing. The details show their change now; what you typed is still here: check it, then save again.');
  return first || PROFILE.map((k) => form[k]).find((el) => el.value !== now[k]) || form.firstName;
}

// ---- Live status changes ----

function updateCustomer(changed) {
  state.customers = state.customers.map((c) => (c.id === changed.id ? { ...c, ...changed } : c));
  for (const badge of document.querySelectorAll(`.result[data-id="${CSS.escape(changed.id)}"] .badge`)) {
    badge.className = `badge ${changed.status.toLowerCase()}`;
    badge.textContent = statusLabel(changed.status);
  }
  if (state.selected?.id === changed.id) {
    state.selected = { ...state.selected, ...changed };
    renderDetails();
  }
}

/** A corrected name, email or phone: the list shows it, the details are read again (activity too). */
function updateProfile(changed) {
  state.customers = state.customers.map((c) => (c.id === changed.id ? { ...c, ...changed } : c));
  if (state.customers.some((c) => c.id === changed.id)) renderList();
  if (state.selected?.id === changed.id) select(changed.id, { focus: false });
}

function watchStatusChanges() {
  state.unsubscribe?.();
  const live = (query, onData) => subscribe(query, {}, {
    token: state.token,
    onData,
    onReconnect: () => { search(); if (state.selected) select(state.selected.id); },
    onEnd: socketEnded,
  });
  const others = (change) => change.changedBy && change.changedBy.id !== state.operator?.id;
  const statuses = live(`subscription { customerStatusChanged {
      customer { ${CUSTOMER_FIELDS} } status changedBy { id name } } }`, (data) => {
    const change = data.customerStatusChanged;
    updateCustomer(change.customer);
    if (state.selected?.id === change.customer.id) refreshDetails(); // who disabled it, its activity
    if (others(change)) announce(`${fullName(change.customer)}'s account was ${change.status === 'DISABLED' ? 'disabled' : 'enabled'} by ${change.changedBy.name}.`);
  });
  const profiles = live(`subscription { customerProfileChanged {
      customer { ${CUSTOMER_FIELDS} } changedBy { id name } } }`, (data) => {
    const change = data.customerProfileChanged;
    updateProfile(change.customer);
    if (others(change)) announce(`${fullName(change.customer)}'s details were corrected by ${change.changedBy.name}.`);
  });
  // Assistance started or ended, devices changed, passwords reset: the details are read again.
  const details = live(`subscription { customerDetailsChanged { type customer { id } } }`, (data) => {
    if (state.selected?.id === data.customerDetailsChanged.customer.id) refreshDetails();
  });
  const deletions = live(`subscription { customerDeleted { customerId byCustomer } }`, (data) => customerDeleted(data.customerDeleted));
  state.unsubscribe = () => { statuses(); profiles(); details(); deletions(); };
}

/**
 * Takes an erased customer out of the results, and out of their count when it was listed (whichever
 * comes first, this console's own deletion or the event, the other finds it gone). A match not yet
 * loaded is still counted until the next search: the console cannot tell it matched.
 */
function dropCustomer(customerId) {
  const listed = state.customers.length;
  state.customers = state.customers.filter((c) => c.id !== customerId);
  if (state.customers.length < listed && state.total > 0) showCount(--state.total);
}

/**
 * A customer was erased (from this console, another one, or by the customer itself): it leaves the
 * list, and its open details close, saying why, since nothing of it can be read any more.
 */
function customerDeleted({ customerId, byCustomer }) {
  const known = state.customers.find((c) => c.id === customerId) || (state.selected?.id === customerId ? state.selected : null);
  dropCustomer(customerId);
  if (state.selected?.id !== customerId) {
    renderList();
    return;
  }
  closeDetails({ focus: false });
  setAddress();
  if (known) announce(`${fullName(known)} ${byCustomer ? 'deleted their own account' : 'was deleted by an administrator'}: the details are closed.`);
}

/**
 * The server closed the live updates' socket: 4403 says the operator was disabled. 4401 says a
 * session ended, and not always this one: a password change closes every socket of the operator,
 * the new session's too. So the console asks whether its session still works (call signs out if
 * not) and, if it does, opens the live updates again.
 */
async function socketEnded(code) {
  if (code === CLOSE_FORBIDDEN) return signOut(DISABLED_MESSAGE, true);
  await state.renewal;
  const token = state.token;
  if (!token || state.resubscribe) return;
  try {
    await call('{ viewer { ... on Operator { id } } }');
  } catch { /* signed out when the session is over; else try again */ }
  if (state.token !== token) return;
  state.resubscribe = setTimeout(() => {
    state.resubscribe = null;
    if (state.token === token) watchStatusChanges();
  }, 1000);
}

// ---- Setup link: the first sign-in of an invited operator ----

const INVALID_TICKET_MESSAGE = 'This link is used, expired or wrong: ask an admin for a new one.';
let ticket = ''; // the setup link's ticket, kept only in memory
watchPassword($('setup-password'), () => ({ for: 'OPERATOR_SETUP', setupTicket: ticket }));

/** Takes the ticket of a setup link (#setup=…) out of the address bar at once; '' without one. */
function takeSetupTicket() {
  if (!location.hash.startsWith('#setup=')) return '';
  const found = location.hash.slice('#setup='.length); // as the API wrote it: URL-safe
  history.replaceState(null, '', location.pathname + location.search);
  return found;
}

/** Shows "Choose your password" for a setup link, leaving any session this tab had. */
function startSetup(found = takeSetupTicket()) {
  if (state.token) request('mutation { logout { success } }', {}, { token: state.token }).catch(() => {});
  signOut('');
  ticket = found;
  showSection('setup');
  $('setup-password').focus();
}

$('setup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (form.password.value !== form.confirmPassword.value) {
    return showErrors(form, [{ field: ['confirmPassword'], message: 'The two passwords differ.' }]);
  }
  await busy(form, async () => {
    try {
      const data = await request(`mutation($input: CompleteOperatorSetupInput!) {
        completeOperatorSetup(input: $input) {
          token mfaRequired challenge mustEnrollMfa operator { domain { slug } } userErrors { field message code } } }`,
      { input: { ticket, password: form.password.value } });
      const payload = data.completeOperatorSetup;
      if (payload.userErrors.length) {
        return showErrors(form, payload.userErrors.map((e) => (e.code === 'INVALID_TICKET' ? { message: INVALID_TICKET_MESSAGE } : e)));
      }
      ticket = '';
      form.reset();
      if (payload.mfaRequired) {
        // The operator kept its authenticator app: the password is set, the sign-in goes on with a code.
        askCode(payload.challenge);
        return announce('Your password is set. Now type the code your authenticator app shows.');
      }
      keepToken(payload.token);
      localStorage.setItem(DOMAIN_KEY, payload.operator.domain.slug);
      await enter({ enrol: payload.mustEnrollMfa });
      announce(state.enrolOnly
        ? `Welcome, ${state.operator.name}: your password is set. Now set up an authenticator app.`
        : `Welcome, ${state.operator.name}: your password is set and you are signed in.`);
    } catch (err) {
      formError(form, err.message);
    }
  });
});

// ---- Team ----

const OPERATOR_FIELDS = 'id name email role status setupPending totpEnabled';
const ROLES = ['SUPPORT', 'ADMIN'];
const team = { operators: [], endCursor: null, latest: 0 };

let teamTimer;
$('team-search').addEventListener('input', () => {
  clearTimeout(teamTimer);
  teamTimer = setTimeout(() => loadOperators(), DEBOUNCE_MS);
});
$('team-more').addEventListener('click', () => loadOperators({ more: true }));

async function loadOperators({ more = false } = {}) {
  const id = ++team.latest;
  $('team-more').disabled = true;
  try {
    const data = await call(`query($query: String, $first: Int, $after: String) {
      operators(query: $query, first: $first, after: $after) {
        edges { node { ${OPERATOR_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
    { query: $('team-search').value.trim() || null, first: PAGE_SIZE, after: more ? team.endCursor : null });
    if (id !== team.latest) return;
    const page = data.operators;
    team.operators = (more ? team.operators : []).concat(page.edges.map((e) => e.node));
    team.endCursor = page.pageInfo.endCursor;
    $('team-more').hidden = !page.pageInfo.hasNextPage;
    const n = team.operators.length;
    $('team-count').textContent = n === 0 ? 'Nobody on the team matches.'
      : `${n} operator${n === 1 ? '' : 's'}${page.pageInfo.hasNextPage ? ' shown, more below' : ''}`;
    renderOperators();
  } catch (err) {
    if (id === team.latest) $('team-count').textContent = err.message;
  } finally {
    if (id === team.latest) $('team-more').disabled = false;
  }
}

/** Draws the list again; the keyboard stays on the control it was on. */
function renderOperators() {
  const focused = $('operators').contains(document.activeElement) ? document.activeElement.id : '';
  $('operators').replaceChildren(...team.operators.map(operatorRow));
  if (focused) $(focused)?.focus();
}

function operatorRow(o) {
  const self = o.id === state.operator?.id;
  const whom = () => h('span', { class: 'visually-hidden' }, ` ${o.name}`); // "Disable Nia New" to a screen reader
  return h('li', { class: 'card operator', 'data-id': o.id, 'data-email': o.email },
    h('div', { class: 'operator-head' },
      h('span', { class: 'name' }, o.name, self ? ' (you)' : ''),
      h('span', { class: `badge ${o.status.toLowerCase()}` }, statusLabel(o.status)),
      o.setupPending && h('span', { class: 'badge pending' }, 'Setup pending'),
      o.totpEnabled && h('span', { class: 'badge mfa', title: 'Signs in with a second factor' }, '2FA')),
    h('span', { class: 'contact' }, o.email),
    self
      ? h('p', { class: 'hint' }, `${o.role}. Another ADMIN changes your role or status.`)
      : h('div', { class: 'actions' },
        h('div', { class: 'inline-field' },
          h('label', { for: `op-role-${o.id}` }, 'Role', whom()),
          h('select', { id: `op-role-${o.id}`, onchange: (event) => changeRole(o, event.target.value) },
            ROLES.map((r) => h('option', { value: r, selected: r === o.role }, r)))),
        h('button', {
          type: 'button', id: `op-status-${o.id}`, class: o.status === 'ACTIVE' ? 'danger' : '', onclick: () => setOperatorStatus(o),
        }, o.status === 'ACTIVE' ? 'Disable' : 'Enable', whom()),
        o.status === 'ACTIVE' && h('button', { type: 'button', id: `op-reissue-${o.id}`, class: 'secondary', onclick: () => reissueSetup(o) },
          'Reissue setup link', whom()),
        o.totpEnabled && h('button', { type: 'button', id: `op-mfa-${o.id}`, class: 'secondary', onclick: () => resetMfa(o) },
          'Reset second factor', whom())));
}

function replaceOperator(changed) {
  team.operators = team.operators.map((o) => (o.id === changed.id ? changed : o));
  renderOperators();
}

// The API's answers, in plain words for the person in front of the console.
const TEAM_ERRORS = {
  SELF: () => 'You cannot change your own role or status: ask another ADMIN.',
  LAST_ADMIN: (o) => `${o?.name || 'This operator'} is the team's last active ADMIN: make someone else ADMIN first.`,
  EMAIL_TAKEN: () => 'Someone on the team already uses this email.',
  CONFLICT: (o) => `Someone else changed ${o?.name || 'this operator'} meanwhile. Close this, look at the list again, then try again.`,
  NOT_ENABLED: (o) => `${o?.name || 'This operator'} has no second factor on any more.`,
};
const plainTeamErrors = (errors, o) => errors.map((e) => (TEAM_ERRORS[e.code] ? { ...e, message: TEAM_ERRORS[e.code](o) } : e));

/**
 * The team dialog asks before a change to an operator: title, explanation, confirm (the button),
 * reason ('required', 'optional' or none) and run(reason), which makes the change and returns the
 * userErrors to show, or closes the dialog itself.
 */
let teamAction = null;
function confirmTeam({ title, text, confirm, danger = false, reason = '', run }) {
  const form = openDialog('team-dialog');
  $('team-dialog-title').textContent = title;
  $('team-dialog-explanation').textContent = text;
  $('team-reason-field').hidden = !reason;
  $('team-reason-label').textContent = reason === 'required' ? 'Reason (kept in the audit log)' : 'Reason (optional)';
  form.reason.required = reason === 'required';
  $('team-confirm').textContent = confirm;
  $('team-confirm').className = danger ? 'danger' : '';
  teamAction = { reason, run };
}

$('team-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const reason = form.reason.value.trim();
  if (teamAction.reason === 'required' && !reason) {
    return showErrors(form, [{ field: ['reason'], message: 'Give a reason: it is kept in the audit log.' }]);
  }
  await busy(form, async () => {
    try {
      const errors = await teamAction.run(reason || null);
      if (errors?.length) showErrors(form, errors);
    } catch (err) {
      formError(form, err.message);
    }
  });
});
// Cancelled or done, the list shows each operator as it is (a role select goes back).
$('team-dialog').addEventListener('close', () => renderOperators());

function changeRole(o, role) {
  const lowering = role === 'SUPPORT';
  confirmTeam({
    title: lowering ? `Make ${o.name} SUPPORT?` : `Make ${o.name} an ADMIN?`,
    text: lowering
      ? `${o.name} can no longer disable or delete accounts, read the audit log or manage the team, and is signed out everywhere at once.`
      : `${o.name} can then also disable and delete customer accounts, read the audit log and manage the team.`,
    confirm: lowering ? 'Make SUPPORT' : 'Make ADMIN',
    danger: lowering,
    run: async () => {
      const data = await call(`mutation($input: UpdateOperatorInput!) {
        updateOperator(input: $input) { operator { ${OPERATOR_FIELDS} } userErrors { field message code } } }`,
      { input: { operatorId: o.id, role } });
      const payload = data.updateOperator;
      if (payload.userErrors.length) return plainTeamErrors(payload.userErrors, o);
      replaceOperator(payload.operator);
      $('team-dialog').close();
      announce(`${o.name} is ${role} now${lowering ? ' and was signed out' : ''}.`);
    },
  });
}

function setOperatorStatus(o) {
  const disabling = o.status === 'ACTIVE';
  confirmTeam({
    title: disabling ? `Disable ${o.name}?` : `Enable ${o.name}?`,
    text: disabling
      ? `${o.name} is signed out everywhere at once, any remote assistance they run ends, and they cannot sign in until enabled again.`
      : `${o.name} can sign in again.`,
    reason: disabling ? 'required' : 'optional',
    confirm: disabling ? 'Disable' : 'Enable',
    danger: disabling,
    run: async (reason) => {
      const status = disabling ? 'DISABLED' : 'ACTIVE';
      const data = await call(`mutation($input: SetOperatorStatusInput!) {
        setOperatorStatus(input: $input) { operator { ${OPERATOR_FIELDS} } userErrors { field message code } } }`,
      { input: { operatorId: o.id, status, reason } });
      const payload = data.setOperatorStatus;
      if (payload.userErrors.length) return plainTeamErrors(payload.userErrors, o);
      replaceOperator(payload.operator);
      $('team-dialog').close();
      announce(disabling ? `${o.name} is disabled and was signed out.` : `${o.name} is enabled.`);
    },
  });
}

function reissueSetup(o) {
  confirmTeam({
    title: `New setup link for ${o.name}?`,
    text: `${o.name}'s password stops working and every session of theirs ends at once. They then choose a new password with the link, within 24 hours.`,
    confirm: 'Make a new link',
    danger: true,
    run: async () => {
      const data = await call(`mutation($input: ReissueOperatorSetupInput!) {
        reissueOperatorSetup(input: $input) { setupUrl operator { ${OPERATOR_FIELDS} } userErrors { field message code } } }`,
      { input: { operatorId: o.id } });
      const payload = data.reissueOperatorSetup;
      if (payload.userErrors.length) return plainTeamErrors(payload.userErrors, o);
      replaceOperator(payload.operator);
      $('team-dialog').close();
      showSetupLink(payload.operator, payload.setupUrl);
    },
  });
}

function resetMfa(o) {
  confirmTeam({
    title: `Reset ${o.name}'s second factor?`,
    text: `For someone who lost their phone: ${o.name}'s authenticator app and recovery codes stop working, and every session of theirs ends at once. They then sign in with their password and set up an app again.`,
    confirm: 'Reset second factor',
    danger: true,
    run: async () => {
      const data = await call(`mutation($input: ResetOperatorMfaInput!) {
        resetOperatorMfa(input: $input) { operator { ${OPERATOR_FIELDS} } userErrors { field message code } } }`,
      { input: { operatorId: o.id } });
      const payload = data.resetOperatorMfa;
      if (payload.userErrors.length) return plainTeamErrors(payload.userErrors, o);
      replaceOperator(payload.operator);
      opener = `op-status-${o.id}`; // the reset button is gone
      $('team-dialog').close();
      announce(`${o.name}'s second factor is reset and they were signed out.`);
    },
  });
}

$('invite').addEventListener('click', () => openDialog('invite-dialog'));

$('invite-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const field = (name) => form.elements.namedItem(name).value;
  const input = { name: field('name').trim(), email: field('email').trim(), role: field('role') };
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: InviteOperatorInput!) {
        inviteOperator(input: $input) { setupUrl operator { ${OPERATOR_FIELDS} } userErrors { field message code } } }`, { input });
      const payload = data.inviteOperator;
      if (payload.userErrors.length) return showErrors(form, plainTeamErrors(payload.userErrors));
      form.reset();
      form.closest('dialog').close();
      showSetupLink(payload.operator, payload.setupUrl); // opening a dialog clears the status: say it after
      announce(`${payload.operator.name} is invited as ${payload.operator.role}.`);
      loadOperators();
    } catch (err) {
      formError(form, err.message);
    }
  });
});

/** Shows a setup link, once: it leaves the page when the dialog closes. */
function showSetupLink(o, url) {
  openDialog('link-dialog');
  $('link-name').textContent = o.name;
  $('link-person').textContent = o.name;
  $('link-copied').textContent = '';
  $('link-url').value = url.startsWith('/') ? location.origin + url : url;
  $('link-url').select();
}
$('link-dialog').addEventListener('close', () => { $('link-url').value = ''; });

/** Copies text; where the clipboard API is refused, selects el (which shows it) and copies that. */
async function copyText(text, el) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (el.select) el.select();
    else getSelection().selectAllChildren(el);
    return document.execCommand('copy');
  }
}

$('link-copy').addEventListener('click', async () => {
  const copied = await copyText($('link-url').value, $('link-url'));
  $('link-copied').textContent = copied ? 'Copied.' : 'Select the link and copy it with Ctrl+C.';
});

// ---- Audit log ----

const AUDIT_ACTIONS = {
  authn_login_success: 'Signed in', authn_login_fail: 'Failed sign-in attempt', authn_login_lock: 'Sign-ins paused after failures',
  authn_logout: 'Signed out', authn_password_change: 'Password changed', authn_password_reset: 'Password reset',
  user_created: 'Account created', user_updated: 'Account changed', user_disabled: 'Account disabled',
  user_enabled: 'Account enabled', user_deleted: 'Account deleted', users_imported: 'Customers imported',
  users_exported: 'Customers exported', user_data_exported: "Copy of a customer's data downloaded", device_updated: 'Device changed', assist_started: 'Remote assistance started',
  assist_redeemed: 'Remote assistance opened', assist_ended: 'Remote assistance ended',
  assist_requested: 'Remote assistance asked of the customer', assist_approved: 'Remote assistance approved by the customer',
  assist_declined: 'Remote assistance declined by the customer', assist_request_expired: 'Remote assistance request expired',
  assist_escalated: 'Remote assistance: control asked for',
  authz_fail: 'Refused: not allowed', excess_rate_limit_exceeded: 'Refused: too many requests',
  authn_mfa_enroll_started: 'Second factor set-up started', authn_mfa_enabled: 'Second factor turned on',
  authn_mfa_disabled: 'Second factor turned off', authn_mfa_fail: 'Wrong second factor code', domain_updated: 'Settings changed',
};
// What a failed attempt of an action is called, where the action's own words would read as done
// ("Account deleted" over a refused deletion).
const AUDIT_FAILED = {
  user_deleted: 'Account deletion refused', authn_password_change: 'Password change refused', device_updated: 'Device change refused',
};
$('audit-actions').replaceChildren(...Object.entries(AUDIT_ACTIONS).map(([value, label]) => h('option', { value }, label)));

const audit = {
  entries: [], endCursor: null, latest: 0,
  customer: null, // { id, name } when the log is filtered by a customer
  names: new Map(), // global id -> name (null: no longer exists)
  operatorsLoaded: false,
};

$('audit-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (form.from.value && form.to.value && form.to.value < form.from.value) {
    return showErrors(form, [{ field: ['to'], message: 'This day is before the one in From.' }]);
  }
  loadAudit();
});

/** The start of a date field's day (yyyy-mm-dd, the browser's time zone), days later, in RFC 3339; null when empty. */
function dayStart(value, days = 0) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}
$('audit-operator').addEventListener('change', () => loadAudit());
$('audit-customer-clear').addEventListener('click', () => {
  audit.customer = null;
  loadAudit();
  $('audit-action').focus();
});
$('audit-more').addEventListener('click', () => loadAudit({ more: true }));

/** The audit log of one customer, opened from its details. */
function auditOf(customer) {
  audit.customer = { id: customer.id, name: fullName(customer) };
  $('audit-filters').reset();
  go('audit');
}

async function openAudit() {
  if (can('MANAGE_OPERATORS') && !audit.operatorsLoaded) {
    audit.operatorsLoaded = true;
    try {
      const data = await call(`{ operators(first: 100) { edges { node { id name email } } } }`);
      const operators = data.operators.edges.map((e) => e.node);
      for (const o of operators) audit.names.set(o.id, o.name);
      $('audit-operator').append(...operators.map((o) => h('option', { value: o.id }, `${o.name} (${o.email})`)));
    } catch {
      audit.operatorsLoaded = false;
    }
  }
  await loadAudit();
}

async function loadAudit({ more = false } = {}) {
  const id = ++audit.latest;
  $('audit-customer').hidden = !audit.customer;
  $('audit-customer-name').textContent = audit.customer?.name || '';
  $('audit-more').disabled = true;
  try {
    const data = await call(`query($customerId: ID, $operatorId: ID, $action: String, $since: Time, $until: Time, $first: Int, $after: String) {
      auditLog(customerId: $customerId, operatorId: $operatorId, action: $action, since: $since, until: $until, first: $first, after: $after) {
        edges { node { id at actorType actorId actingFor action targetType targetId reason outcome } }
        pageInfo { hasNextPage endCursor } } }`, {
      customerId: audit.customer?.id || null,
      operatorId: $('audit-operator').value || null,
      action: $('audit-action').value.trim() || null,
      since: dayStart($('audit-from').value),
      until: dayStart($('audit-to').value, 1), // the whole day of To
      first: PAGE_SIZE,
      after: more ? audit.endCursor : null,
    });
    if (id !== audit.latest) return;
    const page = data.auditLog;
    const found = page.edges.map((e) => e.node);
    await learnNames(found.flatMap((e) => [e.actorId, e.actingFor, NAMED_TARGETS.has(e.targetType) && e.targetId]));
    if (id !== audit.latest) return;
    audit.entries = (more ? audit.entries : []).concat(found);
    audit.endCursor = page.pageInfo.endCursor;
    $('audit-more').hidden = !page.pageInfo.hasNextPage;
    const n = audit.entries.length;
    $('audit-count').textContent = n === 0 ? 'No entries match.'
      : `${n} entr${n === 1 ? 'y' : 'ies'}, newest first${page.pageInfo.hasNextPage ? '; more below' : ''}`;
    $('audit-entries').replaceChildren(...audit.entries.map(entryRow));
  } catch (err) {
    if (id === audit.latest) $('audit-count').textContent = err.message;
  } finally {
    if (id === audit.latest) $('audit-more').disabled = false;
  }
}

const NAMED_TARGETS = new Set(['customer', 'operator', 'device']);
const MAX_LOOKUPS = 9; // node fields per request: the API takes at most 10 root fields

/** Looks up the names of the customers, operators and devices an audit page mentions. */
async function learnNames(ids) {
  const unknown = [...new Set(ids.filter((id) => id && !audit.names.has(id)))];
  for (let i = 0; i < unknown.length; i += MAX_LOOKUPS) {
    const chunk = unknown.slice(i, i + MAX_LOOKUPS);
    const query = `query(${chunk.map((_, j) => `$id${j}: ID!`).join(', ')}) {
      ${chunk.map((_, j) => `n${j}: node(id: $id${j}) { ... on Customer { firstName lastName } ... on Operator { name } ... on Device { name } }`).join('\n')} }`;
    try {
      const data = await call(query, Object.fromEntries(chunk.map((id, j) => [`id${j}`, id])));
      chunk.forEach((id, j) => {
        const node = data[`n${j}`];
        audit.names.set(id, node ? node.name || `${node.firstName} ${node.lastName}` : null);
      });
    } catch { /* the entries show without names */ }
  }
}

/** A customer's name, as a link to its details. */
function customerLink(id) {
  const name = audit.names.get(id);
  if (name === null) return 'a deleted customer';
  return h('a', {
    href: '#customers', 'data-customer': id,
    onclick: (event) => { event.preventDefault(); go('customers', { focus: false }); select(id); },
  }, name || 'a customer');
}

function actorOf(e) {
  switch (e.actorType) {
    case 'operator': return audit.names.get(e.actorId) || 'an operator';
    case 'customer': return e.actorId ? customerLink(e.actorId) : 'the customer';
    case 'anonymous': return 'someone not signed in';
    case 'system': return 'the service';
    default: return e.actorType;
  }
}

function targetOf(e) {
  switch (e.targetType) {
    case 'customer': return e.targetId ? customerLink(e.targetId) : 'a customer';
    case 'operator': return `operator ${audit.names.get(e.targetId) || ''}`.trim();
    case 'device': return `device ${audit.names.get(e.targetId) || ''}`.trim();
    case 'operation': return `operation ${e.targetId || ''}`.trim();
    case 'domain': return 'the company';
    default: return [e.targetType, e.targetId].filter(Boolean).join(' ');
  }
}

function entryRow(e) {
  return h('li', { class: 'card entry', 'data-action': e.action },
    h('p', { class: 'entry-head' },
      h('time', { datetime: e.at }, formatTime(e.at)), ' ',
      h('strong', {}, (e.outcome === 'failure' && AUDIT_FAILED[e.action]) || AUDIT_ACTIONS[e.action] || e.action), ' ',
      h('code', {}, e.action),
      e.outcome === 'failure' && h('span', { class: 'badge disabled' }, 'Failed')),
    h('p', {}, 'By ', actorOf(e), e.actingFor && [' as ', customerLink(e.actingFor), ' (remote assistance)']),
    h('p', {}, 'On ', targetOf(e)),
    e.reason && h('p', { class: 'reason' }, `Reason: ${e.reason}`));
}

// ---- Security: the operator's own password ----

watchPassword($('password-new'), () => ({ for: 'SELF' }), () => state.token);

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (form.newPassword.value !== form.confirmPassword.value) {
    return showErrors(form, [{ field: ['confirmPassword'], message: 'The two new passwords differ.' }]);
  }
  let renewed;
  state.renewal = new Promise((resolve) => { renewed = resolve; });
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: ChangeOperatorPasswordInput!) {
        changeOperatorPassword(input: $input) { token deviceToken userErrors { field message code } } }`,
      { input: { currentPassword: form.currentPassword.value, newPassword: form.newPassword.value } });
      const payload = data.changeOperatorPassword;
      if (payload.userErrors.length) {
        return showErrors(form, payload.userErrors.map((e) => (e.code === 'WRONG_PASSWORD' ? { ...e, message: 'This is not your current password.' } : e)));
      }
      keepToken(payload.token); // the old token no longer works
      // The change ended this device's token with the other sessions: keep the new one.
      const deviceKey = sessionStorage.getItem(ACCOUNT_DEVICE_KEY);
      if (deviceKey && payload.deviceToken) localStorage.setItem(deviceKey, payload.deviceToken);
      watchStatusChanges();
      form.reset();
      announce('Your password is changed. Your other sessions have ended; you stay signed in here.');
    } catch (err) {
      formError(form, err.message);
    }
  });
  state.renewal = null;
  renewed();
});

// ---- Security: the operator's authenticator app (a second factor) ----

/** Shows only the set-up of an authenticator app (and Sign out), or, with false, the whole Security again. */
function showEnrolment(only = true) {
  $('enroll-required').hidden = !only;
  $('password-form').hidden = only;
  $('security-title').textContent = only ? 'Set up a second factor' : 'Security';
  if (!only) return;
  state.unsubscribe?.();
  state.unsubscribe = null;
  $('nav').hidden = true;
  history.replaceState(null, '', '#security'); // where the console opens once it is set up
  showSection('security');
  resetTotp();
  $('security-title').focus();
}

/** The Authenticator app card as the operator has it: Set up when off, Turn off when on. */
function resetTotp() {
  const on = Boolean(state.operator?.totpEnabled);
  const required = Boolean(state.operator?.domain?.requireOperatorMfa);
  $('totp-state').textContent = on
    ? 'On: every sign-in asks, after your password, for the 6-digit code your app shows.'
    : required
      ? 'Off: your company requires one. Set up an app to go on; every sign-in then asks for the 6-digit code it shows.'
      : 'Off: your password alone signs you in. With an app, every sign-in also asks for the 6-digit code it shows.';
  $('totp-start').hidden = on;
  $('totp-disable-form').hidden = !on;
  $('totp-enroll-form').hidden = true;
  $('totp-recovery').hidden = true;
  $('recovery-codes').replaceChildren(); // shown once: gone when the card is drawn again
  $('recovery-copied').textContent = '';
  $('totp-qr').removeAttribute('src');
  $('totp-secret').textContent = '';
  $('totp-copied').textContent = '';
  $('totp-link').href = '#';
  for (const form of [$('totp-enroll-form'), $('totp-disable-form')]) {
    form.reset();
    clearErrors(form);
  }
}

$('totp-start').addEventListener('click', async () => {
  const button = $('totp-start');
  button.disabled = true;
  try {
    const data = await call('mutation { enrollTotp { otpauthUri qrCode secret userErrors { field message code } } }');
    const payload = data.enrollTotp;
    if (payload.userErrors.length) return announce(payload.userErrors[0].message);
    $('totp-qr').src = payload.qrCode;
    // In groups of four, which wrap on a phone's screen and read aloud one group at a time.
    $('totp-secret').textContent = payload.secret.match(/.{1,4}/g).join(' ');
    $('totp-link').href = payload.otpauthUri; // a phone cannot scan its own screen: its app opens the link
    button.hidden = true;
    $('totp-enroll-form').hidden = false;
    $('totp-link').focus();
  } catch (err) {
    announce(err.message);
  } finally {
    button.disabled = false;
  }
});

$('totp-copy').addEventListener('click', async () => {
  const copied = await copyText($('totp-secret').textContent.replaceAll(' ', ''), $('totp-secret'));
  $('totp-copied').textContent = copied ? 'Copied.' : 'Select the secret and copy it.';
});

$('totp-cancel').addEventListener('click', () => {
  resetTotp();
  $('totp-start').focus();
});

$('totp-enroll-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const code = form.code.value.replace(/\s/g, '');
  if (!/^\d{6}$/.test(code)) return showErrors(form, [{ field: ['code'], message: 'Type the 6 digits your app shows for this account.' }]);
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: ConfirmTotpInput!) {
        confirmTotp(input: $input) { recoveryCodes token userErrors { field message code } } }`, { input: { code } });
      const payload = data.confirmTotp;
      if (payload.userErrors.length) {
        return showErrors(form, payload.userErrors);
      }
      keepToken(payload.token); // verified by the second factor
      if (state.enrolOnly) {
        await enter(); // the whole console now, on Security
      } else {
        state.operator.totpEnabled = true;
        watchStatusChanges();
      }
      showRecoveryCodes(payload.recoveryCodes);
    } catch (err) {
      formError(form, err.message);
    }
  });
});

function showRecoveryCodes(codes) {
  resetTotp();
  $('totp-disable-form').hidden = true;
  $('recovery-codes').replaceChildren(...codes.map((c) => h('li', {}, c)));
  $('totp-recovery').hidden = false;
  announce('Your authenticator app is on. Save your recovery codes now: they are not shown again.');
  $('recovery-copy').focus();
}

$('recovery-copy').addEventListener('click', async () => {
  const codes = [...$('recovery-codes').children].map((li) => li.textContent);
  const copied = await copyText(codes.join('\n'), $('recovery-codes'));
  $('recovery-copied').textContent = copied ? 'Copied.' : 'Select the codes and copy them with Ctrl+C.';
});

$('recovery-done').addEventListener('click', () => {
  resetTotp();
  announce('');
  $('security-title').focus();
});

$('totp-disable-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const input = { password: form.password.value, code: form.code.value.trim() };
  const missing = [!input.password && { field: ['password'], message: 'Type your password.' },
    !input.code && { field: ['code'], message: 'Type the code your app shows now, or a recovery code.' }].filter(Boolean);
  if (missing.length) return showErrors(form, missing);
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: DisableTotpInput!) {
        disableTotp(input: $input) { operator { totpEnabled } userErrors { field message code } } }`, { input });
      const payload = data.disableTotp;
      if (payload.userErrors.length) {
        return showErrors(form, plainCodeErrors(payload.userErrors));
      }
      // In a company that requires one, turning it off ended every session (README: The team).
      if (state.operator.domain.requireOperatorMfa) {
        return signOut('Your authenticator app is off. Your company requires one: sign in again to set one up.');
      }
      state.operator.totpEnabled = payload.operator.totpEnabled;
      resetTotp();
      $('totp-start').focus();
      announce('Your authenticator app is off: your password alone signs you in.');
    } catch (err) {
      formError(form, err.message);
    }
  });
});

// ---- Settings: the domain's (MANAGE_DOMAIN) ----

const SETTINGS = ['name', 'defaultRegion', 'signUpPolicy', 'requireOperatorMfa', 'assistTtlSeconds', 'assistConsent', 'passwordMinLength'];
let savedSettings = null; // the domain as the form was filled from it

async function loadSettings() {
  const form = $('settings-form');
  clearErrors(form);
  savedSettings = null;
  await busy(form, async () => {
    try {
      const data = await call(`{ domain { ${SETTINGS.join(' ')} } }`);
      fillSettings(data.domain);
    } catch (err) {
      formError(form, err.message);
    }
  });
}

function fillSettings(domain) {
  savedSettings = domain;
  const form = $('settings-form');
  for (const k of SETTINGS) {
    const input = form.elements.namedItem(k);
    if (input.type === 'checkbox') input.checked = domain[k];
    else input.value = domain[k];
  }
}

/** The form's values as the API takes them, and the errors of those that are not. */
function readSettings(form) {
  const values = {
    name: form.elements.namedItem('name').value.trim(), defaultRegion: form.defaultRegion.value.trim().toUpperCase(),
    signUpPolicy: form.signUpPolicy.value, requireOperatorMfa: form.requireOperatorMfa.checked, assistConsent: form.assistConsent.value,
  };
  const errors = [];
  for (const [k, unit] of [['assistTtlSeconds', 'seconds'], ['passwordMinLength', 'characters']]) {
    const text = form[k].value.trim();
    if (/^\d+$/.test(text)) values[k] = Number(text);
    else errors.push({ field: [k], message: `Type a whole number of ${unit}, or 0 for the server's default.` });
  }
  return { values, errors };
}

$('settings-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!savedSettings) return formError(form, 'The settings could not be read. Open Settings again.');
  const { values, errors } = readSettings(form);
  if (errors.length) return showErrors(form, errors);
  const input = Object.fromEntries(SETTINGS.filter((k) => values[k] !== savedSettings[k]).map((k) => [k, values[k]]));
  if (Object.keys(input).length === 0) return announce('Nothing was changed.');
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: UpdateDomainSettingsInput!) {
        updateDomainSettings(input: $input) { changed domain { ${SETTINGS.join(' ')} } userErrors { field message code } } }`, { input });
      const payload = data.updateDomainSettings;
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      fillSettings(payload.domain);
      Object.assign(state.operator.domain, { name: payload.domain.name, requireOperatorMfa: payload.domain.requireOperatorMfa });
      $('who-name').textContent = `${state.operator.name} · ${state.operator.domain.name}`;
      announce(payload.changed ? 'The settings are saved and apply now.' : 'Nothing was changed.');
    } catch (err) {
      formError(form, err.message);
    }
  });
});

// ---- Start ----

const setupTicket = takeSetupTicket();
if (setupTicket) startSetup(setupTicket);
else if (state.token) enter().catch(() => { if (state.token) signOut(''); });
else signOut('');
