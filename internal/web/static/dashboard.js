// The customer dashboard: sign-in, devices, account activity, and remote
// assistance (an operator acting as the customer, with a banner on every view).
import { request, subscribe, errorCode, CLOSE_FORBIDDEN } from './gql.js';
import { watchPassword } from './strength.js';
import {
  h, showSection, showErrors, clearErrors, formError, busy, announce, formatTime, handleSignIn, activityLabel, deviceIDs,
  requireFilled, focusMainHeading, firstName, deviceTokenKey, coalesced, nameAccount,
} from './ui.js';

const TOKEN_KEY = 'bff.dashboard.token';
const DOMAIN_KEY = 'bff.dashboard.domain';
const DEVICE_KEY = 'bff.dashboard.device'; // + the account: its device token (ui.js deviceTokenKey)
// Where this tab's signed-in account keeps its device token (the localStorage key, not the token):
// a password change hands out a new one for it.
const ACCOUNT_DEVICE_KEY = 'bff.dashboard.deviceKey';
const MODES = ['OFF', 'HEAT', 'COOL', 'AUTO', 'ECO'];
const DISABLED_MESSAGE = 'Support has disabled this account, so you are signed out. Contact support if you think this is a mistake.';

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  assistance: null, // the remote assistance this tab runs in, if any
  asking: null, // the request for the customer's agreement the prompt shows
  askQueue: [], // requests that came while the prompt showed another: [{ a, mode }], oldest first
  running: new Map(), // the customer's own view: assistance id -> { a, actions: [what support did, newest last] }
  watchAssist: null, // the assisted tab: its assistSessionChanged subscription
  unsubscribe: null,
  profile: null, // the details the profile form was last given: { firstName, lastName, phone, version }
  deletingAccount: false, // the customer's own deleteAccount is on its way
  eventsSeen: 0, // account events received: a read during which one came is read again (showAccount)
  countdown: null,
  // The temporary password just typed to sign in, while it must be changed: kept in this page's
  // memory only (never in storage), so the change form need not ask for it again. After a reload
  // the form asks for it.
  temporaryPassword: '',
};

// ---- Session ----

async function call(query, variables, options = {}) {
  try {
    return await request(query, variables, { token: state.token, ...options });
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ACCOUNT_DISABLED') end(DISABLED_MESSAGE, true);
    else if (code === 'UNAUTHENTICATED') end(state.assistance ? 'The assistance has ended. You can close this tab.' : 'Your session has ended. Sign in again.');
    else if (code === 'PASSWORD_CHANGE_REQUIRED') askNewPassword(state.temporaryPassword);
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
  state.temporaryPassword = '';
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ACCOUNT_DEVICE_KEY); // signed out: the tab no longer points at an account's device token
  $('assist-banner').hidden = true;
  $('support-banner').replaceChildren();
  state.watchAssist?.();
  state.watchAssist = null;
  state.running.clear();
  state.asking = null;
  state.askQueue = [];
  if ($('assist-request').open) $('assist-request').close();
  $('assist-live').hidden = true;
  $('assist-live-list').replaceChildren();
  state.profile = null;
  nameAccount('');
  for (const form of [$('change-form'), $('password-form'), $('delete-form'), $('profile-form')]) {
    form.reset();
    clearErrors(form);
  }
  $('password-saved').textContent = '';
  $('profile-saved').textContent = '';
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
  const params = new URLSearchParams(location.search);
  const linked = params.get('company')?.trim() || ''; // a link from support (/dashboard?company=demo) names the company
  $('sign-in-domain').value = linked || localStorage.getItem(DOMAIN_KEY) || params.get('domain') || '';
  showLinkedCompany('');
  showSection('sign-in');
  if (linked) nameLinkedCompany(linked);
  offerSignUp();
}

/**
 * Names the company of a link once the server knows it: the page shows the company's own name,
 * never the link's text (anyone can write a link, and a sentence in it would read as the site's).
 * A link to no company leaves the field empty; if the server cannot say, the field stays as it is.
 */
async function nameLinkedCompany(linked) {
  let name;
  try {
    name = (await call('query($d: String!) { companyName(domain: $d) }', { d: linked })).companyName;
  } catch {
    return;
  }
  if ($('sign-in-domain').value.trim() !== linked) return; // typed over meanwhile
  if (name) showLinkedCompany(name);
  else $('sign-in-domain').value = '';
}

/** With a company from the link, its field is filled and hidden: the company is named, with a way to change it. */
function showLinkedCompany(company) {
  $('sign-in-company').hidden = !company;
  $('sign-in-company-name').textContent = company;
  $('sign-in-domain-field').hidden = Boolean(company);
}
$('sign-in-company-change').addEventListener('click', () => {
  showLinkedCompany('');
  $('sign-in-domain').select();
  $('sign-in-domain').focus();
});

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

