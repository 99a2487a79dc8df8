// Devedores e importações: upload a debtors' file (CSV, JSON, NDJSON or a spreadsheet) with a
// progress bar (XMLHttpRequest's upload events), then follow the import until it ends and show
// its counts per reason, and a download of the rejected rows (CSV, to fix and send again).
// Below it, a search of the imported debtors (name, phone or CPF/CNPJ; phones and documents come
// masked from the API for roles without personal_data:read) and, from a result, the debtor's
// timeline (#/devedores?devedor=<client_id>): what `cobranca trace` knows, oldest first.
// Viewers reach the search and timelines (imports:read), not the upload (imports:write).
import { download, request, upload } from '../api.js';
import { alertBox, announce, field, fill, h, table } from '../dom.js';
import { INTENTS, brl, count, dateTime, day } from '../format.js';

const REASONS = {
  missing_field: 'Campo obrigatório faltando',
  invalid_phone: 'Telefone inválido',
  landline: 'Telefone fixo',
  invalid_document: 'CPF/CNPJ inválido',
  invalid_amount: 'Valor inválido',
  invalid_due_date: 'Vencimento inválido',
  duplicate: 'Devedor repetido no arquivo',
  malformed_row: 'Linha mal formada',
  field_too_long: 'Campo longo demais',
  invalid_payment_url: 'Link de pagamento inválido',
};
const STATES = {
  running: 'Em andamento', completed: 'Concluída', incomplete: 'Incompleta', failed: 'Falhou',
};
// What the API needs to read each kind of file: a Content-Type, and the format for binaries.
const KINDS = {
  csv: ['text/csv', ''],
  txt: ['text/csv', ''],
  json: ['application/json', ''],
  ndjson: ['application/x-ndjson', ''],
  jsonl: ['application/x-ndjson', ''],
  xlsx: ['application/octet-stream', 'xlsx'],
  xlsm: ['application/octet-stream', 'xlsx'],
  xls: ['application/octet-stream', 'xls'],
  ods: ['application/octet-stream', 'ods'],
};

/** The upload form, its progress and the import's counts; `stop` ends the polling. */
function importSection(tenant) {
  const base = `/v1/tenants/${encodeURIComponent(tenant)}/imports`;
  const file = h('input', { type: 'file', accept: Object.keys(KINDS).map((k) => `.${k}`).join(','), required: true });
  const progress = h('progress', { class: 'progress', max: 100, value: 0, 'aria-label': 'Envio do arquivo' });
  const state = h('div', { id: 'import-status', 'aria-live': 'polite' });
  const message = h('div');
  const submit = h('button', { type: 'submit' }, 'Importar');
  const form = h('form', { 'aria-label': 'Importar devedores' },
    h('div', { class: 'inline' }, field('Arquivo de devedores (CSV, JSON, NDJSON, XLSX, XLS, ODS)', file), submit));
  let polling = null;

  function render(status) {
    const reasons = Object.entries(status.by_reason || {}).sort((a, b) => b[1] - a[1]);
    fill(state,
      h('h3', {}, `Importação ${status.import_id}`),
      h('ul', { class: 'kpis', 'aria-label': 'Contagens da importação' },
        h('li', { id: 'import-state' }, h('span', { class: 'label' }, 'Estado'), h('span', { class: 'value' }, STATES[status.state] || status.state)),
        h('li', { id: 'import-rows' }, h('span', { class: 'label' }, 'Linhas'), h('span', { class: 'value' }, count(status.rows))),
        h('li', { id: 'import-accepted' }, h('span', { class: 'label' }, 'Aceitas'), h('span', { class: 'value' }, count(status.accepted))),
        h('li', { id: 'import-rejected' }, h('span', { class: 'label' }, 'Rejeitadas'), h('span', { class: 'value' }, count(status.rejected)))),
      table('Linhas rejeitadas por motivo', [
        ['Motivo', ([reason]) => REASONS[reason] || reason],
        ['Linhas', ([, n]) => count(n), { num: true }],
      ], reasons, 'Nenhuma linha rejeitada.'),
      status.state !== 'running' && status.rejected > 0 ? h('p', {},
        h('button', { type: 'button', class: 'secondary', id: 'download-rejected',
          onclick: () => downloadRejected(status.import_id) }, 'Baixar linhas rejeitadas (CSV)')) : null,
      status.error ? alertBox('error', `A importação não terminou: ${status.error.message}`) : null);
  }

  // The CSV comes from the analytics store, a second or so behind the import: while it says
  // "not yet", ask again a few times before showing the message.
  async function downloadRejected(importId) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        fill(message);
        return await download(`${base}/${encodeURIComponent(importId)}/rejected`, `rejeitadas-${importId}.csv`);
      } catch (problem) {
        if (problem.code !== 'not_yet_stored' || attempt >= 10) return fill(message, alertBox('error', problem.message));
        await new Promise((resolve) => { setTimeout(resolve, 1000); });
      }
    }
  }

  async function follow(location) {
    const status = await request('GET', location);
    render(status);
    if (status.state === 'running') polling = setTimeout(() => follow(location).catch((p) => fill(message, alertBox('error', p.message))), 1000);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return fill(message, alertBox('error', 'Escolha um arquivo.'));
    const kind = KINDS[chosen.name.split('.').pop().toLowerCase()];
    if (!kind) return fill(message, alertBox('error', 'Formato não aceito: use CSV, JSON, NDJSON, XLSX, XLS ou ODS.'));
    const [contentType, format] = kind;
    submit.disabled = true;
    fill(message);
    fill(state);
    progress.value = 0;
    try {
      const { body, location } = await upload(format ? `${base}?format=${format}` : base, chosen, contentType,
        (sent, total) => { progress.value = total ? Math.round((100 * sent) / total) : 0; });
      progress.value = 100;
      render(body);
      if (body.state === 'running') await follow(location || `${base}/${body.import_id}`);
    } catch (problem) {
      fill(message, alertBox('error', problem.message));
    } finally {
      submit.disabled = false;
    }
  });

  return {
    elements: [h('h2', {}, 'Importar devedores'), message, form, progress, state],
    stop: () => clearTimeout(polling),
  };
}

