/**
 * The registry browser: finds out how the registry wants callers to log in, shows the login
 * form when needed, then draws the page the address (hash) names. Every page is drawn from
 * scratch on navigation; a page's late answers are dropped once the user has moved on.
 */
import type { UiInfo } from './api-types.js';
import { createConfirmDialog } from './confirm-dialog.js';
import { h, replace } from './dom.js';
import type { PageContext } from './page-context.js';
import { renderImage } from './pages/image.js';
import { renderLogin } from './pages/login.js';
import { renderRepositories } from './pages/repositories.js';
import { renderRepository } from './pages/repository.js';
import { RequestError } from './registry-error.js';
import { RegistryClient } from './registry-client.js';
import { parseRoute, registryBase, repositoriesHash } from './routes.js';
import { alertBox, errorMessage, loading } from './widgets.js';

const client = new RegistryClient(registryBase(location.pathname));
const dialog = createConfirmDialog();
const account = h('div', { class: 'account' });
const badges = h('span', { class: 'badges' });
const main = h('main', { id: 'main', tabindex: -1 });
document.body.append(
  h('a', { href: '#main', class: 'skip-link', onclick: (event: MouseEvent) => (event.preventDefault(), main.focus()) }, 'Skip to content'),
  h('header', { class: 'top' }, h('a', { href: repositoriesHash(), class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Berth'), badges, account),
  main,
  dialog.element,
);

let info: UiInfo | undefined;
/** Bumped on every page draw; a page is current while the number it started with is. */
let drawn = 0;

function setTitle(title: string): void {
  const heading = main.querySelector(':scope > h1') ?? main.insertBefore(h('h1'), main.firstChild);
  heading.textContent = title;
  document.title = `${title} · Berth`;
}

function drawHeader(): void {
  replace(badges, info?.readOnly ? h('span', { class: 'badge', title: 'This registry accepts no pushes or deletes' }, 'read-only') : null);
  if (client.scheme === 'none' || !client.loggedIn) {
    account.replaceChildren();
    return;
  }
  const logout = h('button', { type: 'button', 'data-action': 'logout' }, 'Log out');
  logout.addEventListener('click', () => {
    client.logout();
    info = undefined;
    showLogin();
  });
  replace(account, h('span', { class: 'user', title: 'Logged in as' }, h('span', { 'data-field': 'user' }, info?.user ?? client.username ?? '')), logout);
}

function showLogin(reason?: string): void {
  drawn++;
  info = undefined;
  drawHeader();
  main.replaceChildren();
  setTitle('Log in');
  if (reason) main.append(alertBox(reason));
  const form = h('div');
  main.append(form);
  renderLogin(form, client, () => void start());
}

function draw(): void {
  if (!info) return;
  const id = ++drawn;
  main.replaceChildren();
  main.removeAttribute('aria-busy');
  const context: PageContext = {
    client,
    info,
    main,
    isCurrent: () => id === drawn,
    setTitle,
    confirm: dialog.confirm,
    reload: draw,
  };
  const route = parseRoute(location.hash);
  const rendering = (async () => {
    switch (route.page) {
      case 'repositories':
        return renderRepositories(context, route.q);
      case 'repository':
        return renderRepository(context, route.name);
      case 'image':
        return renderImage(context, route.name, route.digest);
      case 'not-found':
        setTitle('Page not found');
        main.append(h('p', null, 'Nothing lives at this address. ', h('a', { href: repositoriesHash() }, 'See all repositories')));
    }
  })();
  rendering.catch((error: unknown) => {
    if (context.isCurrent()) main.append(alertBox(errorMessage(error)));
  });
}

/** Probe the registry's auth, log in when needed, learn what the user may do, then draw. */
async function start(): Promise<void> {
  drawn++;
  main.replaceChildren(loading('Connecting to the registry…'));
  try {
    await client.probe();
    if (!client.loggedIn) return showLogin();
    info = await client.json<UiInfo>('berth/v1/ui/info');
  } catch (error) {
    if (error instanceof RequestError && error.status === 401) {
      // The stored login no longer works: forget it (and its tokens), or the next start would
      // send it again.
      client.logout();
      return showLogin('Your login was refused. Log in again.');
    }
    const retry = h('button', { type: 'button' }, 'Try again');
    retry.addEventListener('click', () => void start());
    main.replaceChildren(h('h1', null, 'Cannot reach the registry'), alertBox(errorMessage(error), h('p', null, retry)));
    return;
  }
  drawHeader();
  draw();
}

client.onUnauthorized = () => {
  client.logout();
  showLogin('Your login is no longer accepted. Log in again.');
};

window.addEventListener('hashchange', () => {
  draw();
  window.scrollTo(0, 0);
  // The link that was followed is gone with the old page: start keyboard focus at the new one.
  main.focus({ preventScroll: true });
});

// `/` jumps to the search box (or the tag filter) unless the user is typing somewhere.
document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || dialog.element.open) return;
  const target = event.target as HTMLElement | null;
  if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
  const search = document.querySelector<HTMLInputElement>('input[name=q], input[name=tag-filter]');
  if (!search) return;
  event.preventDefault();
  search.focus();
  search.select();
});

void start();
