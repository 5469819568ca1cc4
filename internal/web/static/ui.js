// Small DOM helpers shared by the console, the dashboard and the playground.
import { request } from './gql.js';

/** Builds an element: h('li', { class: 'x', onclick: fn }, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c != null && c !== false));
  return el;
}

/** A device's serial number and MAC address, a line of their own under its model. */
export function deviceIDs(device) {
  return h('span', { class: 'device-ids' },
    h('span', {}, `Serial ${device.serialNumber}`), ' · ', h('span', {}, `MAC ${device.macAddress || 'none'}`));
}

/** Shows only the section with the given id among the page's sections. */
export function showSection(id) {
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== id;
}

/** Removes the error messages a previous submit left on form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('[data-described-by]')) { // back to its hint alone, if any
    if (el.dataset.describedBy) el.setAttribute('aria-describedby', el.dataset.describedBy);
    else el.removeAttribute('aria-describedby');
    delete el.dataset.describedBy;
  }
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  const general = form.querySelector('.form-error');
  if (general) general.textContent = '';
}

/**
 * Shows userErrors at their fields: an input whose name is the error's field
 * path joined with '.' gets aria-invalid and a message it is described by
 * (besides its hint); errors about no known field go to the form's
 * .form-error. Focuses the first field at fault.
 */
export function showErrors(form, userErrors) {
  clearErrors(form);
  let first = null;
  for (const e of userErrors) {
    const input = e.field && form.elements.namedItem(e.field.join('.'));
    if (input instanceof HTMLElement) {
      const id = `${input.id}-error`;
      input.setAttribute('aria-invalid', 'true');
      input.dataset.describedBy ??= input.getAttribute('aria-describedby') || '';
      input.setAttribute('aria-describedby', `${input.dataset.describedBy} ${id}`.trim());
      input.closest('.field').append(h('p', { class: 'field-error', id }, e.message));
      first ??= input;
    } else {
      formError(form, e.message);
    }
  }
  first?.focus();
}

/**
 * Checks that the required fields named in names are filled (trimmed) before
 * anything is sent; an empty one gets its input's data-required message (or
 * "Type your <label>.") at the field, and the first of them the focus.
 * Returns whether every one is filled.
 */
export function requireFilled(form, names) {
  const missing = names.map((name) => form.elements.namedItem(name)).filter((input) => !input.value.trim())
    .map((input) => ({ field: [input.name], message: input.dataset.required || `Type your ${input.labels[0].textContent.toLowerCase()}.` }));
  if (missing.length) showErrors(form, missing);
  return !missing.length;
}

/** Shows a message about the whole form. */
export function formError(form, message) {
  const general = form.querySelector('.form-error');
  general.textContent = general.textContent ? `${general.textContent} ${message}` : message;
}

/**
 * Disables a form's controls while fn runs. A field fn marked invalid
 * (showErrors) could not take the focus while disabled: it gets it once the
 * form works again, if the form still shows.
 */
export async function busy(form, fn) {
  const had = document.activeElement; // the submit button, mostly: disabled, it drops the focus to <body>
  const controls = [...form.querySelectorAll('button, input, select, textarea')].filter((c) => !c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute('aria-busy');
    const invalid = form.querySelector('[aria-invalid="true"]');
    const shown = form.getClientRects().length > 0; // rendered: not hidden, in a dialog or not
    if (invalid && shown && !form.querySelector('[aria-invalid="true"]:focus')) invalid.focus();
    else if (shown && lostFocus() && had instanceof HTMLElement && form.contains(had)) had.focus(); // an error about the whole form
  }
}

/**
 * Gives the hidden username fields of the page's password forms the signed-in account's email, so
 * that password managers tie a changed password to the account (Chromium's "Password forms should
 * have (optionally hidden) username fields"). An empty email clears them (signed out).
 */
export function nameAccount(email) {
  for (const field of document.querySelectorAll('input[autocomplete="username"][hidden]')) {
    field.defaultValue = email; // kept when its form is reset
    field.value = email;
  }
}

/**
 * Returns a function that runs read (async) at most once at a time: called while a run is on its way,
 * it runs read once more after it, however many calls came meanwhile. For re-reads that events ask
 * for: a burst of events costs two reads, not one each.
 */
export function coalesced(read) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await read();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

/** Whether the focus has fallen to <body> (its element was disabled or hidden). */
const lostFocus = () => !document.activeElement || document.activeElement === document.body;

/**
 * Moves the focus to the page's main heading (its h1, focusable with
 * tabindex="-1"), so that a screen reader starts reading where the page
 * starts: after signing in.
 */
export function focusMainHeading() {
  document.querySelector('h1[tabindex="-1"]')?.focus();
}

