// Conversas: the hand-off queue first (oldest first: whoever waits longest is answered first),
// then every chat with its last message and what the bot understood; a chat's thread shows each
// message the debtor sent with the intent, confidence and entities the classifier read, a way to
// correct that label, to resolve the hand-off, and to reply as a person.
// Message texts are personal data: viewers never get here (the API answers them 403).
import { request } from '../api.js';
import { alertBox, field, fill, h, table } from '../dom.js';
import { INTENTS, brl, dateTime, day, duration } from '../format.js';

const REFRESH_MS = 15000;
const REASONS = {
  dispute: 'Contesta a dívida', talk_to_human: 'Pediu uma pessoa', low_confidence: 'O robô não entendeu',
  negotiate: 'Quer negociar', opt_out: 'Não quer contato', wrong_person: 'Pessoa errada',
};
const STATUS = { requested: 'Pedida', sent: 'Enviada', delivered: 'Entregue', read: 'Lida', failed: 'Falhou' };

const intent = (label) => INTENTS[label] || label || '—';
const percent = (p) => (p === null || p === undefined ? '—' : `${Math.round(p * 100)}%`);

/** A label picker and its button, each named for the row it acts on. */
function labelControl(what, current, button, act) {
  const select = h('select', { 'aria-label': `Intenção para ${what}` },
    Object.entries(INTENTS).map(([value, text]) => h('option', { value, selected: value === current }, text)));
  return h('span', { class: 'inline' }, select, ' ',
    h('button', { type: 'button', class: 'secondary', 'aria-label': `${button} ${what}`, onclick: () => act(select.value) }, button));
}

