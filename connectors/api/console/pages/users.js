// Usuários e chaves (tenant admin): invite users, give and take roles, disable and enable them;
// issue API keys (the key is shown once, here, and never again) and revoke them.
import { request } from '../api.js';
import { alertBox, field, fill, h, table } from '../dom.js';
import { ROLES } from '../format.js';

const TENANT_ROLES = ['tenant_admin', 'operator', 'viewer'];
const STATUS = { invited: 'Convidado', active: 'Ativo', disabled: 'Desativado' };
const SCOPES = {
  'imports:write': 'Importar devedores',
  'imports:read': 'Ver importações',
  'sends:write': 'Enviar mensagens',
  'sends:read': 'Ver envios',
  'reports:read': 'Ler relatórios',
  'tokens:read': 'Ver saldo de tokens',
  'conversations:read': 'Ler conversas',
  'personal_data:read': 'Ver telefones e documentos sem máscara',
};

function checkboxes(legend, options, name) {
  const boxes = Object.entries(options).map(([value, text]) =>
    h('label', {}, h('input', { type: 'checkbox', name, value }), text));
  return h('fieldset', {}, h('legend', {}, legend), boxes);
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

export async function show(main, { tenant, title }) {
  const base = `/v1/tenants/${encodeURIComponent(tenant)}`;
  const message = h('div');
  const users = h('div', { id: 'users' });
  const keys = h('div', { id: 'keys' });
  const secret = h('div', { id: 'secret' });

  const fail = (problem) => fill(message, alertBox('error', problem.message));
  const done = async (text) => {
    fill(message, alertBox('ok', text));
    await Promise.all([loadUsers(), loadKeys()]);
  };

  async function loadUsers() {
    const body = await request('GET', `${base}/users`);
    fill(users, table('Usuários do tenant', [
      ['Email', (u) => u.email],
      ['Papéis', (u) => h('span', {}, u.roles.map((r) => h('span', {},
        ROLES[r] || r, ' ',
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Tirar o papel ${ROLES[r] || r} de ${u.email}`,
          onclick: () => request('DELETE', `${base}/users/${u.user_id}/roles/${r}`).then(() => done(`Papel retirado de ${u.email}.`), fail) }, '×'), ' ')))],
      ['Dar papel', (u) => {
        const select = h('select', { 'aria-label': `Papel para dar a ${u.email}` },
          TENANT_ROLES.filter((r) => !u.roles.includes(r)).map((r) => h('option', { value: r }, ROLES[r])));
        return h('span', {}, select, ' ', h('button', { type: 'button', class: 'secondary', 'aria-label': `Dar o papel escolhido a ${u.email}`,
          onclick: () => request('POST', `${base}/users/${u.user_id}/roles`, { body: { role: select.value } }).then(() => done(`Papel dado a ${u.email}.`), fail) }, 'Dar'));
      }],
      ['Estado', (u) => STATUS[u.status] || u.status],
      ['Ações', (u) => (u.status === 'disabled'
        ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Reativar ${u.email}`,
          onclick: () => request('POST', `${base}/users/${u.user_id}/enable`).then(() => done(`${u.email} reativado.`), fail) }, 'Reativar')
        : h('button', { type: 'button', class: 'danger', 'aria-label': `Desativar ${u.email}`,
          onclick: () => window.confirm(`Desativar ${u.email}? Os logins dele terminam agora.`)
            && request('POST', `${base}/users/${u.user_id}/disable`).then(() => done(`${u.email} desativado.`), fail) }, 'Desativar'))],
    ], body.users, 'Nenhum usuário neste tenant.'));
  }

  async function loadKeys() {
    const body = await request('GET', `${base}/keys`);
    fill(keys, table('Chaves de API do tenant', [
      ['Nome', (k) => k.name],
      ['Escopos', (k) => k.scopes.map((s) => SCOPES[s] || s).join(', ')],
      ['Estado', (k) => (k.revoked ? 'Revogada' : 'Ativa')],
      ['Ações', (k) => (k.revoked ? '' : h('button', { type: 'button', class: 'danger', 'aria-label': `Revogar a chave ${k.name}`,
        onclick: () => window.confirm(`Revogar a chave ${k.name}? Os sistemas que a usam param de funcionar.`)
          && request('DELETE', `${base}/keys/${k.key_id}`).then(() => done(`Chave ${k.name} revogada.`), fail) }, 'Revogar'))],
    ], body.keys, 'Nenhuma chave emitida.'));
  }

  // Invite: the invite link is shown once; the person sets their password with it.
  const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
  const invite = h('form', { 'aria-label': 'Convidar usuário' },
    h('div', { class: 'inline' }, field('Email da pessoa', email)),
    checkboxes('Papéis', Object.fromEntries(TENANT_ROLES.map((r) => [r, ROLES[r]])), 'role'),
    h('button', { type: 'submit' }, 'Convidar'));
  invite.addEventListener('submit', async (event) => {
    event.preventDefault();
    const roles = checked(invite, 'role');
    if (!email.value || !roles.length) return fill(message, alertBox('error', 'Informe o email e pelo menos um papel.'));
    try {
      const body = await request('POST', `${base}/users`, { body: { email: email.value.trim(), roles } });
      const link = `${location.origin}/#/convite?token=${encodeURIComponent(body.invite_token)}`;
      fill(secret, alertBox('ok', h('p', {}, `Convite criado para ${body.email}. Envie este link à pessoa; ele aparece só agora:`),
        h('p', { class: 'secret', id: 'invite-link' }, link)));
      invite.reset();
      await done(`${body.email} convidado.`);
    } catch (problem) {
      fail(problem);
    }
  });

  // Issue a key: shown once, here.
  const name = h('input', { type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const issue = h('form', { 'aria-label': 'Emitir chave de API' },
    h('div', { class: 'inline' }, field('Nome da chave (ex.: ERP)', name)),
    checkboxes('Escopos', SCOPES, 'scope'),
    h('button', { type: 'submit' }, 'Emitir chave'));
  issue.addEventListener('submit', async (event) => {
    event.preventDefault();
    const scopes = checked(issue, 'scope');
    if (!name.value.trim() || !scopes.length) return fill(message, alertBox('error', 'Informe o nome e pelo menos um escopo.'));
    try {
      const body = await request('POST', `${base}/keys`, { body: { name: name.value.trim(), scopes } });
      fill(secret, alertBox('ok', h('p', {}, `Chave “${body.name}” emitida. Copie agora: ela não aparece de novo.`),
        h('p', { class: 'secret', id: 'new-key' }, body.key)));
      issue.reset();
      await done(`Chave ${body.name} emitida.`);
    } catch (problem) {
      fail(problem);
    }
  });

  fill(main, h('h1', {}, title), message, secret,
    h('h2', {}, 'Usuários'), users, h('h2', {}, 'Convidar usuário'), invite,
    h('h2', {}, 'Chaves de API'), keys, h('h2', {}, 'Emitir chave de API'), issue);
  await Promise.all([loadUsers(), loadKeys()]);
  return null;
}
