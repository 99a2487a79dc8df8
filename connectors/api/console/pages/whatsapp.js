// WhatsApp: the tenant's sessions as WAHA reports them; the tenant admin starts and stops them
// and shows the QR code to pair a number while a session waits for the scan.
import { request } from '../api.js';
import { alertBox, fill, h, table } from '../dom.js';

const STATUS = {
  WORKING: 'Conectada',
  SCAN_QR_CODE: 'Aguardando leitura do QR code',
  STARTING: 'Iniciando',
  STOPPED: 'Parada',
  FAILED: 'Com falha',
};

export async function show(main, { me, tenant, title }) {
  const base = `/v1/tenants/${encodeURIComponent(tenant)}/whatsapp/sessions`;
  const manage = me.permissions.includes('sessions:manage');
  const list = h('div', { id: 'sessions' });
  const qr = h('div', { id: 'qr' });
  const message = h('div');

  async function act(session, action) {
    try {
      const body = await request('POST', `${base}/${encodeURIComponent(session)}/${action}`);
      fill(message, alertBox('ok', `Sessão ${session}: ${STATUS[body.status] || body.status}.`));
      await load();
    } catch (problem) {
      fill(message, alertBox('error', problem.message));
    }
  }

  async function showQr(session) {
    try {
      const body = await request('GET', `${base}/${encodeURIComponent(session)}/qr`);
      fill(qr, h('h2', {}, `Parear a sessão ${session}`),
        h('p', {}, 'No celular: WhatsApp → Aparelhos conectados → Conectar um aparelho, e aponte para o código.'),
        h('img', { class: 'qr', src: `data:${body.mimetype};base64,${body.data}`, alt: `QR code para parear a sessão ${session}`, width: 256, height: 256 }));
    } catch (problem) {
      fill(qr);
      fill(message, alertBox('error', problem.message));
    }
  }

  async function load() {
    const body = await request('GET', base);
    const columns = [
      ['Sessão', (s) => s.name],
      ['Estado', (s) => STATUS[s.status] || s.status],
      ['Motor', (s) => s.engine || '—'],
    ];
    if (manage) {
      columns.push(['Ações', (s) => h('span', {},
        h('button', { type: 'button', class: 'secondary', onclick: () => act(s.name, 'start'), 'aria-label': `Iniciar ${s.name}` }, 'Iniciar'), ' ',
        h('button', { type: 'button', class: 'danger', onclick: () => act(s.name, 'stop'), 'aria-label': `Parar ${s.name}` }, 'Parar'), ' ',
        s.status === 'SCAN_QR_CODE'
          ? h('button', { type: 'button', onclick: () => showQr(s.name), 'aria-label': `Mostrar QR code de ${s.name}` }, 'Mostrar QR code')
          : null)]);
    }
    fill(list, table('Sessões de WhatsApp', columns, body.sessions,
      'Nenhuma sessão configurada para este tenant (configure em waha.sessions do arquivo do tenant).'));
  }

  fill(main, h('h1', {}, title), message, list, qr,
    h('button', { type: 'button', class: 'secondary', onclick: () => load().catch((p) => fill(message, alertBox('error', p.message))) }, 'Atualizar estado'));
  await load();
  return null;
}
