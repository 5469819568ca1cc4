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
  const controls = [...form.querySelectorAll('button, input, select, textarea')].filter((c) => !c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    controls.forEach((c) => { c.disabled = false; });
    form.removeAttribute('aria-busy');
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid && form.offsetParent !== null && !form.querySelector('[aria-invalid="true"]:focus')) invalid.focus();
  }
}

/** Announces text to screen readers (and shows it) in the page's status line. */
export function announce(text) {
  const status = document.getElementById('status');
  status.textContent = text;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Formats an RFC 3339 time for people. */
export const formatTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '');

const ACTIVITY = {
  authn_login_success: 'Signed in', authn_login_fail: 'Failed sign-in attempt', authn_logout: 'Signed out',
  authn_password_change: 'Password changed', authn_password_reset: 'Password reset', user_disabled: 'Account disabled',
  user_enabled: 'Account enabled', user_updated: 'Details corrected', device_updated: 'Device changed', assist_started: 'Remote assistance started',
  assist_redeemed: 'Remote assistance opened', assist_ended: 'Remote assistance ended',
};

/** A sentence for an audit action of Customer.activity. */
export const activityLabel = (action) => ACTIVITY[action] || action;

/** "Active" / "Disabled" for an AccountStatus. */
export const statusLabel = (status) => status.charAt(0) + status.slice(1).toLowerCase();

/**
 * Wires a sign-in form (domain, email, password; the same on every page):
 * sends `mutation` with them as $input, shows its userErrors at the fields,
 * and hands a successful payload (the mutation's root field) and the input to
 * onSignedIn. plain replaces the API's message of a code with the page's own.
 */
export function handleSignIn(form, mutation, onSignedIn, plain = {}) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const input = { domain: form.domain.value.trim(), email: form.email.value.trim(), password: form.password.value };
    await busy(form, async () => {
      try {
        const data = await request(mutation, { input });
        const payload = Object.values(data)[0];
        if (payload.userErrors.length) return showErrors(form, payload.userErrors.map((e) => ({ ...e, message: plain[e.code] || e.message })));
        form.password.value = '';
        await onSignedIn(payload, input);
      } catch (err) {
        formError(form, err.message);
      }
    });
  });
}
