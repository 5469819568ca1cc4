// The customer dashboard: sign-in, devices, account activity, and remote
// assistance (an operator acting as the customer, with a banner on every view).
import { request, subscribe, errorCode, CLOSE_FORBIDDEN } from './gql.js';
import { h, showSection, showErrors, clearErrors, formError, busy, announce, formatTime, handleSignIn, activityLabel, deviceIDs } from './ui.js';

const TOKEN_KEY = 'bff.dashboard.token';
const DOMAIN_KEY = 'bff.dashboard.domain';
const MODES = ['OFF', 'HEAT', 'COOL', 'AUTO', 'ECO'];
const DISABLED_MESSAGE = 'This account has been disabled, so you have been signed out. Contact support if you think this is a mistake.';

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  assistance: null, // the remote assistance this tab runs in, if any
  unsubscribe: null,
  countdown: null,
};

// ---- Session ----

async function call(query, variables, options = {}) {
  try {
    return await request(query, variables, { token: state.token, ...options });
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ACCOUNT_DISABLED') end(DISABLED_MESSAGE, true);
    else if (code === 'UNAUTHENTICATED') end(state.assistance ? 'The assistance has ended.' : 'Your session has ended. Sign in again.');
    throw err;
  }
}

/** Signs this tab out locally and shows why. */
function end(message, isError = false) {
  state.unsubscribe?.();
  state.unsubscribe = null;
  clearInterval(state.countdown);
  const wasAssist = Boolean(state.assistance);
  state.token = '';
  state.assistance = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('assist-banner').hidden = true;
  $('who').hidden = true;
  $('devices').replaceChildren();
  $('recent').replaceChildren();
  $('activity').replaceChildren();
  $('download-status').textContent = '';
  $('download-error').textContent = '';
  announce('');
  $('notice').textContent = message;
  $('notice').classList.toggle('error', isError);
  if (wasAssist) {
    showSection(''); // an operator's tab: nothing to sign in to here
    return;
  }
  $('sign-in-domain').value = localStorage.getItem(DOMAIN_KEY) || new URLSearchParams(location.search).get('domain') || '';
  showSection('sign-in');
  offerSignUp();
}

/** Shows "Create an account" when the company typed takes sign-ups. */
async function offerSignUp() {
  const domain = $('sign-in-domain').value.trim();
  let open = false;
  if (domain) {
    try {
      open = (await call('query($d: String!) { signUpOpen(domain: $d) }', { d: domain })).signUpOpen;
    } catch { /* offer nothing when the server cannot say */ }
  }
  if ($('sign-in-domain').value.trim() === domain) $('sign-up-offer').hidden = !open;
}
$('sign-in-domain').addEventListener('change', offerSignUp);

$('sign-up-link').addEventListener('click', (event) => {
  event.preventDefault();
  $('sign-up-domain').value = $('sign-in-domain').value.trim();
  showSection('sign-up');
  $('sign-up-first').focus();
});
$('sign-in-link').addEventListener('click', (event) => {
  event.preventDefault();
  showSection('sign-in');
});