// "Create an account" is a step in the browser's history, so that a phone's Back returns to the
// sign-in form rather than leaving the dashboard.
$('sign-up-link').addEventListener('click', (event) => {
  event.preventDefault();
  $('sign-up-domain').value = $('sign-in-domain').value.trim();
  history.pushState({ view: 'sign-up' }, '', '#sign-up');
  showSection('sign-up');
  $('sign-up-first').focus();
});
$('sign-in-link').addEventListener('click', (event) => {
  event.preventDefault();
  if (history.state?.view === 'sign-up') history.back(); // popstate shows the sign-in form
  else showSection('sign-in');
});
window.addEventListener('popstate', () => {
  if (!$('sign-up').hidden && history.state?.view !== 'sign-up') {
    showSection('sign-in');
    $('sign-in-email').focus();
  }
});

$('sign-up-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!requireFilled(form, ['domain', 'firstName', 'lastName', 'email', 'password'])) return;
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
      history.replaceState(null, '', location.pathname + location.search); // signed up: Back no longer leads to the form
      nameAccount(input.email);
      await enter();
      announce('Your account is ready.');
      focusMainHeading();
    } catch (err) {
      formError(form, err.message);
    }
  });
});

handleSignIn($('sign-in-form'), `mutation($input: LoginInput!) {
  login(input: $input) { token deviceToken mustChangePassword userErrors { field message code } } }`, async (payload, input) => {
  state.token = payload.token;
  sessionStorage.setItem(TOKEN_KEY, state.token);
  sessionStorage.setItem(ACCOUNT_DEVICE_KEY, deviceTokenKey(DEVICE_KEY, input.domain, input.email));
  localStorage.setItem(DOMAIN_KEY, input.domain);
  $('notice').textContent = '';
  nameAccount(input.email);
  if (payload.mustChangePassword) return askNewPassword(input.password);
  await enter();
}, {}, DEVICE_KEY);

// ---- Strength meters: the server's password policy as the person types (strength.js) ----

watchPassword($('sign-up-password'), () => {
  const form = $('sign-up-form');
  return { for: 'SIGN_UP', domain: form.domain.value, firstName: form.firstName.value, lastName: form.lastName.value, email: form.email.value };
}, () => '', ['domain', 'firstName', 'lastName', 'email'].map((name) => $('sign-up-form')[name]));
watchPassword($('change-new'), () => ({ for: 'SELF' }), () => state.token);
watchPassword($('password-new'), () => ({ for: 'SELF' }), () => state.token);

// ---- Changing the password: forced after support set a temporary one, or by choice ----

/**
 * Shows the forced change: the session may do nothing else (the API answers
 * PASSWORD_CHANGE_REQUIRED). current is the temporary password typed in this
 * tab to sign in, or '' after a reload: then the form asks for it.
 */
function askNewPassword(current) {
  state.temporaryPassword = current;
  const form = $('change-form');
  if (!$('change-password').hidden) return; // already asking
  form.reset();
  clearErrors(form);
  $('change-current-field').hidden = Boolean(current);
  $('who').hidden = true;
  showSection('change-password');
  (current ? $('change-new') : $('change-current')).focus();
}

/**
 * Sends form's new password (its confirmation checked here first, at the
 * field) with currentPassword; plain replaces the API's message of a code.
 * The session's new token replaces the old one. Returns true once changed.
 */
async function sendNewPassword(form, currentPassword, plain = {}) {
  if (form.newPassword.value !== form.confirmPassword.value) {
    showErrors(form, [{ field: ['confirmPassword'], message: 'This differs from the new password above. Type the new password again.' }]);
    return false;
  }
  return busy(form, async () => {
    try {
      const data = await call(`mutation($input: ChangePasswordInput!) {
        changePassword(input: $input) { token deviceToken userErrors { field message code } } }`,
      { input: { currentPassword, newPassword: form.newPassword.value } });
      const payload = data.changePassword;
      if (payload.userErrors.length) {
        showErrors(form, payload.userErrors.map((e) => ({ ...e, message: plain[e.code] || e.message })));
        return false;
      }
      state.token = payload.token;
      sessionStorage.setItem(TOKEN_KEY, state.token);
      // The change ended this device's token with the other sessions: keep the new one.
      const deviceKey = sessionStorage.getItem(ACCOUNT_DEVICE_KEY);
      if (deviceKey && payload.deviceToken) localStorage.setItem(deviceKey, payload.deviceToken);
      return true;
    } catch (err) {
      if (form.offsetParent !== null) formError(form, err.message); // else the page has signed out and says why
      return false;
    }
  });
}

