// The password strength meter of every password form: the server's own
// policy and estimator (checkPassword: zxcvbn with the account's context
// words), asked as the person types, shown and announced under the field.
import { request } from './gql.js';
import { h } from './ui.js';

const CHECK = `mutation($input: CheckPasswordInput!) {
  checkPassword(input: $input) { acceptable score minScore warning suggestions userErrors { field code message } } }`;

/** How long typing must pause before the password is rated (ms). */
const PAUSE = 300;

const LEVELS = ['Too easy to guess', 'Very easy to guess', 'Easy to guess', 'Strong enough', 'Very strong'];

/**
 * Rates input's value as the person types, after each PAUSE, with
 * checkPassword and context() (the rest of its CheckPasswordInput: `for`
 * and the account's fields), as token() (the session's, or '' for sign-up
 * and setup links). The feedback goes to a live region under the field,
 * which describes it; it empties with the field and when the form resets.
 * A rating that fails (offline, rate-limited), or that refuses a context
 * field rather than the password (a name too long), shows nothing: the
 * form's own submit answers with the same rules. contextFields are the
 * form's inputs that context() reads (names, email, company): a change to
 * one rates the password again after the same PAUSE, so the meter never
 * says "Very strong" for a password that the name typed afterwards makes
 * CONTEXT_WORD.
 */
export function watchPassword(input, context, token = () => '', contextFields = []) {
  const out = h('p', { class: 'strength', id: `${input.id}-strength`, 'aria-live': 'polite' });
  input.closest('.field').append(out);
  input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${out.id}`.trim());
  let timer = 0;
  let pending = null;
  // aria-busy marks the live region while a rating is due (WAI-ARIA 1.2:
  // assistive technology waits for the update), and lets a script wait for
  // the feedback to land before it acts on the form.
  const settled = () => out.removeAttribute('aria-busy');
  const clear = () => {
    settled();
    clearTimeout(timer);
    pending?.abort();
    out.replaceChildren();
    delete out.dataset.score;
    delete out.dataset.acceptable;
  };
  const rate = async () => {
    pending?.abort();
    const password = input.value;
    if (!password) return clear();
    const controller = new AbortController();
    pending = controller;
    try {
      const data = await request(CHECK, { input: { ...context(), password } }, { token: token(), signal: controller.signal });
      if (controller.signal.aborted || input.value !== password) return; // a newer rating is due
      show(data.checkPassword);
      settled();
    } catch {
      if (controller.signal.aborted) return;
      out.replaceChildren();
      settled();
    }
  };
  const show = (r) => {
    const refusal = r.userErrors[0];
    if (refusal && refusal.field?.at(-1) !== 'password') return out.replaceChildren();
    out.dataset.score = String(r.score);
    out.dataset.acceptable = String(r.acceptable);
    const level = `${LEVELS[r.score]}${r.acceptable ? '' : ', not accepted'}`;
    const tips = r.acceptable ? [] : [refusal?.message || r.warning, ...r.suggestions];
    out.replaceChildren(
      h('span', { class: 'strength-bar', 'aria-hidden': 'true' }, h('span', { style: `width: ${(r.score + 1) * 20}%` })),
      h('strong', {}, `Strength: ${level}.`), ...tips.filter(Boolean).map((tip) => ` ${tip.endsWith('.') ? tip : `${tip}.`}`));
  };
  const later = () => {
    clearTimeout(timer);
    if (!input.value) return clear();
    out.setAttribute('aria-busy', 'true');
    timer = setTimeout(rate, PAUSE);
  };
  input.addEventListener('input', later);
  for (const field of contextFields) field.addEventListener('input', () => { if (input.value) later(); });
  input.form?.addEventListener('reset', clear);
  return { clear };
}