export async function show(main, { tenant, title, params }) {
  const base = `/v1/tenants/${encodeURIComponent(tenant)}`;
  const chat = params.get('chat');
  const message = h('div');
  const fail = (problem) => fill(message, alertBox('error', problem.message));

  async function resolve(handoff, label, who) {
    try {
      await request('POST', `${base}/handoffs/${encodeURIComponent(handoff)}/resolution`, { body: { label } });
      fill(message, alertBox('ok', `Atendimento de ${who} resolvido como “${intent(label)}”; o robô volta a responder.`));
      await refresh();
    } catch (problem) {
      fail(problem);
    }
  }

  // --- the queue and the inbox ---------------------------------------------------------------
  const queue = h('div', { id: 'handoffs', class: 'queue' });
  const inbox = h('div', { id: 'inbox' });

  async function loadQueue() {
    const { handoffs } = await request('GET', `${base}/handoffs`);
    fill(queue, table('Atendimentos esperando uma pessoa, o mais antigo primeiro', [
      ['Esperando há', (x) => h('span', { class: 'age' }, duration(x.age_s))],
      ['Contato', (x) => h('a', { href: `#/conversas?chat=${encodeURIComponent(x.chat)}` }, `+${x.chat}`)],
      ['Motivo', (x) => REASONS[x.reason] || x.reason],
      ['Mensagem', (x) => x.message?.text || '—'],
      ['Resolver', (x) => labelControl(`o atendimento de +${x.chat}`, x.intent, 'Resolver',
        (label) => resolve(x.handoff_id, label, `+${x.chat}`))],
    ], handoffs, 'Ninguém esperando atendimento.'));
  }

  async function loadInbox() {
    const { conversations } = await request('GET', `${base}/conversations?limit=100`);
    fill(inbox, table('Conversas, a mais recente primeiro', [
      ['Contato', (c) => h('a', { href: `#/conversas?chat=${encodeURIComponent(c.chat)}` }, c.phone || `+${c.chat}`)],
      ['Última mensagem', (c) => h('span', {}, c.last_message.text || '—',
        h('span', { class: 'muted' }, ` · ${c.last_message.direction === 'inbound' ? 'devedor' : 'enviada'}, ${dateTime(c.last_message.at)}`))],
      ['Intenção', (c) => intent(c.last_intent?.label)],
      ['Confiança', (c) => percent(c.last_intent?.confidence), { num: true }],
      ['Atendimento', (c) => (c.open_handoff ? 'Esperando pessoa' : '—')],
    ], conversations, 'Nenhuma conversa ainda.'));
  }

  // --- one thread ----------------------------------------------------------------------------
  const thread = h('div', { id: 'thread' });

  function understood(m) {
    if (!m.intent) return h('p', { class: 'understood muted' }, 'Ainda não classificada.');
    const { promised_date: promised, amount_centavos: amount } = m.intent.entities || {};
    const entities = [promised ? `data prometida ${day(promised)}` : null, amount != null ? `valor ${brl(amount)}` : null].filter(Boolean);
    return h('div', { class: 'understood' },
      h('p', {}, 'O robô entendeu: ', h('strong', {}, intent(m.intent.label)), ` (${percent(m.intent.confidence)})`,
        entities.length ? ` · ${entities.join(', ')}` : '',
        m.corrected_label ? h('span', {}, ' · corrigida para ', h('strong', {}, intent(m.corrected_label))) : ''),
      labelControl(`a mensagem de ${dateTime(m.at)}`, m.corrected_label || m.intent.label, 'Corrigir', async (label) => {
        try {
          await request('POST', `${base}/conversations/${encodeURIComponent(chat)}/corrections`, { body: { message_id: m.message_id, label } });
          fill(message, alertBox('ok', `Intenção corrigida para “${intent(label)}”. A correção entra no próximo treino do classificador.`));
          await loadThread();
        } catch (problem) {
          fail(problem);
        }
      }));
  }

  async function loadThread() {
    const t = await request('GET', `${base}/conversations/${encodeURIComponent(chat)}`);
    const who = t.phone || `+${t.chat}`;
    const text = h('textarea', { rows: 3, maxlength: 4096, required: true });
    const form = h('form', { 'aria-label': 'Responder como pessoa' }, field('Resposta (enviada como pessoa, pelo WhatsApp do tenant)', text),
      h('button', { type: 'submit', id: 'send-reply' }, 'Enviar resposta'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!text.value.trim()) return fill(message, alertBox('error', 'Escreva a resposta.'));
      try {
        await request('POST', `${base}/conversations/${encodeURIComponent(chat)}/replies`, { body: { text: text.value } });
        fill(message, alertBox('ok', 'Resposta enviada para a fila de envio; ela aparece aqui quando o WhatsApp a aceitar.'));
        text.value = '';
      } catch (problem) {
        fail(problem);
      }
    });
    fill(thread,
      h('h2', {}, `Conversa com ${who}`),
      h('p', {}, h('a', { href: '#/conversas' }, '← Voltar para a fila e as conversas'),
        t.client_id ? h('span', { class: 'muted' }, ` · cliente ${t.client_id}`) : ''),
      t.handoff ? alertBox('status', h('p', {}, `Esperando uma pessoa desde ${dateTime(t.handoff.opened_at)} (${REASONS[t.handoff.reason] || t.handoff.reason}).`),
        labelControl(`o atendimento de ${who}`, null, 'Resolver', (label) => resolve(t.handoff.handoff_id, label, who))) : null,
      h('ol', { class: 'thread', 'aria-label': 'Mensagens, a mais antiga primeiro' }, t.messages.map((m) => h('li', { class: m.direction },
        h('p', { class: 'meta' }, m.direction === 'inbound' ? 'Devedor' : (m.author ? `Pessoa (${m.author})` : `Robô${m.step ? ` · etapa ${m.step}` : ''}`),
          ` · ${dateTime(m.at)}`, m.direction === 'outbound' && m.status ? ` · ${STATUS[m.status] || m.status}` : ''),
        h('p', {}, m.text || `(${m.kind || 'mídia'})`),
        m.direction === 'inbound' ? understood(m) : null))),
      form);
  }

  async function refresh() {
    if (chat) await loadThread();
    else await Promise.all([loadQueue(), loadInbox()]);
  }

  fill(main, h('h1', {}, title), message, ...(chat ? [thread] : [
    h('h2', {}, 'Fila de atendimento'), queue,
    h('h2', {}, 'Conversas'), inbox]));
  await refresh();
  // The lists move on their own (new messages, hand-offs); a thread is refreshed when acted on,
  // so a reply being typed is never wiped.
  const timer = chat ? null : setInterval(() => refresh().catch(fail), REFRESH_MS);
  return () => clearInterval(timer);
}