$('change-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const known = state.temporaryPassword;
  if (!requireFilled(form, known ? ['newPassword', 'confirmPassword'] : ['currentPassword', 'newPassword', 'confirmPassword'])) return;
  const changed = await sendNewPassword(form, known || form.currentPassword.value, {
    SAME_PASSWORD: 'This is the temporary password support gave you. Choose a new one of your own.',
    INVALID_CREDENTIALS: 'This is not the temporary password support gave you. Type it as you received it.',
  });
  if (!changed) {
    if (form.querySelector('#change-current[aria-invalid="true"]')) { // the one in memory was wrong: ask for it
      state.temporaryPassword = '';
      $('change-current-field').hidden = false;
      $('change-current').focus();
    }
    return;
  }
  state.temporaryPassword = '';
  form.reset();
  await enter();
  announce('Your new password is saved. Use it from now on.');
  focusMainHeading();
});
$('change-sign-out').addEventListener('click', () => signOut('You are signed out. Sign in again with the temporary password to choose your own.'));

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  $('password-saved').textContent = '';
  if (!requireFilled(form, ['currentPassword', 'newPassword', 'confirmPassword'])) return;
  const changed = await sendNewPassword(form, form.currentPassword.value, {
    SAME_PASSWORD: 'This is your current password. Choose a new one.',
    INVALID_CREDENTIALS: 'This is not your current password. Type the one you signed in with.',
  });
  if (!changed) return;
  watchAccount(); // the old session's socket closes: listen with the new one
  form.reset();
  $('password-saved').textContent = 'Your new password is saved. You are signed out everywhere else: sign in there with the new one.';
});

// ---- Your details ----

const PROFILE_FIELDS = ['firstName', 'lastName', 'phone'];
const PROFILE_LABELS = { firstName: 'first name', lastName: 'last name', phone: 'phone' };

/**
 * Shows the customer's name and details. The form takes the new values, except a field the customer
 * has typed in since they were shown (a change from support arriving meanwhile does not undo typing).
 */
function showProfile(customer) {
  const form = $('profile-form');
  const before = state.profile;
  state.profile = { firstName: customer.firstName, lastName: customer.lastName, phone: customer.phone, version: customer.version };
  $('who-name').textContent = `${customer.firstName} ${customer.lastName}`;
  $('who-name').title = $('who-name').textContent; // the header shows two lines of it at most
  $('profile-email').textContent = customer.email;
  nameAccount(customer.email);
  const kept = [];
  for (const name of PROFILE_FIELDS) {
    if (!before || form[name].value === before[name]) form[name].value = state.profile[name];
    else if (before[name] !== state.profile[name]) kept.push(`${PROFILE_LABELS[name]} "${state.profile[name]}"`);
  }
  // Typed over a value that changed meanwhile: say so, or a save would overwrite it unseen.
  if (kept.length) formError(form, `Changed elsewhere meanwhile: ${kept.join(', ')}. Saving keeps what you typed here.`);
}

$('profile-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  $('profile-saved').textContent = '';
  if (!requireFilled(form, ['firstName', 'lastName'])) return;
  await busy(form, async () => {
    try {
      let payload = await sendProfile(form);
      if (payload.userErrors.some((e) => e.code === 'CONFLICT')) {
        const before = state.profile;
        await refreshProfile(); // changed meanwhile (support, another tab): what was typed stays
        // The version also moves with what this form does not show (a password change, here or by
        // support): when the details themselves are as they were, the save goes through as typed.
        if (PROFILE_FIELDS.some((name) => state.profile[name] !== before[name])) {
          formError(form, 'Your details were changed elsewhere meanwhile: check them and save again.');
          return;
        }
        payload = await sendProfile(form);
      }
      if (payload.userErrors.length) return showErrors(form, payload.userErrors);
      state.profile = null; // the form shows what is saved
      showProfile(payload.customer);
      $('profile-saved').textContent = payload.changed ? 'Your details are saved.' : 'Nothing to save: your details are as shown.';
    } catch (err) {
      if (form.offsetParent !== null) formError(form, err.message);
    }
  });
});

/** Saves the fields of form that differ from what it was given, at that version; returns the payload. */
async function sendProfile(form) {
  const input = { version: state.profile.version };
  for (const name of PROFILE_FIELDS) if (form[name].value !== state.profile[name]) input[name] = form[name].value;
  const data = await call(`mutation($input: UpdateProfileInput!) {
    updateProfile(input: $input) { changed customer { firstName lastName email phone version } userErrors { field message code } } }`, { input });
  return data.updateProfile;
}

/** Reads the customer's details again (a change by support, or a conflict) and shows them. */
const refreshProfile = coalesced(async () => {
  const data = await call('{ viewer { ... on Customer { firstName lastName email phone version } } }');
  if (data.viewer) showProfile(data.viewer);
});

const OWN_DELETION = 'Your account is deleted, with its devices and personal data. You are signed out.';