$('sign-up-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const input = Object.fromEntries(['domain', 'firstName', 'lastName', 'email', 'phone', 'password'].map((k) => [k, form[k].value]));
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: SignUpInput!) {
        signUp(input: $input) { token userErrors { field message code } } }`, { input });
      const payload = data.signUp;
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      state.token = payload.token;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      localStorage.setItem(DOMAIN_KEY, input.domain.trim());
      form.reset();
      $('notice').textContent = '';
      await enter();
      announce('Your account is ready.');
    } catch (err) {
      formError(form, err.message);
    }
  });
});

handleSignIn($('sign-in-form'), `mutation($input: LoginInput!) {
  login(input: $input) { token mustChangePassword userErrors { field message code } } }`, async (payload, input) => {
  state.token = payload.token;
  sessionStorage.setItem(TOKEN_KEY, state.token);
  localStorage.setItem(DOMAIN_KEY, input.domain);
  $('notice').textContent = '';
  if (payload.mustChangePassword) {
    showSection('change-password');
    $('change-current').focus();
    return;
  }
  await enter();
});

$('change-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  await busy(form, async () => {
    try {
      const data = await call(`mutation($input: ChangePasswordInput!) {
        changePassword(input: $input) { token userErrors { field message code } } }`,
      { input: { currentPassword: form.currentPassword.value, newPassword: form.newPassword.value } });
      const payload = data.changePassword;
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      state.token = payload.token;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      form.reset();
      await enter();
      announce('Your new password is saved.');
    } catch (err) {
      formError(form, err.message);
    }
  });
});

async function signOut(message) {
  try { await call('mutation { logout { success } }'); } catch { /* signed out locally either way */ }
  end(message);
}
$('sign-out').addEventListener('click', () => signOut('You are signed out.'));
$('end-assist').addEventListener('click', () => signOut('Assistance ended. You can close this tab.'));

/** Exchanges the one-time ticket in #assist=… for an assist session token. */
async function redeem(ticket) {
  history.replaceState(null, '', location.pathname + location.search); // the ticket leaves the address bar at once
  sessionStorage.clear(); // a tab the console opened starts with a copy of the console's storage
  try {
    const data = await request(`mutation($input: RedeemAssistTicketInput!) {
      redeemAssistTicket(input: $input) { token userErrors { message } } }`, { input: { ticket } });
    const payload = data.redeemAssistTicket;
    if (!payload.token) throw new Error(payload.userErrors[0]?.message || 'The assistance link does not work.');
    state.token = payload.token;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    await enter();
  } catch (err) {
    $('notice').textContent = `${err.message} Start the assistance again from the console.`;
    $('notice').classList.add('error');
    showSection('');
  }
}

// ---- The account ----

const ACCOUNT = `{
  viewer { ... on Customer { id firstName lastName
    devices { id name model serialNumber macAddress online settings { targetTemperature mode notifications } }
    activity(first: 20) { edges { node { action by outcome at } } }
    accessHistory { assistSession { id reason state startedAt endedAt endedBy operator { name } } changes { action targetType at } } } }
  assistance { id reason expiresAt operator { name } }
}`;

async function enter() {
  const data = await call(ACCOUNT);
  const customer = data.viewer;
  if (!customer?.devices) return end('This dashboard is for customers. Operators use the console.');
  state.assistance = data.assistance;
  $('who-name').textContent = `${customer.firstName} ${customer.lastName}`;
  $('who').hidden = false;
  $('sign-out').hidden = Boolean(state.assistance); // while assisting, "End assistance" signs out
  renderDevices(customer.devices);
  renderActivity(customer);
  showBanner();
  showSection('account');
  watchAccount();
}

async function refreshActivity() {
  const data = await call(ACCOUNT);
  renderActivity(data.viewer);
}

function showBanner() {
  const a = state.assistance;
  $('assist-banner').hidden = !a;
  clearInterval(state.countdown);
  if (!a) return;
  $('assist-operator').textContent = a.operator.name;
  $('assist-reason').textContent = a.reason;
  const tick = () => {
    const left = Math.max(0, Math.round((new Date(a.expiresAt) - Date.now()) / 1000));
    $('assist-left').textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
    if (left === 0) end('The assistance has ended: its time ran out.');
  };
  tick();
  state.countdown = setInterval(tick, 1000);
}

function renderDevices(devices) {
  if (!devices.length) {
    $('devices').replaceChildren(h('p', { class: 'hint' }, 'No devices yet.'));
    return;
  }
  $('devices').replaceChildren(...devices.map((d, i) => deviceForm(d, `device-${i}`)));
}

function deviceForm(device, prefix) {
  const field = (label, name, control) => h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
  const saved = h('p', { class: 'saved', role: 'status' });
  const title = h('h3', { id: `${prefix}-title` }, device.name);
  const form = h('form', { class: 'card', 'aria-labelledby': `${prefix}-title`, novalidate: true },
    title,
    h('p', { class: 'device-meta' }, `${device.model} · ${device.online ? 'online' : 'offline'}`, deviceIDs(device)),
    field('Name', 'name', h('input', { id: `${prefix}-name`, name: 'name', value: device.name, maxlength: 64, required: true })),
    field('Target temperature (°C)', 'settings.targetTemperature', h('input', {
      id: `${prefix}-temperature`, name: 'settings.targetTemperature', type: 'number', min: 5, max: 35, step: 0.5,
      value: device.settings.targetTemperature,
    })),
    field('Mode', 'settings.mode', h('select', { id: `${prefix}-mode`, name: 'settings.mode' },
      MODES.map((m) => h('option', { value: m, selected: m === device.settings.mode }, m.charAt(0) + m.slice(1).toLowerCase())))),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'settings.notifications', checked: device.settings.notifications }), 'Notifications'),
    h('p', { class: 'form-error', role: 'alert' }),
    saved,
    h('button', { type: 'submit' }, 'Save'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    saved.textContent = '';
    const el = form.elements;
    const input = {
      deviceId: device.id,
      name: el.namedItem('name').value.trim(),
      settings: {
        targetTemperature: Number(el.namedItem('settings.targetTemperature').value),
        mode: el.namedItem('settings.mode').value,
        notifications: el.namedItem('settings.notifications').checked,
      },
    };
    await busy(form, async () => {
      try {
        const data = await call(`mutation($input: UpdateDeviceInput!) {
          updateDevice(input: $input) { device { id name } userErrors { field message code } } }`, { input });
        const payload = data.updateDevice;
        if (payload.userErrors.length) return showErrors(form, payload.userErrors);
        title.textContent = payload.device.name;
        saved.textContent = 'Saved.';
        if (state.assistance) refreshActivity();
      } catch (err) {
        formError(form, err.message);
      }
    });
  });
  return form;
}

const BY = { CUSTOMER: ' by you', SUPPORT: ' by support', SYSTEM: ' automatically', UNKNOWN: '' };
const STATES = { ACTIVE: 'still running', ENDED: 'ended', EXPIRED: 'time ran out', REVOKED: 'ended by the system' };

/** Shows the account's recent activity and every remote assistance with what it changed. */
function renderActivity({ activity, accessHistory }) {
  const recent = activity.edges.map(({ node: a }) => h('li', {},
    `${formatTime(a.at)}: ${activityLabel(a.action)}${BY[a.by] ?? ''}${a.outcome === 'failure' ? ' (failed)' : ''}`));
  $('recent').replaceChildren(...(recent.length ? recent : [h('li', { class: 'hint' }, 'Nothing yet.')]));
  if (!accessHistory.length) {
    $('activity').replaceChildren(h('li', { class: 'hint' }, 'Support has not accessed your account.'));
    return;
  }
  $('activity').replaceChildren(...accessHistory.map(({ assistSession: a, changes }) => h('li', { class: 'card' },
    h('p', {}, h('strong', {}, a.operator.name), ` assisted you on ${formatTime(a.startedAt)}`,
      a.endedAt ? ` until ${formatTime(a.endedAt)}` : '', ` (${STATES[a.state] || a.state}).`),
    h('p', { class: 'hint' }, `Reason: ${a.reason}`),
    changes.length
      ? h('ul', {}, changes.map((c) => h('li', {}, `${formatTime(c.at)}: ${activityLabel(c.action).toLowerCase()}`)))
      : h('p', { class: 'hint' }, 'Nothing was changed.'))));
}

// ---- Download my data ----

const EXPORT_FILE = 'my-data.json';

$('download-data').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  $('download-error').textContent = '';
  $('download-status').textContent = 'Preparing your data…';
  button.disabled = true;
  try {
    const data = await call('{ viewer { ... on Customer { dataExport } } }');
    const url = URL.createObjectURL(new Blob([data.viewer.dataExport], { type: 'application/json' }));
    const link = h('a', { href: url, download: EXPORT_FILE, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download has long started by then
    $('download-status').textContent = `Your data is downloaded as ${EXPORT_FILE}.`;
  } catch (err) {
    $('download-status').textContent = '';
    $('download-error').textContent = `Your data could not be downloaded: ${err.message}`;
  } finally {
    button.disabled = false;
    if (document.activeElement === document.body && !button.closest('[hidden]')) button.focus();
  }
});

// ---- Live account events ----

function watchAccount() {
  state.unsubscribe?.();
  state.unsubscribe = subscribe('subscription { accountEvents { type status } }', {}, {
    token: state.token,
    onData: ({ accountEvents: e }) => {
      if (e.type === 'STATUS_CHANGED' && e.status === 'DISABLED') end(DISABLED_MESSAGE, true);
      else if (e.type === 'PASSWORD_RESET') end('Support set a new password for your account. Sign in with it.');
      else if (e.type === 'CUSTOMER_DELETED') end('Your account has been deleted, with its devices and personal data.', true);
      else if (e.type === 'ASSIST_ENDED' && state.assistance) end('The assistance has ended.');
      else if (e.type === 'ASSIST_STARTED' || e.type === 'ASSIST_ENDED') refreshActivity().catch(() => {});
    },
    onReconnect: () => enter().catch(() => {}),
    onEnd: (code) => {
      if (code === CLOSE_FORBIDDEN) end(DISABLED_MESSAGE, true);
      else end(state.assistance ? 'The assistance has ended.' : 'Your session has ended. Sign in again.');
    },
  });
}

// ---- Tabs (arrow keys move between them) ----

const tabs = [$('tab-devices'), $('tab-activity')];
function selectTab(tab) {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute('aria-selected', String(selected));
    t.tabIndex = selected ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !selected;
  }
  tab.focus();
}
for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab));
  tab.addEventListener('keydown', (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step) selectTab(tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length]);
  });
}

// ---- Start ----

const ticket = new URLSearchParams(location.hash.slice(1)).get('assist');
if (ticket) redeem(ticket);
else if (state.token) enter().catch((err) => { $('notice').textContent = err.message; });
else end('');
