// Tokens: the balance, the ledger's history page by page (newest first, each movement with its
// place in the hash chain), the usage report as CSV, the low-balance threshold (set by admins),
// and, for the platform admin, credits.
import { download, request } from '../api.js';
import { alertBox, field, fill, h, table } from '../dom.js';
import { count, dateTime, day, parseDay, today } from '../format.js';

const MOVEMENTS = {
  TokensCredited: 'Crédito',
  TokensDebited: 'Débito',
  TokensRefunded: 'Estorno',
  BalanceLow: 'Aviso de saldo baixo',
};
const PAGE = 20;

export async function show(main, { me, tenant, title }) {
  const base = `/v1/tenants/${encodeURIComponent(tenant)}/tokens`;
  const balance = h('p', { id: 'balance', class: 'kpi' });
  const history = h('div', { id: 'ledger' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Ver movimentos mais antigos');
  const message = h('div');
  let next = `${base}/ledger?limit=${PAGE}`;
  const entries = [];

  async function loadBalance() {
    const body = await request('GET', base);
    fill(balance, h('strong', {}, `Saldo: ${count(body.balance)} tokens`), ` · ${count(body.movements)} movimentos`);
  }

  async function loadPage() {
    more.disabled = true;
    try {
      const page = await request('GET', next);
      entries.push(...page.entries);
      next = page.next;
      fill(history, table('Histórico do ledger', [
        ['Quando', (e) => dateTime(e.occurred_at)],
        ['Movimento', (e) => MOVEMENTS[e.event_type] || e.event_type],
        ['Tokens', (e) => count(e.amount), { num: true }],
        ['Saldo depois', (e) => count(e.balance_after), { num: true }],
        ['Referência', (e) => e.reference || e.request_id || '—'],
        ['Posição no log', (e) => h('code', {}, e.position)],
      ], entries, 'Nenhum movimento ainda.'));
      more.hidden = !next;
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => loadPage().catch((p) => fill(message, alertBox('error', p.message))));

  // Usage report: a CSV of credits, debits, refunds and sends per day.
  const from = h('input', { type: 'text', inputmode: 'numeric', placeholder: 'DD/MM/AAAA', value: day(today(-29)), size: 10 });
  const to = h('input', { type: 'text', inputmode: 'numeric', placeholder: 'DD/MM/AAAA', value: day(today()), size: 10 });
  const usage = h('form', { class: 'inline', 'aria-label': 'Relatório de uso' },
    field('De', from), field('Até', to), h('button', { type: 'submit' }, 'Baixar CSV de uso'));
  usage.addEventListener('submit', async (event) => {
    event.preventDefault();
    const start = parseDay(from.value);
    const end = parseDay(to.value);
    if (!start || !end) return fill(message, alertBox('error', 'Use datas no formato DD/MM/AAAA.'));
    try {
      await download(`${base}/usage?from=${start}&to=${end}&format=csv`, `uso-${tenant}-${start}-${end}.csv`);
      fill(message, alertBox('ok', 'Relatório de uso baixado.'));
    } catch (problem) {
      fill(message, alertBox('error', problem.message));
    }
  });

  const sections = [h('h1', {}, title), message, balance,
    h('h2', {}, 'Relatório de uso'), usage, ...thresholdForm(base, message, me)];
  if (me.permissions.includes('tokens:credit')) sections.push(...creditForm(base, message, loadBalance));
  sections.push(h('h2', {}, 'Histórico'), history, more);
  fill(main, ...sections);
  await Promise.all([loadBalance(), loadPage()]);
  return null;
}

// BalanceLow fires when the balance crosses below this threshold; it lives in the tenant's
// configuration, and a PUT writes a new configuration with only it changed.
function thresholdForm(base, message, me) {
  const value = h('input', { type: 'number', min: 0, step: 1, required: true, inputmode: 'numeric' });
  const canSet = me.permissions.includes('config:write');
  value.disabled = !canSet;
  const form = h('form', { class: 'inline', 'aria-label': 'Limite de saldo baixo' },
    field('Avisar quando o saldo ficar abaixo de (tokens)', value),
    canSet ? h('button', { type: 'submit' }, 'Salvar limite') : null);
  request('GET', `${base}/threshold`)
    .then((body) => { value.value = String(body.threshold_tokens); })
    .catch((problem) => { value.placeholder = problem.status === 404 ? 'sem configuração' : '—'; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const tokens = Number(value.value);
    if (!Number.isInteger(tokens) || tokens < 0) {
      fill(message, alertBox('error', 'O limite é um número inteiro de tokens, a partir de 0.'));
      return value.focus();
    }
    try {
      await request('PUT', `${base}/threshold`, { body: { threshold_tokens: tokens } });
      fill(message, alertBox('ok', `Limite de saldo baixo: ${count(tokens)} tokens.`));
    } catch (problem) {
      fill(message, alertBox('error', problem.message));
    }
  });
  return [h('h2', {}, 'Saldo baixo'), form];
}

function creditForm(base, message, reload) {
  const amount = h('input', { type: 'number', min: 1, step: 1, required: true, inputmode: 'numeric' });
  const reference = h('input', { type: 'text', maxlength: 500, placeholder: 'ex.: pix 123' });
  // One Idempotency-Key per credit being typed: a double click or a retry credits once.
  let key = crypto.randomUUID();
  const form = h('form', { class: 'inline', 'aria-label': 'Creditar tokens' },
    field('Tokens a creditar', amount), field('Referência da compra', reference),
    h('button', { type: 'submit' }, 'Creditar'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = Number(amount.value);
    if (!Number.isInteger(value) || value < 1) {
      fill(message, alertBox('error', 'A quantidade é um número inteiro de tokens, a partir de 1.'));
      return amount.focus();
    }
    try {
      await request('POST', `${base}/credits`, {
        body: { amount: value, reference: reference.value.trim() || null },
        headers: { 'Idempotency-Key': key },
      });
      key = crypto.randomUUID();
      amount.value = '';
      reference.value = '';
      fill(message, alertBox('ok', `Crédito de ${count(value)} tokens pedido: o ledger o aplica em instantes.`));
      setTimeout(() => reload().catch(() => {}), 1500);
    } catch (problem) {
      fill(message, alertBox('error', problem.message));
    }
  });
  return [h('h2', {}, 'Creditar tokens (administrador da plataforma)'), form];
}