/** Signs out saying who deleted the account: this tab or another of the customer's, or support. */
function accountDeleted(e) {
  if (state.assistance) end('The account has been deleted: the assistance has ended. You can close this tab.');
  else if (state.deletingAccount || e.byCustomer) end(OWN_DELETION);
  else end('Your account has been deleted by support, with its devices and personal data. You are signed out.', true);
}

$('delete-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (!requireFilled(form, ['currentPassword'])) return;
  state.deletingAccount = true; // the socket may hear of it first: CUSTOMER_DELETED is this page's own
  const deleted = await busy(form, async () => {
    try {
      const data = await call(`mutation($input: DeleteAccountInput!) {
        deleteAccount(input: $input) { deletedCustomerId userErrors { field message code } } }`,
      { input: { currentPassword: form.currentPassword.value } });
      const payload = data.deleteAccount;
      if (payload.userErrors.length) {
        showErrors(form, payload.userErrors.map((e) => ({
          ...e, message: e.code === 'INVALID_CREDENTIALS' ? 'This is not your current password. Type the one you signed in with.' : e.message })));
        return false;
      }
      return true;
    } catch (err) {
      if (form.offsetParent !== null) formError(form, err.message); // else the page has signed out and says why
      return false;
    }
  });
  state.deletingAccount = false;
  if (!deleted) return;
  const deviceKey = sessionStorage.getItem(ACCOUNT_DEVICE_KEY);
  if (deviceKey) localStorage.removeItem(deviceKey); // the account's device token went with it
  end(OWN_DELETION);
});

async function signOut(message) {
  try { await call('mutation { logout { success } }'); } catch { /* signed out locally either way */ }
  end(message);
}
$('sign-out').addEventListener('click', () => signOut('You are signed out.'));
$('end-assist').addEventListener('click', () => signOut('Assistance ended. You can close this tab.'));

// ---- Remote assistance the customer can trust: asked, shown live, ended by the customer ----

/** Handles an account event about an assistance in the customer's own view; false for any other. */
function assistEvent(e) {
  const a = e.assistSession;
  if (state.assistance || !a) return false;
  switch (e.type) {
    case 'ASSIST_REQUESTED':
      ask(a, e.assistMode);
      return true;
    case 'ASSIST_ANSWERED':
      closePrompt(a);
      showRunning(a);
      return true;
    case 'ASSIST_ACTION': {
      const run = showRunning(a);
      if (run) {
        run.actions.push(`${formatTime(e.occurredAt)}: ${a.operator.name} ${e.action}`);
        renderRunning();
      }
      return true;
    }
    case 'ASSIST_STARTED':
    case 'ASSIST_ENDED':
      closePrompt(a);
      showRunning(a);
      return false; // the activity is read again too
  }
  return false;
}

/** On entering, running assistance shows in the live panel and a request still awaiting the customer's answer is asked again. */
function askIfPending(accessHistory) {
  for (const { assistSession: a, changes } of accessHistory) {
    const run = showRunning(a);
    if (run && !run.actions.length) { // what it did before this page opened, as the activity says it
      run.actions = changes.map((c) => `${formatTime(c.at)}: ${a.operator.name}: ${activityLabel(c.action).toLowerCase()}`);
      renderRunning();
    }
    if (a.request?.state === 'PENDING' && new Date(a.request.expiresAt) > Date.now()) ask(a, a.request.mode);
  }
}

const asks = (mode) => (mode === 'VIEW' ? 'to see your dashboard as you see it (view only)' : 'to act in your account for you (control)');

/**
 * Shows the consent prompt for request a, asking for mode. The prompt shows one request at a time
 * and its words never change under the customer's cursor: a request that comes while another shows
 * waits in state.askQueue and shows once that one is answered, withdrawn or expired.
 */
function ask(a, mode) {
  if (state.asking && state.asking.id !== a.id) {
    if (!state.askQueue.some((q) => q.a.id === a.id)) state.askQueue.push({ a, mode });
    return;
  }
  state.asking = a;
  $('assist-request-text').textContent = `${firstName(a.operator.name)} from support asks ${asks(mode)}. Reason: ${a.reason}`;
  $('assist-request-left').textContent = `If you do not answer by ${formatTime(a.request?.expiresAt || a.expiresAt)}, the request expires.`;
  if (!$('assist-request').open) $('assist-request').showModal();
}

/**
 * Request a no longer waits (answered here or elsewhere, expired or withdrawn): it leaves the queue
 * or, when the prompt shows it, the prompt closes and shows the next request still waiting.
 */
