// The console's shell: who is logged in (/v1/auth/me), the navigation (only what the role may
// do), and a hash router (#/tokens …) so the server serves one page and nothing else.
import { ApiProblem, logOut, onLoggedOut, request, session } from './api.js';
import { alertBox, announce, field, fill, h } from './dom.js';
import { ROLES } from './format.js';

// Every page: its path, its name in the navigation, the permission it needs (what the API
// checks on its routes; hiding is for clarity, the API still refuses), and its module.
const PAGES = [
  { path: 'visao-geral', title: 'Visão geral', permission: 'reports:read', load: () => import('./pages/overview.js') },
  { path: 'devedores', title: 'Devedores e importações', permission: 'imports:read', load: () => import('./pages/imports.js') },
  { path: 'regua', title: 'Régua e mensagens', permission: 'config:read', load: () => import('./pages/regua.js') },
  { path: 'conversas', title: 'Conversas', permission: 'conversations:read', load: () => import('./pages/conversations.js') },
  { path: 'tokens', title: 'Tokens', permission: 'tokens:read', load: () => import('./pages/tokens.js') },
  { path: 'whatsapp', title: 'WhatsApp', permission: 'sessions:read', load: () => import('./pages/whatsapp.js') },
  { path: 'usuarios', title: 'Usuários e chaves', permission: 'users:manage', load: () => import('./pages/users.js') },
];
const PUBLIC = {
  entrar: () => import('./pages/login.js').then((m) => m.login),
  convite: () => import('./pages/login.js').then((m) => m.acceptInvite),
};
const TENANT_KEY = 'cobranca.tenant';

let me = null;          // the caller, from /v1/auth/me
let leave = null;       // the open page's clean-up (timers), run before the next page opens
const main = document.getElementById('main');

function route() {
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [path, query = ''] = hash.split('?');
  return { path, params: new URLSearchParams(query) };
}

export function go(path) {
  if (location.hash === `#/${path}`) render();
  else location.hash = `#/${path}`;
}

function allowed(page) {
  return me.permissions.includes(page.permission);
}

/** The tenant the pages act on: the user's own, or the one a platform admin picked. */
function tenant() {
  return me.tenant || sessionStorage.getItem(TENANT_KEY) || '';
}

function navigation(current) {
  const items = PAGES.filter(allowed).map((page) => h('li', {},
    h('a', { href: `#/${page.path}`, 'aria-current': page.path === current ? 'page' : null },
      page.title)));
  const nav = document.getElementById('nav');
  fill(nav, h('ul', {}, items));
  if (!me.tenant) {
    // A platform admin belongs to no tenant: they choose which one to look at.
    const input = h('input', { type: 'text', value: tenant(), autocomplete: 'off', spellcheck: 'false' });
    input.addEventListener('change', () => {
      sessionStorage.setItem(TENANT_KEY, input.value.trim());
      render();
    });
    nav.append(field('Tenant', input));
  }
  nav.hidden = false;
}

function header() {
  const roles = (me.roles || []).map((r) => ROLES[r] || r).join(', ');
  fill(document.getElementById('who'), `${me.email || me.actor}${roles ? ` · ${roles}` : ''}${me.tenant ? ` · ${me.tenant}` : ''}`);
  document.getElementById('top').hidden = false;
}

function loggedOutShell() {
  me = null;
  document.getElementById('top').hidden = true;
  document.getElementById('nav').hidden = true;
}

async function render() {
  if (leave) { leave(); leave = null; }
  const { path, params } = route();
  if (PUBLIC[path]) {
    loggedOutShell();
    const page = await PUBLIC[path]();
    page(main, { params, done: () => start() });
    return focusMain();
  }
  if (!session.get()) return go('entrar');
  if (!me) {
    try {
      me = await request('GET', '/v1/auth/me');
    } catch (problem) {
      loggedOutShell();
      return go('entrar');
    }
  }
  header();
  const page = PAGES.find((p) => p.path === path);
  if (!page) {
    const first = PAGES.find(allowed);
    return first ? go(first.path) : fill(main, h('h1', {}, 'Sem permissão'),
      h('p', {}, 'Este login não tem acesso a nenhuma página do console.'));
  }
  navigation(page.path);
  document.title = `${page.title} · cobranca`;
  if (!allowed(page)) {
    fill(main, h('h1', {}, 'Sem permissão'),
      h('p', {}, `Seu papel não permite abrir “${page.title}”. Peça acesso a um administrador do tenant.`));
    return focusMain();
  }
  if (!tenant()) {
    fill(main, h('h1', {}, page.title), h('p', {}, 'Escolha um tenant na navegação para ver esta página.'));
    return focusMain();
  }
  fill(main, h('h1', {}, page.title), h('p', {}, 'Carregando…'));
  try {
    const module = await page.load();
    leave = await module.show(main, { me, tenant: tenant(), params, title: page.title }) || null;
  } catch (problem) {
    fill(main, h('h1', {}, page.title), alertBox('error', problem instanceof ApiProblem ? problem.message : `Falha ao abrir a página: ${problem.message}`));
  }
  focusMain();
}

function focusMain() {
  // After a navigation, keyboard and screen-reader users start at the new page's content.
  main.focus({ preventScroll: true });
  const title = main.querySelector('h1');
  if (title) announce(title.textContent);
}

function start() {
  me = null;
  go('');  // the first page this login may open
}

onLoggedOut(() => {
  loggedOutShell();
  go('entrar');
});
document.getElementById('logout').addEventListener('click', async () => {
  await logOut();
  loggedOutShell();
  location.hash = '#/entrar?saiu=1';
});
document.getElementById('skip').addEventListener('click', (event) => {
  event.preventDefault();  // the hash belongs to the router
  main.focus();
});
window.addEventListener('hashchange', render);
render();
