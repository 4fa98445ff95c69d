import './style.css';
import { Api, Unauthorized, type LiveState } from './api';
import { h, show } from './dom';
import { JobPage } from './job-view';
import { JobsPage } from './jobs-view';
import { ModelPage } from './model-view';

/**
 * The dashboard: a page per route (`#/jobs`, `#/jobs/<id>`, `#/models/<name>`), each read from the
 * HTTP API and redrawn whenever the ledger changes. The API token comes once in the address
 * (`#token=…`, as `tunewire dashboard` opens it); the page keeps it in this origin's storage and
 * takes it out of the address at once, so it is not left in the history or shown on screen.
 */
interface Page {
  refresh(): Promise<void>;
  dispose(): void;
  resize(): void;
}

const TOKEN_KEY = 'tunewire.token';
const app = document.getElementById('app') as HTMLElement;
const liveBadge = document.getElementById('live') as HTMLElement;
/** Where a failed refresh says why; the page under it stays, and the next good refresh clears it. */
const errorBanner = document.getElementById('error') as HTMLElement;
const api = new Api(() => localStorage.getItem(TOKEN_KEY) ?? undefined);

let current: { page: Page; stopFollowing: () => void } | undefined;
let refreshing: Promise<void> | undefined;
let again = false;

takeTokenFromAddress();
window.addEventListener('hashchange', () => void route());
window.addEventListener('resize', () => current?.page.resize());
void route();

function takeTokenFromAddress(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match?.[1]) return;
  localStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/jobs`);
}

async function route(): Promise<void> {
  current?.stopFollowing();
  current?.page.dispose();
  current = undefined;
  const [, kind, id] = /^#\/(jobs|models)(?:\/(.+))?$/.exec(location.hash) ?? [];
  const name = id === undefined ? undefined : decodeURIComponent(id);
  const page: Page = kind === 'jobs' && name ? new JobPage(api, name, app) : kind === 'models' && name ? new ModelPage(api, name, app) : new JobsPage(api, app);
  const topic = page instanceof JobPage ? `job=${encodeURIComponent(page.jobId)}` : page instanceof ModelPage ? `model=${encodeURIComponent(page.model)}` : '';
  document.title = name ? `${name} · tunewire` : 'tunewire';
  const stopFollowing = api.follow(topic, () => void refresh(), showLiveState);
  current = { page, stopFollowing };
  await refresh();
}

/** One refresh at a time; changes that arrive meanwhile make one more. */
async function refresh(): Promise<void> {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  const page = current?.page;
  if (!page) return;
  refreshing = (async () => {
    try {
      await page.refresh();
      errorBanner.hidden = true;
      document.body.dataset.loaded = 'true';
    } catch (error) {
      if (current?.page === page) showError(error);
    } finally {
      refreshing = undefined;
      if (again) {
        again = false;
        void refresh();
      }
    }
  })();
  return refreshing;
}

function showLiveState(state: LiveState): void {
  liveBadge.textContent = state === 'live' ? '● live' : state === 'polling' ? 'refreshing every 5 s' : 'reconnecting…';
  liveBadge.dataset.state = state;
}

function showError(error: unknown): void {
  if (error instanceof Unauthorized) return askForToken();
  errorBanner.textContent = error instanceof Error ? error.message : String(error);
  errorBanner.hidden = false;
}

function askForToken(): void {
  current?.stopFollowing();
  show(
    app,
    h(
      'form',
      {
        class: 'token',
        onsubmit: (event) => {
          event.preventDefault();
          const value = (document.getElementById('token') as HTMLInputElement).value.trim();
          if (value) localStorage.setItem(TOKEN_KEY, value);
          void route();
        },
      },
      h('h1', {}, 'API token'),
      h('p', {}, '`tunewire dashboard` opens this page signed in. Otherwise paste the token from the state directory\'s api-token file (e.g. `cat .tunewire/api-token`).'),
      h('input', { id: 'token', type: 'password', autocomplete: 'off', 'aria-label': 'API token' }),
      h('button', { type: 'submit' }, 'Open'),
    ),
  );
}
