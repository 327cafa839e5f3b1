/** The login form (Basic credentials, or the token server's: the client knows which). */
import { h } from '../dom.js';
import type { RegistryClient } from '../registry-client.js';
import { alertBox, errorMessage } from '../widgets.js';

export function renderLogin(main: HTMLElement, client: RegistryClient, onLoggedIn: () => void): void {
  const username = h('input', { name: 'username', id: 'login-username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', id: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const message = h('div', { class: 'form-message' });
  const form = h(
    'form',
    { 'data-form': 'login', class: 'login card' },
    h('p', { class: 'muted' }, client.scheme === 'bearer' ? 'This registry uses a token server. Log in with your registry account.' : 'This registry needs a user name and password.'),
    h('label', { for: 'login-username' }, 'User name'),
    username,
    h('label', { for: 'login-password' }, 'Password'),
    password,
    message,
    submit,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    message.replaceChildren();
    try {
      await client.login({ username: username.value, password: password.value });
      onLoggedIn();
    } catch (error) {
      message.replaceChildren(alertBox(errorMessage(error)));
      password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });
  main.replaceChildren(form);
  username.focus();
}
