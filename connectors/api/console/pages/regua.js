// Régua e mensagens: the tenant's configuration (GET/PUT /config) as a form — the régua's steps
// with their templates, the contact windows per UF, the low-balance threshold — and a live
// preview of the step being edited, rendered by the API for a real imported debtor.
// Tenant admins edit it; everyone else who may read it sees the same form, read-only.
import { ApiProblem, request } from '../api.js';
import { alertBox, field, fill, h } from '../dom.js';

const UFS = ['AC', 'AL', 'AM', 'AP', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MG', 'MS', 'MT', 'PA',
  'PB', 'PE', 'PI', 'PR', 'RJ', 'RN', 'RO', 'RR', 'RS', 'SC', 'SE', 'SP', 'TO'];
const DAYS = { weekdays: 'Segunda a sexta', saturday: 'Sábado' };
const PREVIEW_DELAY_MS = 400;  // a pause in typing, not every key, asks the API for a preview
let uid = 0;

export async function show(main, { me, tenant, title }) {
  const path = `/v1/tenants/${encodeURIComponent(tenant)}/config`;
  const editable = me.permissions.includes('config:write');
  const message = h('div');
  const form = h('form', { 'aria-label': 'Configuração da régua', novalidate: true });
  let etag = null;
  let draft = null;          // the document being edited; what the form does not show goes back as read
  let controls = new Map();  // a field's path as the API names it (regua.steps[0].template) → its control
  let previewStep = 0;       // the step whose template the preview shows: the last one touched
  let timer = null;
  let asked = 0;             // only the latest preview's answer is shown

  async function load() {
    const response = await request('GET', path, { as: 'response' });
    etag = response.headers.get('ETag');
    draft = await response.json();
    render();
  }

  // A control bound to draft[...]: its path names it in the API's 422 errors.
  function input(fieldPath, value, onInput, attrs = {}) {
    const el = h(attrs.tag || 'input', { type: attrs.tag ? null : 'text', ...attrs, tag: null,
      readonly: !editable, autocomplete: 'off', spellcheck: 'false' });
    el.value = value ?? '';
    el.addEventListener('input', () => onInput(el.value));
    controls.set(fieldPath, el);
    return el;
  }

  // Under each control, a slot for what the API said about it (aria-describedby reads it out).
  function labelled(text, control) {
    control.id ||= `r${++uid}`;
    const error = h('span', { class: 'field-error', id: `${control.id}-error` });
    control.setAttribute('aria-describedby', error.id);
    return h('div', { class: 'field' }, field(text, control), error);
  }

  function stepsSection() {
    const steps = draft.regua.steps;
    return h('section', { 'aria-labelledby': 'steps-title' },
      h('h2', { id: 'steps-title' }, 'Etapas da régua'),
      h('div', { id: 'steps' }, steps.map((step, i) => {
        const at = `regua.steps[${i}]`;
        const template = input(`${at}.template`, step.template, (v) => { step.template = v; previewStep = i; schedule(); },
          { tag: 'textarea', rows: 4, cols: 60, name: 'template' });
        template.addEventListener('focus', () => { if (previewStep !== i) { previewStep = i; schedule(); } });
        return h('fieldset', { class: 'step' }, h('legend', {}, `Etapa ${step.when || i + 1}`),
          h('div', { class: 'inline' },
            labelled('Quando (D-N, D0 ou D+N)', input(`${at}.when`, step.when, (v) => { step.when = v; }, { size: 6, name: 'when' })),
            labelled('Horário (HH:MM)', input(`${at}.at`, step.at, (v) => { step.at = v; }, { size: 6, name: 'at', inputmode: 'numeric' }))),
          labelled('Mensagem', template),
          editable ? h('button', { type: 'button', class: 'danger', 'aria-label': `Remover a etapa ${step.when || i + 1}`,
            onclick: () => { steps.splice(i, 1); previewStep = 0; render(); } }, 'Remover etapa') : null);
      })),
      editable ? h('button', { type: 'button', class: 'secondary', id: 'add-step',
        onclick: () => { steps.push({ when: '', at: steps.at(-1)?.at || '09:00', template: '' }); render(); } }, 'Adicionar etapa') : null,
      h('p', { class: 'muted' }, 'Campos da mensagem: {first_name}, {amount}, {due_date}, {due_relative} ("vence hoje", "venceu há 2 dias"), {pix_code}, {payment_url}, {company}… ',
        'Uma linha com um campo que o devedor não tem fica de fora.'));
  }

  function windowsSection() {
    const windows = draft.contact.windows;
    const rows = Object.keys(windows).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
    const name = (key) => (key === 'default' ? 'Padrão' : key);
    const free = UFS.filter((uf) => !windows[uf]);
    const pick = h('select', { disabled: !editable }, free.map((uf) => h('option', { value: uf }, uf)));
    return h('section', { 'aria-labelledby': 'windows-title' },
      h('h2', { id: 'windows-title' }, 'Janelas de contato por UF'),
      h('p', { class: 'muted' }, 'Horário de São Paulo não vale para todos: cada UF no seu fuso. Escreva 08:00-20:00, ou “closed” para não enviar nesse dia.'),
      h('table', {}, h('caption', { class: 'sr-only' }, 'Janelas de contato'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'UF'), Object.values(DAYS).map((d) => h('th', { scope: 'col' }, d)),
          editable ? h('th', { scope: 'col' }, 'Ações') : null)),
        h('tbody', {}, rows.map((key) => h('tr', {},
          h('th', { scope: 'row' }, name(key)),
          Object.entries(DAYS).map(([day, dayName]) => {
            const control = input(`contact.windows.${key}.${day}`, windows[key][day], (v) => { windows[key][day] = v; },
              { size: 12, 'aria-label': `${dayName} — ${name(key)}` });
            const error = h('span', { class: 'field-error', id: `w-${key}-${day}-error` });
            control.setAttribute('aria-describedby', error.id);
            return h('td', {}, control, error);
          }),
          editable ? h('td', {}, key === 'default' ? '' : h('button', { type: 'button', class: 'danger', 'aria-label': `Remover a UF ${key}`,
            onclick: () => { delete windows[key]; render(); } }, 'Remover')) : null)))),
      editable && free.length ? h('div', { class: 'inline' }, field('UF com janela própria', pick),
        h('button', { type: 'button', class: 'secondary', id: 'add-uf',
          onclick: () => { windows[pick.value] = { ...windows.default }; render(); } }, 'Adicionar UF')) : null);
  }

  function thresholdSection() {
    const control = input('low_balance_threshold', draft.low_balance_threshold, (v) => {
      // A number when it is one; otherwise the text, for the API to say what is wrong with it.
      draft.low_balance_threshold = /^\d+$/.test(v.trim()) ? Number(v) : v;
    }, { type: 'number', min: 0, step: 1, inputmode: 'numeric' });
    return h('section', { 'aria-labelledby': 'threshold-title' },
      h('h2', { id: 'threshold-title' }, 'Saldo baixo'),
      labelled('Avisar quando o saldo de tokens ficar abaixo de', control));
  }

  // The preview: the step's template as the API renders it for a real debtor.
  const client = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', id: 'preview-client' });
  client.addEventListener('input', () => schedule());
  const previewText = h('pre', { id: 'preview', class: 'preview', 'aria-live': 'polite' });
  const previewNote = h('p', { class: 'muted', id: 'preview-note' });

  function schedule() {
    if (!editable) return;
    clearTimeout(timer);
    timer = setTimeout(preview, PREVIEW_DELAY_MS);
  }

  async function preview() {
    const step = draft.regua.steps[previewStep];
    if (!step) return fill(previewText);
    const mine = ++asked;
    const body = { template: step.template };
    if (client.value.trim()) body.client_id = client.value.trim();
    const templatePath = `regua.steps[${previewStep}].template`;
    try {
      const shown = await request('POST', `${path}/preview`, { body });
      if (mine !== asked) return;
      showError(templatePath, null);
      fill(previewText, shown.text);
      fill(previewNote, `Etapa ${step.when || previewStep + 1}, para o cliente ${shown.client_id}.`);
    } catch (problem) {
      if (mine !== asked) return;
      fill(previewText);
      const errors = problem.details?.errors;
      if (problem.code === 'invalid_template' && errors?.length) {
        // The preview's errors name "template": here, the step being previewed.
        showError(templatePath, errors.map((e) => e.message).join('; '));
        fill(previewNote, 'Sem prévia: corrija a mensagem.');
      } else {
        fill(previewNote, problem.message);
      }
    }
  }

  function showError(fieldPath, text) {
    const control = controls.get(fieldPath);
    if (!control) return false;
    const slot = document.getElementById(control.getAttribute('aria-describedby'));
    fill(slot, text || '');
    if (text) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
    return true;
  }

  function clearErrors() {
    for (const fieldPath of controls.keys()) showError(fieldPath, null);
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    fill(message);
    try {
      const response = await request('PUT', path, { body: draft, headers: { 'If-Match': etag }, as: 'response' });
      etag = response.headers.get('ETag');
      draft = await response.json();
      render();
      fill(message, alertBox('ok', 'Configuração salva. As próximas mensagens da régua já a seguem.'));
    } catch (problem) {
      if (!(problem instanceof ApiProblem)) throw problem;
      if (problem.status === 412) {
        fill(message, alertBox('error',
          h('p', {}, 'Outra pessoa mudou a configuração depois que você a abriu; suas mudanças não foram salvas. ',
            'Recarregue para ver a versão atual e refaça as mudanças.'),
          h('button', { type: 'button', id: 'reload', onclick: () => load().then(() => fill(message)) }, 'Recarregar a configuração')));
        return;
      }
      const errors = problem.details?.errors || [];
      // Each problem beside its field; those about no field on this form, listed at the top.
      const elsewhere = errors.filter((e) => !showError(e.field, e.message));
      fill(message, alertBox('error', problem.message,
        elsewhere.length ? h('ul', {}, elsewhere.map((e) => h('li', {}, `${e.field}: ${e.message}`))) : null));
      // Focus goes to the first field with a problem, in the order the form reads.
      form.querySelector('[aria-invalid="true"]')?.focus();
    }
  }
  form.addEventListener('submit', save);

  function render() {
    controls = new Map();
    fill(form, stepsSection(), windowsSection(), thresholdSection(),
      editable ? h('button', { type: 'submit', id: 'save' }, 'Salvar configuração') : null);
    if (editable) schedule();
  }

  const previewPanel = editable
    ? h('section', { class: 'preview-panel', 'aria-labelledby': 'preview-title' },
      h('h2', { id: 'preview-title' }, 'Prévia'),
      field('Código do cliente (vazio: o último importado)', client), previewNote, previewText)
    : null;

  try {
    await load();
  } catch (problem) {
    if (problem.status !== 404) throw problem;
    fill(main, h('h1', {}, title), alertBox('error', 'Este tenant ainda não tem configuração. ',
      'A primeira é aplicada com `cobranca tenants apply` (ou PUT /config).'));
    return null;
  }
  fill(main, h('h1', {}, title),
    editable ? null : h('p', { class: 'muted', id: 'read-only' }, 'Somente leitura: só um administrador do tenant altera a régua.'),
    message, h('div', { class: 'regua' }, form, previewPanel));
  return () => clearTimeout(timer);
}
