/** What every page gets from the app shell. */
import type { UiInfo } from './api-types.js';
import type { Confirmation } from './confirm-dialog.js';
import type { RegistryClient } from './registry-client.js';

export interface PageContext {
  client: RegistryClient;
  info: UiInfo;
  /** The page's content area (`main`), already emptied. */
  main: HTMLElement;
  /**
   * False once the user went to another page (or this one reloaded): results that arrive later
   * for an old page must not be drawn.
   */
  isCurrent: () => boolean;
  /** Sets the `h1` text and the document title. */
  setTitle: (title: string) => void;
  confirm: (what: Confirmation) => Promise<boolean>;
  /** Draws the current page again with fresh data (after a delete). */
  reload: () => void;
}

