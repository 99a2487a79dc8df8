// Visão geral: KPIs and charts from ClickHouse's views (GET …/analytics/{view}) and the balance
// (GET …/tokens) for a range of São Paulo days, refreshed every 30 s while the page is open.
import { request } from '../api.js';
import { alertBox, field, fill, h } from '../dom.js';
import { INTENTS, brl, count, day, decimalCount, duration, now, parseDay, today } from '../format.js';

const REFRESH_MS = 30000;
const COLORS = ['#0b5cad', '#2a9d8f', '#e9a23b', '#a4161a', '#6a4c93', '#577590', '#4a4a4a'];

/** Every São Paulo day from `start` to `end` ("YYYY-MM-DD"), inclusive. */
function days(start, end) {
  const out = [];
  for (let d = new Date(`${start}T00:00:00Z`); d <= new Date(`${end}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

function sum(rows, key) {
  return rows.reduce((total, row) => total + (row[key] || 0), 0);
}

/** Per-day totals of `key` over `range`, 0 where a view has no row. */
function daily(rows, range, key) {
  const by = new Map();
  for (const row of rows) by.set(row.day, (by.get(row.day) || 0) + (row[key] || 0));
  return range.map((d) => by.get(d) || 0);
}

/** What the page shows, computed from the views' rows: pure, so the numbers are easy to check. */
export function figures(views, balance, range) {
  const funnel = views.funnel;
  const sent = {
    dispatched: sum(funnel, 'dispatched'), delivered: sum(funnel, 'delivered'),
    read: sum(funnel, 'read'), replied: sum(funnel, 'replied'),
  };
  const intents = new Map();
  for (const row of views.intents) intents.set(row.label, (intents.get(row.label) || 0) + row.classified);
  const byIntent = [...intents.entries()].sort((a, b) => b[1] - a[1]);
  const debited = daily(views.billing, range, 'debited');
  const refunded = daily(views.billing, range, 'refunded');
  const used = debited.map((n, i) => n - refunded[i]);
  const credited = daily(views.billing, range, 'credited');
  // Balance at the end of each day, walked back from today's: a day's balance is the next
  // day's minus what came in that next day plus what was used.
  const history = new Array(range.length).fill(null);
  if (balance !== null) {
    let running = balance;
    for (let i = range.length - 1; i >= 0; i -= 1) {
      history[i] = running;
      running = running - credited[i] + used[i];
    }
  }
  // The current rate: tokens used a day over the last 7 days of the range (or all of it).
  const recent = used.slice(-7);
  const recentUse = recent.reduce((a, b) => a + b, 0);
  const rate = recent.length ? recentUse / recent.length : 0;
  // In integers (balance × days ÷ tokens), so 95 tokens at 5 a week are 133 days, not 132.99….
  const daysLeft = balance !== null && recentUse > 0 ? Math.floor((balance * recent.length) / recentUse) : null;
  const replies = views.response_times.filter((r) => r.replied > 0 && r.read_to_reply_s?.length);
  const lastReply = replies[replies.length - 1] || null;
  return {
    sent, byIntent, used, rate, daysLeft, history,
    promises: {
      made: sum(views.promises, 'promises'),
      kept: sum(views.promises, 'followed_by_a_claim'),
      centavos: sum(views.promises, 'promised_centavos'),
    },
    medianReply: lastReply ? { seconds: lastReply.read_to_reply_s[0], day: lastReply.day } : null,
  };
}

function kpi(label, value, id) {
  return h('li', { id }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, value));
}

function chartBox(id, title) {
  return h('section', { class: 'chart', 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    h('div', { id, class: 'canvas', role: 'img', 'aria-label': title }));
}

const axisDays = (range) => ({ type: 'category', data: range.map((d) => day(d).slice(0, 5)) });
const base = { color: COLORS, grid: { left: 48, right: 16, top: 32, bottom: 32 }, tooltip: { trigger: 'axis' }, animation: false };

function options(fig, views, range, balance) {
  const promisesMade = daily(views.promises, range, 'promises');
  const promisesKept = daily(views.promises, range, 'followed_by_a_claim');
  const medianBy = (key) => {
    const by = new Map(views.response_times.map((r) => [r.day, r[key]?.[0] ?? null]));
    return range.map((d) => (by.has(d) && by.get(d) !== null ? Math.round(by.get(d) / 6) / 10 : null));
  };
  // The projection starts today at the balance and falls at the current rate until zero.
  const projection = [];
  const future = [];
  if (balance !== null && fig.rate > 0) {
    const horizon = Math.min(fig.daysLeft + 1, 366);  // until it reaches zero, a year at most
    for (let k = 1; k <= horizon; k += 1) {
      future.push(today(k));
      projection.push(Math.max(0, Math.round(balance - fig.rate * k)));
    }
  }
  const burnDays = [...range, ...future];
  return {
    'chart-funnel': {
      ...base,
      tooltip: { trigger: 'item' },
      xAxis: { type: 'category', data: ['Enviadas', 'Entregues', 'Lidas', 'Respondidas'] },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: 'Mensagens', type: 'bar', data: [fig.sent.dispatched, fig.sent.delivered, fig.sent.read, fig.sent.replied], label: { show: true, position: 'top' } }],
    },
    'chart-intents': {
      ...base,
      grid: { left: 170, right: 32, top: 16, bottom: 24 },
      tooltip: { trigger: 'item' },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, data: fig.byIntent.map(([label]) => INTENTS[label] || label) },
      series: [{ name: 'Respostas', type: 'bar', data: fig.byIntent.map(([, n]) => n), label: { show: true, position: 'right' } }],
    },
    'chart-promises': {
      ...base,
      legend: { top: 0 },
      xAxis: axisDays(range),
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: 'Feitas', type: 'bar', data: promisesMade },
        { name: 'Cumpridas', type: 'bar', data: promisesKept },
      ],
    },
    'chart-response': {
      ...base,
      legend: { top: 0 },
      xAxis: axisDays(range),
      yAxis: { type: 'value', name: 'min' },
      series: [
        { name: 'Envio → leitura', type: 'line', connectNulls: true, data: medianBy('dispatch_to_read_s') },
        { name: 'Leitura → resposta', type: 'line', connectNulls: true, data: medianBy('read_to_reply_s') },
      ],
    },
    'chart-tokens': {
      ...base,
      xAxis: axisDays(range),
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ name: 'Tokens usados', type: 'bar', data: fig.used }],
    },
    'chart-burndown': {
      ...base,
      legend: { top: 0 },
      xAxis: { type: 'category', data: burnDays.map((d) => day(d).slice(0, 5)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: 'Saldo', type: 'line', data: [...fig.history, ...future.map(() => null)] },
        { name: 'Projeção', type: 'line', lineStyle: { type: 'dashed' }, data: [...range.map((d, i) => (i === range.length - 1 ? balance : null)), ...projection] },
      ],
    },
  };
}

export async function show(main, { me, tenant, title }) {
  const from = h('input', { type: 'text', inputmode: 'numeric', placeholder: 'DD/MM/AAAA', value: day(today(-29)), size: 10 });
  const to = h('input', { type: 'text', inputmode: 'numeric', placeholder: 'DD/MM/AAAA', value: day(today()), size: 10 });
  const stamp = h('p', { class: 'muted', id: 'updated' });
  const message = h('div');
  const kpis = h('ul', { class: 'kpis', 'aria-label': 'Indicadores do período' });
  const boxes = [
    chartBox('chart-funnel', 'Funil: enviadas, entregues, lidas, respondidas'),
    chartBox('chart-intents', 'Respostas por intenção'),
    chartBox('chart-promises', 'Promessas feitas e cumpridas por dia'),
    chartBox('chart-response', 'Mediana do tempo de resposta por dia (minutos)'),
    chartBox('chart-tokens', 'Tokens usados por dia'),
    chartBox('chart-burndown', 'Saldo de tokens e projeção no ritmo atual'),
  ];
  const form = h('form', { class: 'inline', 'aria-label': 'Período' },
    field('De', from), field('Até', to), h('button', { type: 'submit' }, 'Atualizar'));
  fill(main, h('h1', {}, title), form, stamp, message, kpis, h('div', { class: 'charts' }, boxes));

  const charts = new Map();
  const canDraw = typeof window.echarts !== 'undefined';
  if (!canDraw) fill(message, alertBox('error', 'Os gráficos não estão instalados no servidor (rode infra/bootstrap.sh).'));
  const resize = () => charts.forEach((chart) => chart.resize());
  window.addEventListener('resize', resize);
  let busy = false;

  async function load() {
    const start = parseDay(from.value);
    const end = parseDay(to.value);
    if (!start || !end || start > end) {
      fill(message, alertBox('error', 'Use datas válidas no formato DD/MM/AAAA, com “De” antes de “Até”.'));
      return;
    }
    if (busy) return;
    busy = true;
    try {
      const q = `from=${start}&to=${end}`;
      const names = ['funnel', 'intents', 'promises', 'response_times', 'billing'];
      const base = `/v1/tenants/${encodeURIComponent(tenant)}`;
      const [rows, balanceBody] = await Promise.all([
        Promise.all(names.map((n) => request('GET', `${base}/analytics/${n}?${q}`).then((b) => b.rows))),
        me.permissions.includes('tokens:read') ? request('GET', `${base}/tokens`) : Promise.resolve(null),
      ]);
      const views = Object.fromEntries(names.map((n, i) => [n, rows[i]]));
      const range = days(start, end);
      const balance = balanceBody ? balanceBody.balance : null;
      const fig = figures(views, balance, range);
      const rate = fig.rate ? `${decimalCount(fig.rate)} por dia` : 'sem consumo recente';
      fill(kpis,
        kpi('Enviadas', count(fig.sent.dispatched), 'kpi-sent'),
        kpi('Entregues', count(fig.sent.delivered), 'kpi-delivered'),
        kpi('Lidas', count(fig.sent.read), 'kpi-read'),
        kpi('Respondidas', count(fig.sent.replied), 'kpi-replied'),
        kpi('Promessas feitas', `${count(fig.promises.made)} (${brl(fig.promises.centavos)})`, 'kpi-promises'),
        kpi('Promessas cumpridas', count(fig.promises.kept), 'kpi-kept'),
        kpi(fig.medianReply ? `Mediana leitura → resposta (${day(fig.medianReply.day)})` : 'Mediana leitura → resposta',
          fig.medianReply ? duration(fig.medianReply.seconds) : '—', 'kpi-median'),
        kpi('Saldo de tokens', count(balance), 'kpi-balance'),
        kpi(`Dias restantes (${rate})`, fig.daysLeft === null ? '—' : count(fig.daysLeft), 'kpi-days-left'),
      );
      if (canDraw) {
        for (const [id, option] of Object.entries(options(fig, views, range, balance))) {
          const el = document.getElementById(id);
          if (!el) return;  // the page was left meanwhile
          let chart = charts.get(id);
          if (!chart) charts.set(id, chart = window.echarts.init(el, null, { renderer: 'canvas' }));
          chart.setOption(option, { notMerge: true });
        }
        describe(fig, balance);
      }
      fill(message);
      fill(stamp, `Atualizado às ${now()} (a cada 30 s).`);
    } catch (problem) {
      fill(message, alertBox('error', problem.message));
    } finally {
      busy = false;
    }
  }

  // Charts are pictures: their accessible names say the numbers a sighted user reads.
  function describe(fig, balance) {
    const label = (id, text) => document.getElementById(id)?.setAttribute('aria-label', text);
    label('chart-funnel', `Funil: ${fig.sent.dispatched} enviadas, ${fig.sent.delivered} entregues, ${fig.sent.read} lidas, ${fig.sent.replied} respondidas`);
    label('chart-intents', `Respostas por intenção: ${fig.byIntent.map(([l, n]) => `${INTENTS[l] || l} ${n}`).join(', ') || 'nenhuma'}`);
    label('chart-promises', `Promessas: ${fig.promises.made} feitas, ${fig.promises.kept} cumpridas`);
    label('chart-response', `Mediana leitura → resposta: ${fig.medianReply ? duration(fig.medianReply.seconds) : 'sem dados'}`);
    label('chart-tokens', `Tokens usados no período: ${fig.used.reduce((a, b) => a + b, 0)}`);
    label('chart-burndown', `Saldo ${balance ?? 'desconhecido'}; ${fig.daysLeft === null ? 'sem previsão de fim' : `acaba em ${fig.daysLeft} dias no ritmo atual`}`);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  await load();
  const timer = setInterval(load, REFRESH_MS);
  return () => {
    clearInterval(timer);
    window.removeEventListener('resize', resize);
    charts.forEach((chart) => chart.dispose());
  };
}