function closePrompt(a) {
  state.askQueue = state.askQueue.filter((q) => q.a.id !== a.id);
  if (state.asking?.id !== a.id) return;
  state.asking = null;
  if ($('assist-request').open) $('assist-request').close();
  const said = { APPROVED: 'allowed', DECLINED: 'declined', EXPIRED: 'expired', WITHDRAWN: 'withdrawn' }[a.request?.state];
  if (said && a.request.state !== 'APPROVED' && a.request.state !== 'DECLINED') announce(`The request from ${a.operator.name} ${said}.`);
  const waiting = state.askQueue.filter((q) => new Date(q.a.request?.expiresAt || q.a.expiresAt) > Date.now());
  state.askQueue = waiting.slice(1);
  if (waiting.length) ask(waiting[0].a, waiting[0].mode);
}

async function answer(approve) {
  const a = state.asking;
  if (!a) return;
  try {
    const data = await call(`mutation($id: ID!, $approve: Boolean!) {
      respondToAssistRequest(input: {assistSessionId: $id, approve: $approve}) { assistSession { ${ASSIST_FIELDS} } userErrors { message } } }`,
    { id: a.id, approve });
    const payload = data.respondToAssistRequest;
    closePrompt(a);
    if (!payload.assistSession) return announce(payload.userErrors[0]?.message || 'The request could not be answered.');
    showRunning(payload.assistSession);
    announce(approve ? `You allowed ${a.operator.name} ${asks(a.request?.mode).replace(/^to /, 'to ')}. You can end it at any time.`
      : `You declined ${a.operator.name}'s request.`);
  } catch (err) {
    closePrompt(a);
    announce(`Your answer could not be sent: ${err.message}`);
  }
}
$('assist-approve').addEventListener('click', () => answer(true));
$('assist-decline').addEventListener('click', () => answer(false));
// Escape is not an answer. Chromium closes a modal dialog on a second Escape whatever the page does:
// a prompt closed while its request still waits opens again (Allow or Decline answer it; left alone,
// it expires after 5 minutes).
$('assist-request').addEventListener('cancel', (event) => event.preventDefault());
$('assist-request').addEventListener('close', () => {
  if (state.asking) setTimeout(() => { if (state.asking && !$('assist-request').open) $('assist-request').showModal(); });
});

/** Keeps the live panel of running assistance in step with a; returns its entry while it runs. */
function showRunning(a) {
  const running = a.state === 'ACTIVE' && new Date(a.expiresAt) > Date.now();
  const run = state.running.get(a.id);
  if (!running) {
    if (run) { state.running.delete(a.id); renderRunning(); }
    return null;
  }
  if (run) run.a = a;
  else state.running.set(a.id, { a, actions: [] });
  renderRunning();
  return state.running.get(a.id);
}

/** Draws the live panel: each running assistance, what it may do, what was done, and its End button. */
function renderRunning() {
  const runs = [...state.running.values()];
  $('assist-live').hidden = runs.length === 0;
  $('assist-live-list').replaceChildren(...runs.map(({ a, actions }) => h('div', { class: 'assist-run' },
    h('p', {}, h('strong', {}, a.operator.name), ` (${a.mode === 'VIEW' ? 'view only' : 'with control'}), until ${formatTime(a.expiresAt)}. Reason: ${a.reason}`),
    actions.length
      ? h('ul', { class: 'assist-actions', 'aria-label': `What ${a.operator.name} did` }, actions.map((t) => h('li', {}, t)))
      : h('p', { class: 'hint' }, 'Nothing changed yet; each change shows here as it happens.'),
    h('button', { type: 'button', class: 'danger', onclick: () => endAssistance(a) }, 'End assistance'))));
}

async function endAssistance(a) {
  try {
    await call(`mutation($id: ID!) { endAssist(input: {assistSessionId: $id}) { assistSession { ${ASSIST_FIELDS} } } }`, { id: a.id });
    state.running.delete(a.id);
    renderRunning();
    announce(`You ended ${a.operator.name}'s assistance: their access stopped at once.`);
  } catch (err) {
    announce(`The assistance could not be ended: ${err.message}`);
  }
}

// Control given at once (the domain's assistConsent is NONE): no request, nobody asked.
const NO_AGREEMENT_NEEDED = 'You have control now: this domain needs no agreement from the customer, who has been told.';

/**
 * The assisted tab: control given, declined or expired, as it happens. It needs no onReconnect:
 * assistSessionChanged starts with the session as it is, so subscribing again (after a lost socket
 * or an unasked `complete`) re-reads it.
 */
function watchOwnAssistance() {
  state.watchAssist?.();
  state.watchAssist = subscribe(`subscription($id: ID!) { assistSessionChanged(assistSessionId: $id) { ${ASSIST_FIELDS} } }`,
    { id: state.assistance.id }, {
      token: state.token,
      onData: ({ assistSessionChanged: a }) => {
        if (!state.assistance) return;
        const was = state.assistance;
        state.assistance = { ...was, ...a };
        const said = a.mode === 'CONTROL' && was.mode === 'VIEW'
          ? (a.request?.state === 'APPROVED' ? 'The customer allowed control: you can make changes now.' : NO_AGREEMENT_NEEDED)
          : a.request?.state === 'DECLINED' && was.request?.state === 'PENDING' ? 'The customer declined control: this assistance stays view only.'
            : a.request?.state === 'EXPIRED' && was.request?.state === 'PENDING' ? 'The customer did not answer: the request for control expired.' : '';
        showBanner();
        if (said) $('assist-control-status').textContent = said;
      },
    });
}

