// Devedores e importações: upload a debtors' file (CSV, JSON, NDJSON or a spreadsheet) with a
// progress bar (XMLHttpRequest's upload events), then follow the import until it ends and show
// its counts per reason, and a download of the rejected rows (CSV, to fix and send again).
// Searching debtors and their timelines come with their API routes.
import { download, request, upload } from '../api.js';
import { alertBox, field, fill, h, table } from '../dom.js';
import { count } from '../format.js';

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

export async function show(main, { tenant, title }) {
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
      h('h2', {}, `Importação ${status.import_id}`),
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

  fill(main, h('h1', {}, title), message, form, progress, state,
    h('p', { class: 'muted' }, 'Busca de devedores e linha do tempo de cada um: em breve.'));
  return () => clearTimeout(polling);
}
