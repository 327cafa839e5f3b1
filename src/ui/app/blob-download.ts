/**
 * Links that download a blob. With auth off the link simply works. With auth on, a plain link
 * would make the browser ask for credentials itself, so a click fetches the blob with our
 * Authorization header and saves it from an object URL instead.
 */
import { h, type Child } from './dom.js';
import { namePath } from './page-context.js';
import type { RegistryClient } from './registry-client.js';
import { errorMessage } from './widgets.js';

export function blobLink(client: RegistryClient, name: string, digest: string, ...content: Child[]): HTMLAnchorElement {
  const fileName = digest.replace(':', '-');
  const link = h('a', { href: client.url(`v2/${namePath(name)}/blobs/${digest}`), download: fileName, class: 'blob-link', title: `Download blob ${digest}` }, ...content);
  link.addEventListener('click', async (event) => {
    if (client.scheme === 'none') return;
    event.preventDefault();
    link.setAttribute('aria-busy', 'true');
    try {
      const response = await client.request(`v2/${namePath(name)}/blobs/${digest}`);
      if (!response.ok) throw new Error(`the registry answered ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const save = h('a', { href: url, download: fileName, class: 'offscreen' });
      document.body.appendChild(save);
      save.click();
      save.remove();
      // The download has started from the object URL; keep it alive a little, then free it.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      link.title = `Download failed: ${errorMessage(error)}`;
      link.classList.add('failed');
    } finally {
      link.removeAttribute('aria-busy');
    }
  });
  return link;
}