$('request-control').addEventListener('click', async () => {
  const a = state.assistance;
  if (!a) return;
  try {
    const data = await call(`mutation($id: ID!) { requestAssistControl(input: {assistSessionId: $id}) {
      assistSession { ${ASSIST_FIELDS} } userErrors { message } } }`, { id: a.id });
    const payload = data.requestAssistControl;
    if (!payload.assistSession) {
      $('assist-control-status').textContent = payload.userErrors[0]?.message || 'Control could not be asked for.';
      return;
    }
    state.assistance = { ...a, ...payload.assistSession };
    $('assist-control-status').textContent = payload.assistSession.mode === 'CONTROL' ? NO_AGREEMENT_NEEDED : 'Waiting for the customer to allow control…';
    showBanner();
  } catch (err) {
    $('assist-control-status').textContent = err.message;
  }
});

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

// What the dashboard shows of an assistance: who, why, what it may do, the customer's answer awaited.
const ASSIST_FIELDS = 'id reason state mode startedAt expiresAt endedAt endedBy operator { name } request { mode state expiresAt }';

const ACCOUNT = `{
  viewer { ... on Customer { id firstName lastName email phone version
    devices { id name model serialNumber macAddress online settings { targetTemperature mode notifications } }
    activity(first: 20) { edges { node { action by outcome at } } }
    accessHistory { assistSession { ${ASSIST_FIELDS} } changes { action targetType at } } } }
  assistance { ${ASSIST_FIELDS} }
}`;

async function enter() {
  if (!await showAccount()) return;
  watchAccount();
  if (state.assistance) watchOwnAssistance();
}

/**
 * Reads the account and shows it: on entering, and when the live events come back after a loss
 * (what the page missed meanwhile). The read and the events race: a read during which an event
 * came is read again (up to 3 times), so that an answer older than an event does not undo what
 * the event showed. Returns false when the token is not a customer's.
 */
async function showAccount() {
  let data;
  for (let tries = 0; tries < 3; tries++) {
    const seen = state.eventsSeen;
    data = await call(ACCOUNT);
    if (state.eventsSeen === seen) break;
  }
  const customer = data.viewer;
  if (!customer?.devices) {
    end('This dashboard is for customers. Operators use the console.');
    return false;
  }
  state.assistance = data.assistance;
  showProfile(customer);
  $('who').hidden = false;
  $('sign-out').hidden = Boolean(state.assistance); // while assisting, "End assistance" signs out
  for (const own of ['profile', 'password', 'delete-account']) $(own).hidden = Boolean(state.assistance); // the customer's own, not support's
  renderDevices(customer.devices);
  renderActivity(customer);
  showBanner();
  showSection('account');
  if (!state.assistance) askIfPending(customer.accessHistory);
  return true;
}

const refreshActivity = coalesced(async () => {
  const data = await call(ACCOUNT);
  renderActivity(data.viewer);
});