// --- search and timeline ----------------------------------------------------------------------

const PAGE_SIZE = 20;
const EMPTY_PAGES = 10;  // a page may come back empty with more after it: follow a few at most
// What each detail the API gives is called here (the ones a label already says are left out).
const DETAILS = {
  import_id: ['Importação', String],
  step: ['Etapa', String],
  request_id: ['Pedido', String],
  amount_centavos: ['Valor', brl],
  due_date: ['Vencimento', day],
  promised_date: ['Data prometida', day],
  amount: ['Tokens', count],
  label: ['Intenção', (v) => INTENTS[v] || v],
  confidence: ['Confiança', (v) => `${Math.round(v * 100)}%`],
  reason: ['Motivo', String],
  until: ['Até', dateTime],
  invoice_id: ['Fatura', String],
};
const SKIPPED = new Set(['amount_centavos', 'due_date']);  // already in the label of an import
/** The debtors of the last search, by client_id: their name heads the timeline. */
const known = new Map();

const timelineHref = (clientId, q) => `#/devedores?${new URLSearchParams({ devedor: clientId, ...(q ? { q } : {}) })}`;

function details(entry) {
  const shown = Object.entries(entry.details || {})
    .filter(([key]) => DETAILS[key] && !(entry.kind === 'importado' && SKIPPED.has(key)))
    .map(([key, value]) => `${DETAILS[key][0]}: ${DETAILS[key][1](value)}`);
  return shown.length ? h('p', { class: 'meta' }, shown.join(' · ')) : null;
}

/** One debtor's timeline, oldest first, with a way back to the search it came from. */
async function timelineView(main, { tenant, title, clientId, q }) {
  const path = `/v1/tenants/${encodeURIComponent(tenant)}/debtors/${encodeURIComponent(clientId)}/timeline`;
  const debtor = known.get(clientId);
  const who = debtor ? `${debtor.name} (${clientId})` : clientId;
  const back = h('p', {}, h('a', { href: q ? `#/devedores?${new URLSearchParams({ q })}` : '#/devedores' },
    '← Voltar para a busca de devedores'));
  const body = h('div', { id: 'timeline' }, h('p', {}, 'Carregando…'));
  fill(main, h('h1', {}, title), back, h('h2', {}, `Linha do tempo de ${who}`), body);
  try {
    const answer = await request('GET', path);
    fill(body,
      answer.texts_shown ? null : h('p', { class: 'muted' }, 'O texto das respostas não é mostrado ao seu papel.'),
      answer.entries.length ? h('ol', { class: 'timeline', 'aria-label': 'Acontecimentos, do mais antigo ao mais recente' },
        answer.entries.map((entry) => h('li', { dataset: { kind: entry.kind } },
          h('p', { class: 'meta' }, h('time', { datetime: entry.occurred_at }, dateTime(entry.occurred_at))),
          h('p', { class: 'what' }, entry.label),
          details(entry),
          answer.texts_shown && entry.text ? h('blockquote', { class: 'reply' }, entry.text) : null,
          h('p', { class: 'meta position' }, `Evento ${entry.event_type} em ${entry.position}`))))
        : h('p', { class: 'muted' }, 'Nada registrado para este devedor ainda.'));
    announce(`Linha do tempo de ${who}: ${answer.entries.length} acontecimentos.`);
  } catch (problem) {
    fill(body, alertBox('error', problem.message));
  }
}