/** Announces text to screen readers (and shows it) in the page's status line. */
export function announce(text) {
  const status = document.getElementById('status');
  status.textContent = text;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Formats an RFC 3339 time for people. */
export const formatTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '');

// Labels say what happened without saying whether it worked: a page that
// adds "(failed)" to a failure does not double the word ("Sign-in attempt
// (failed)"). activityLabel(action, outcome) says a failure in a sentence.
const ACTIVITY = {
  authn_login_success: 'Signed in', authn_login_fail: 'Sign-in attempt', authn_logout: 'Signed out',
  authn_password_change: 'Password changed', authn_password_reset: 'Password reset', user_created: 'Account created',
  user_disabled: 'Account disabled', user_enabled: 'Account enabled', user_updated: 'Details corrected', device_updated: 'Device changed',
  assist_started: 'Remote assistance started', assist_redeemed: 'Remote assistance opened', assist_ended: 'Remote assistance ended',
  assist_requested: 'Remote assistance asked for', assist_approved: 'Remote assistance allowed', assist_declined: 'Remote assistance declined',
  assist_request_expired: 'Remote assistance request expired', assist_escalated: 'Control of a remote assistance asked for',
  authz_fail: 'Action not allowed', excess_rate_limit_exceeded: 'Requests refused: too many',
  authn_login_lock: 'Sign-ins paused after failed attempts', user_data_exported: "Copy of the account's data downloaded",
  user_deleted: 'Account deleted',
};
const FAILED = {
  authn_login_fail: 'Failed sign-in attempt', authn_password_change: 'Password change refused',
  device_updated: 'Device change refused', authz_fail: 'Not allowed: an action tried',
  excess_rate_limit_exceeded: 'Requests refused: too many', authn_login_lock: 'Sign-ins paused after failed attempts',
  user_deleted: 'Account deletion refused',
};

/**
 * A label for an audit action of Customer.activity; with outcome 'failure',
 * a sentence that says it failed (once).
 */
export const activityLabel = (action, outcome = '') => (outcome === 'failure'
  ? FAILED[action] || `${ACTIVITY[action] || action} (failed)`
  : ACTIVITY[action] || action);

/** The first word of a person's name: "Sam" for "Sam Support", as a customer is told who helps. */
export const firstName = (name) => name.trim().split(/\s+/)[0] || name;

/** "Active" / "Disabled" for an AccountStatus. */
export const statusLabel = (status) => status.charAt(0) + status.slice(1).toLowerCase();

/**
 * Wires a sign-in form (domain, email, password; the same on every page):
 * sends `mutation` with them as $input, shows its userErrors at the fields,
 * and hands a successful payload (the mutation's root field) and the input to
 * onSignedIn. plain replaces the API's message of a code with the page's own.
 * An empty field is caught before anything is sent; once signed in, the focus
 * goes to the page's main heading unless onSignedIn moved it on.
 */
// deviceTokenKey names where a browser keeps the device token of one account: per account (the
// domain and the email as typed, case aside), so that a shared computer gives none of its accounts
// another's exemption.
export function deviceTokenKey(prefix, domain, email) {
  return `${prefix}.${domain.trim().toLowerCase()}\u0000${email.trim().toLowerCase()}`;
}

// handleSignIn signs in with the form's domain, email and password; with devicePrefix, it sends the
// device token kept for that account and keeps the one the server returns (deviceToken, which the
// mutation must select).
export function handleSignIn(form, mutation, onSignedIn, plain = {}, devicePrefix = '') {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!requireFilled(form, ['domain', 'email', 'password'])) return;
    const input = { domain: form.domain.value.trim(), email: form.email.value.trim(), password: form.password.value };
    // The device token this browser got for this account, if any (README: Sign-in protection).
    const deviceKey = devicePrefix && deviceTokenKey(devicePrefix, input.domain, input.email);
    const known = deviceKey && localStorage.getItem(deviceKey);
    let signedIn = false;
    await busy(form, async () => {
      try {
        const data = await request(mutation, { input: known ? { ...input, deviceToken: known } : input });
        const payload = Object.values(data)[0];
        if (payload.userErrors.length) return showErrors(form, payload.userErrors.map((e) => ({ ...e, message: plain[e.code] || e.message })));
        if (deviceKey && payload.deviceToken) localStorage.setItem(deviceKey, payload.deviceToken);
        form.password.value = '';
        await onSignedIn(payload, input);
        signedIn = true;
      } catch (err) {
        formError(form, err.message);
      }
    });
    // Signed in: the page starts at its heading, unless it went on to a next step (a form, a section's heading).
    const active = document.activeElement;
    if (signedIn && form.offsetParent === null && (lostFocus() || !(active.closest('form') || /^H[1-6]$/.test(active.tagName)))) focusMainHeading();
  });
}