function showBanner() {
  const a = state.assistance;
  $('assist-banner').hidden = !a;
  clearInterval(state.countdown);
  if (!a) return;
  $('assist-operator').textContent = firstName(a.operator.name);
  $('assist-reason').textContent = a.reason;
  $('assist-mode').textContent = a.mode === 'VIEW' ? 'View only.' : 'With control.';
  const asked = a.request?.state === 'PENDING';
  $('request-control').hidden = a.mode !== 'VIEW';
  $('request-control').disabled = asked;
  if (asked) $('assist-control-status').textContent = 'Waiting for the customer to allow control…';
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
  // Support may change the device while this form is open (accountEvents has no event for a device
  // change): a save first reads the device again and, when it changed since the form showed it,
  // says what changed and asks.
  let loaded = deviceValues(device);
  let overwrite = false; // the customer has seen what changed and saves anyway
  const conflict = h('div', { class: 'notice conflict', role: 'alert', hidden: true });
  const el = form.elements;
  const controls = {
    name: el.namedItem('name'), targetTemperature: el.namedItem('settings.targetTemperature'),
    mode: el.namedItem('settings.mode'), notifications: el.namedItem('settings.notifications'),
  };
  const mine = () => ({
    name: controls.name.value.trim(), targetTemperature: Number(controls.targetTemperature.value),
    mode: controls.mode.value, notifications: controls.notifications.checked,
  });
  const show = (values) => {
    controls.name.value = values.name;
    controls.targetTemperature.value = values.targetTemperature;
    controls.mode.value = values.mode;
    controls.notifications.checked = values.notifications;
  };
  form.insertBefore(conflict, saved);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    saved.textContent = '';
    conflict.hidden = true;
    const typed = mine();
    if (!typed.name) return showErrors(form, [{ field: ['name'], message: 'Give the device a name, such as the room it is in.' }]);
    const force = overwrite;
    overwrite = false;
    let newer = null;
    await busy(form, async () => {
      try {
        if (!force) {
          newer = await readDevice(device.id);
          if (newer && DEVICE_FIELDS.every((f) => newer.values[f.key] === loaded[f.key])) newer = null;
          if (newer) return; // asked below, once the form works again
        }
        // Only what the customer changed is sent: a change made meanwhile to another field stays.
        const changed = DEVICE_FIELDS.filter((f) => typed[f.key] !== loaded[f.key]);
        if (!changed.length) {
          saved.textContent = 'Nothing to save: nothing was changed.';
          return;
        }
        const input = { deviceId: device.id };
        for (const f of changed) {
          if (f.key === 'name') input.name = typed.name;
          else (input.settings ??= {})[f.key] = typed[f.key];
        }
        const data = await call(`mutation($input: UpdateDeviceInput!) {
          updateDevice(input: $input) { device { ${DEVICE_SELECTION} } userErrors { field message code } } }`, { input });
        const payload = data.updateDevice;
        if (payload.userErrors.length) return showErrors(form, payload.userErrors);
        loaded = deviceValues(payload.device);
        title.textContent = payload.device.name;
        saved.textContent = 'Saved.';
        if (state.assistance) refreshActivity();
      } catch (err) {
        formError(form, err.message);
      }
    });
    if (!newer) return;
    // Fields the customer left alone take the new values; the customer's own changes stay in the form.
    const theirs = DEVICE_FIELDS.filter((f) => newer.values[f.key] !== loaded[f.key]);
    show({ ...newer.values, ...Object.fromEntries(DEVICE_FIELDS.filter((f) => typed[f.key] !== loaded[f.key]).map((f) => [f.key, typed[f.key]])) });
    const before = loaded;
    loaded = newer.values;
    title.textContent = loaded.name;
    const yours = DEVICE_FIELDS.filter((f) => typed[f.key] !== before[f.key] && typed[f.key] !== loaded[f.key]);
    const saveMine = h('button', { type: 'button', onclick: () => { overwrite = true; form.requestSubmit(); } }, 'Save my changes');
    const keep = h('button', {
      type: 'button', class: 'secondary',
      onclick: () => { show(loaded); conflict.hidden = true; saved.textContent = 'Your changes were set aside: the form shows the device as it is now.'; controls.name.focus(); },
    }, 'Keep theirs');
    conflict.replaceChildren(
      h('p', {}, `${CHANGED_BY[newer.by] || CHANGED_BY.UNKNOWN} changed this device while you were editing: `,
        theirs.map((f) => `${f.label} ${f.show(before[f.key])} → ${f.show(loaded[f.key])}`).join(', '), '.'),
      yours.length
        ? h('p', {}, `Your changes (${yours.map((f) => `${f.label} ${f.show(typed[f.key])}`).join(', ')}) are still in the form. Save them over it, or keep the device as it is now.`)
        : h('p', {}, 'The form shows the device as it is now.'),
      yours.length ? h('div', { class: 'actions' }, saveMine, keep) : '');
    conflict.hidden = false;
    (yours.length ? saveMine : controls.name).focus();
  });
  return form;
}

// What a device form compares and says about a change made while it was open.
const DEVICE_FIELDS = [
  { key: 'name', label: 'name', show: (v) => `“${v}”` },
  { key: 'targetTemperature', label: 'target temperature', show: (v) => `${v} °C` },
  { key: 'mode', label: 'mode', show: (v) => v.charAt(0) + v.slice(1).toLowerCase() },
  { key: 'notifications', label: 'notifications', show: (v) => (v ? 'on' : 'off') },
];
const DEVICE_SELECTION = 'id name settings { targetTemperature mode notifications }';
const deviceValues = (d) => ({ name: d.name, ...d.settings });
const CHANGED_BY = {
  SUPPORT: 'Support', ADMIN: 'An administrator', CUSTOMER: 'You (in another tab or the app)', SYSTEM: 'The service', UNKNOWN: 'Someone',
};

/**
 * Reads a device again, with who changed a device last (the account's activity): { values, by }, or
 * null when the device is gone.
 */
async function readDevice(id) {
  const data = await call(`{ viewer { ... on Customer { devices { ${DEVICE_SELECTION} }
    activity(first: 20) { edges { node { action by } } } } } }`);
  const device = data.viewer.devices.find((d) => d.id === id);
  const last = data.viewer.activity.edges.find(({ node }) => node.action === 'device_updated');
  return device && { values: deviceValues(device), by: last?.node.by || 'UNKNOWN' };
}