/** The search box, its results and "Mais resultados"; `q` (from the address) searches at once. */
function searchSection(tenant, q) {
  const path = `/v1/tenants/${encodeURIComponent(tenant)}/debtors`;
  const error = h('p', { id: 'debtor-search-error', class: 'field-error', role: 'alert' });
  const input = h('input', {
    type: 'search', name: 'q', maxlength: 100, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'debtor-search-hint debtor-search-error', value: q || '',
  });
  const submit = h('button', { type: 'submit' }, 'Buscar');
  const form = h('form', { role: 'search', 'aria-label': 'Buscar devedores' },
    h('div', { class: 'inline' }, field('Nome, telefone ou CPF/CNPJ', input), submit),
    h('p', { id: 'debtor-search-hint', class: 'muted' },
      'Nome: ao menos 3 letras (maiúsculas e acentos tanto faz). Telefone: inteiro ou os últimos 4 dígitos.'),
    error);
  const results = h('div', { id: 'debtor-results', 'aria-live': 'polite' });
  let found = [];
  let cursor = null;
  let asked = '';

  function render() {
    const more = cursor ? h('p', {}, h('button', { type: 'button', class: 'secondary', id: 'more-debtors', onclick: next },
      'Mais resultados')) : null;
    fill(results,
      h('p', { class: 'muted', id: 'debtor-count' }, found.length === 1 ? '1 devedor encontrado' : `${count(found.length)} devedores encontrados`,
        cursor ? ' (há mais)' : ''),
      table(`Devedores encontrados para “${asked}”`, [
        ['Nome', (d) => h('a', { href: timelineHref(d.client_id, asked), 'aria-label': `Linha do tempo de ${d.name}` }, d.name)],
        ['Código', (d) => d.client_id],
        ['Telefone', (d) => d.phone],
        ['CPF/CNPJ', (d) => d.document || '—'],
        ['Valor', (d) => brl(d.amount_centavos), { num: true }],
        ['Vencimento', (d) => day(d.due_date)],
        ['Última importação', (d) => dateTime(d.last_imported_at)],
      ], found, `Nenhum devedor encontrado para “${asked}”.`),
      more);
  }

  async function fetchPage() {
    for (let pages = 0; pages < EMPTY_PAGES; pages += 1) {
      const params = new URLSearchParams({ q: asked, limit: PAGE_SIZE });
      if (cursor) params.set('cursor', cursor);
      const answer = await request('GET', `${path}?${params}`);
      for (const debtor of answer.debtors) known.set(debtor.client_id, debtor);
      found = found.concat(answer.debtors);
      cursor = answer.next_cursor;
      if (answer.debtors.length || !cursor) return answer.debtors.length;
    }
    return 0;
  }

  function problemShown(problem) {
    if (problem.code === 'invalid_query' && problem.details?.parameter === 'q' && problem.apiMessage) {
      // The search's own rules come worded in Portuguese by the API: say them as they are.
      const said = problem.apiMessage;
      fill(error, `Busca não aceita: ${said.charAt(0).toLowerCase()}${said.slice(1)}.`);
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } else {
      fill(error, problem.message);
    }
  }

  async function run(text) {
    asked = text.trim();
    found = [];
    cursor = null;
    fill(error);
    input.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      await fetchPage();
      render();
      announce(results.querySelector('#debtor-count').textContent);
      // Keep the search in the address: the back link of a timeline comes here again.
      history.replaceState(null, '', `#/devedores?${new URLSearchParams({ q: asked })}`);
    } catch (problem) {
      fill(results);
      problemShown(problem);
    } finally {
      submit.disabled = false;
    }
  }

  async function next() {
    const before = found.length;
    try {
      await fetchPage();
      render();
      // The keyboard goes on from the first new debtor.
      results.querySelectorAll('tbody a')[before]?.focus();
    } catch (problem) {
      problemShown(problem);
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(input.value);
  });
  if (q) run(q);
  return [h('h2', {}, 'Buscar devedores'), form, results];
}

export async function show(main, { me, tenant, title, params }) {
  const clientId = params.get('devedor');
  const q = params.get('q') || '';
  if (clientId) return timelineView(main, { tenant, title, clientId, q });
  const importing = me.permissions.includes('imports:write') ? importSection(tenant) : null;
  fill(main, h('h1', {}, title), searchSection(tenant, q), importing ? importing.elements : null);
  return importing ? importing.stop : null;
}
