// Brazilian formats for everything the console shows: dates DD/MM/YYYY, money R$ 1.234,56,
// times in São Paulo. The API speaks ISO-8601 (UTC instants, São Paulo days) and integers
// (tokens, centavos); only the display changes.

export const TIME_ZONE = 'America/Sao_Paulo';

const integer = new Intl.NumberFormat('pt-BR');
const decimal = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 1 });
const money = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
const moment = new Intl.DateTimeFormat('pt-BR', {
  timeZone: TIME_ZONE, day: '2-digit', month: '2-digit', year: 'numeric',
  hour: '2-digit', minute: '2-digit',
});
const clock = new Intl.DateTimeFormat('pt-BR', {
  timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit',
});
const isoDay = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE });  // en-CA: YYYY-MM-DD

/** 1234 → "1.234" */
export function count(n) {
  return n === null || n === undefined ? '—' : integer.format(n);
}

/** 0.714 → "0,7" (rates, averages) */
export function decimalCount(n) {
  return n === null || n === undefined ? '—' : decimal.format(n);
}

/** 123456 centavos → "R$ 1.234,56". Formatted from the exact decimal text, never a float. */
export function brl(centavos) {
  if (centavos === null || centavos === undefined) return '—';
  const sign = centavos < 0 ? '-' : '';
  const abs = Math.abs(centavos);
  return money.format(`${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`);
}

/** "2026-12-07" (a São Paulo day) → "07/12/2026" */
export function day(iso) {
  if (!iso) return '—';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

/** "07/12/2026" → "2026-12-07", or null when it is not a real date. */
export function parseDay(text) {
  const match = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text.trim());
  if (!match) return null;
  const [, d, m, y] = match;
  const date = new Date(Date.UTC(+y, +m - 1, +d));
  if (date.getUTCMonth() !== +m - 1 || date.getUTCDate() !== +d) return null;
  return `${y}-${m}-${d}`;
}

/** An instant (ISO, UTC) → "07/12/2026 14:05", São Paulo time. */
export function dateTime(iso) {
  return iso ? moment.format(new Date(iso)).replace(',', '') : '—';
}

/** Now, São Paulo clock: "14:05:09". */
export function now() {
  return clock.format(new Date());
}

/** Today's São Paulo day, "YYYY-MM-DD", or `offset` days from it. */
export function today(offset = 0) {
  return isoDay.format(new Date(Date.now() + offset * 86400000));
}

/** Seconds → "3 min 20 s" / "1 h 05 min". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export const INTENTS = {
  promise_to_pay: 'Promessa de pagamento',
  already_paid: 'Já pagou',
  request_payment_info: 'Pediu dados para pagar',
  negotiate: 'Quer negociar',
  dispute: 'Contesta a dívida',
  opt_out: 'Não quer contato',
  talk_to_human: 'Quer falar com pessoa',
  wrong_person: 'Pessoa errada',
  other: 'Outros',
};

export const ROLES = {
  platform_admin: 'Administrador da plataforma',
  tenant_admin: 'Administrador',
  operator: 'Operador',
  viewer: 'Leitor',
};