const BY = { CUSTOMER: ' by you', SUPPORT: ' by support', ADMIN: ' by an administrator', SYSTEM: ' automatically', UNKNOWN: '' };
const STATES = {
  ACTIVE: 'still running', ENDED: 'ended', EXPIRED: 'time ran out', REVOKED: 'ended by the system',
  PENDING: 'waiting for your answer', DECLINED: 'you declined',
};

const REQUEST_OUTCOMES = { DECLINED: 'you declined', EXPIRED: 'nobody answered in time', WITHDRAWN: 'withdrawn before you answered' };

/**
 * Whether support never got into the account in this assistance: the customer declined, has not
 * answered yet, or the request for the mode it was to have was never agreed to (a view-only
 * assistance whose request for control went unanswered did get in, to look).
 */
const neverEntered = (a) => a.state === 'DECLINED' || a.state === 'PENDING'
  || (a.request && a.request.state !== 'APPROVED' && a.request.mode === a.mode);

/**
 * Says, on every view of the customer's own dashboard, who from support is in the account now
 * (the assistances still running) and why, as the operator told the customer when starting it.
 */
function showSupport(accessHistory) {
  const running = state.assistance ? [] // the operator's own tab has its banner
    : accessHistory.map((r) => r.assistSession).filter((a) => a.state === 'ACTIVE' && new Date(a.expiresAt) > Date.now());
  $('support-banner').replaceChildren(...running.flatMap((a, i) => [i ? ' ' : '',
    h('strong', {}, firstName(a.operator.name)), ` from support is in your account now${a.reason ? `: ${a.reason}` : ''}.`]),
  running.length ? ' What they change shows under Activity; contact support if you did not ask for help.' : '');
}

/** Shows the account's recent activity and every remote assistance with what it changed. */
function renderActivity({ activity, accessHistory }) {
  showSupport(accessHistory);
  const recent = activity.edges.map(({ node: a }) => h('li', {},
    `${formatTime(a.at)}: ${activityLabel(a.action, a.outcome)}${BY[a.by] ?? ''}`));
  $('recent').replaceChildren(...(recent.length ? recent : [h('li', { class: 'hint' }, 'Nothing yet.')]));
  if (!accessHistory.length) {
    $('activity').replaceChildren(h('li', { class: 'hint' }, 'Support has not accessed your account.'));
    return;
  }
  $('activity').replaceChildren(...accessHistory.map(({ assistSession: a, changes }) => h('li', { class: 'card' },
    neverEntered(a)
      ? h('p', {}, h('strong', {}, a.operator.name), ` asked to access your account on ${formatTime(a.startedAt)} (${
        a.state === 'DECLINED' || a.state === 'PENDING' ? STATES[a.state] : REQUEST_OUTCOMES[a.request.state] || a.request.state}).`)
      : h('p', {}, h('strong', {}, a.operator.name), ` assisted you on ${formatTime(a.startedAt)}`,
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
  state.unsubscribe = subscribe(`subscription { accountEvents { type byCustomer status occurredAt action assistMode assistSession { ${ASSIST_FIELDS} } } }`, {}, {
    token: state.token,
    onData: ({ accountEvents: e }) => {
      state.eventsSeen++;
      if (assistEvent(e)) return;
      if (e.type === 'STATUS_CHANGED' && e.status === 'DISABLED') end(DISABLED_MESSAGE, true);
      else if (e.type === 'PASSWORD_RESET') end('Support set a new password for your account. Sign in with it.');
      else if (e.type === 'CUSTOMER_DELETED') accountDeleted(e);
      else if (e.type === 'ASSIST_ENDED' && state.assistance) end('The assistance has ended. You can close this tab.');
      else if (e.type === 'ASSIST_STARTED' || e.type === 'ASSIST_ENDED') refreshActivity().catch(() => {});
      else if (e.type === 'PROFILE_UPDATED') refreshProfile().catch(() => {});
    },
    onReconnect: () => showAccount().catch(() => {}), // the socket is back: its own subscription goes on
    onEnd: (code) => {
      if (code === CLOSE_FORBIDDEN) end(DISABLED_MESSAGE, true);
      else end(state.assistance ? 'The assistance has ended. You can close this tab.' : 'Your session has ended. Sign in again.');
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
  if (tab.id === 'tab-activity') refreshActivity().catch(() => {}); // what this session did since it was read
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
else if (state.token) {
  enter().catch((err) => { // call() has shown what its codes mean (signed out, the forced password change)
    if (!['ACCOUNT_DISABLED', 'UNAUTHENTICATED', 'PASSWORD_CHANGE_REQUIRED'].includes(errorCode(err))) $('notice').textContent = err.message;
  });
}
else end('');
