// The one way the console talks to the API: every call goes through `request` (or `upload` for
// files, which needs XMLHttpRequest's upload progress). It adds the access token, refreshes it
// once on a 401 and retries, and turns the API's one error shape
// {"error": {"code", "message", "details"}} into an ApiProblem with a message in Portuguese.
//
// Tokens live in sessionStorage (ADR 0027): they survive a reload of the tab, and end with it;
// another tab logs in on its own, so two tabs never spend one refresh token.

const KEY = 'cobranca.session';

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY)) || null;
    } catch {
      return null;
    }
  },
  set(tokens) {
    sessionStorage.setItem(KEY, JSON.stringify({
      access: tokens.access_token, refresh: tokens.refresh_token,
    }));
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/** Called when the login is over (refresh refused): the app shows the login page. */
let loggedOut = () => {};
export function onLoggedOut(callback) {
  loggedOut = callback;
}

const MESSAGES = {
  unauthorized: 'Sua sessão terminou ou as credenciais não conferem. Entre de novo.',
  forbidden: 'Sem permissão para esta ação.',
  not_found: 'Não encontrado.',
  locked: 'Muitas tentativas de login. Aguarde alguns minutos e tente de novo.',
  rate_limited: 'Muitas requisições seguidas. Aguarde um instante e tente de novo.',
  invalid_field: 'Um campo não está certo.',
  invalid_query: 'Um filtro não está certo.',
  invalid_json: 'O pedido não pôde ser lido.',
  invalid_body: 'O pedido não pôde ser lido.',
  invalid_invite: 'Este convite não vale (já usado, vencido ou copiado errado).',
  invalid_message: 'A mensagem não está certa.',
  session_not_pairing: 'A sessão não está esperando a leitura de um QR. Inicie-a primeiro.',
  whatsapp_unavailable: 'O WhatsApp (WAHA) não respondeu. Tente de novo em instantes.',
  unavailable: 'O serviço está indisponível agora. Tente de novo em instantes.',
  unsupported_format: 'Formato de arquivo não aceito (use CSV, JSON, NDJSON ou planilha).',
  unsupported_media_type: 'Formato não aceito.',
  body_too_large: 'O arquivo é maior do que o aceito.',
  too_many_imports: 'Há importações demais em andamento. Tente de novo em instantes.',
  too_many_imports_for_tenant: 'Este tenant já tem uma importação em andamento.',
  internal: 'Algo falhou no servidor.',
  precondition_failed: 'Outra pessoa mudou a configuração depois que você a abriu.',
  invalid_config: 'A configuração tem problemas; veja cada um ao lado do campo.',
  invalid_template: 'A mensagem tem um problema.',
  unknown_step: 'A régua em vigor não tem essa etapa.',
  no_debtor: 'Nenhum devedor importado com esse código: importe devedores para ver a prévia.',
  handoff_resolved: 'Este atendimento já foi resolvido por outra pessoa.',
  import_running: 'A importação ainda está em andamento.',
  not_yet_stored: 'As linhas rejeitadas ainda estão sendo gravadas. Tente de novo em instantes.',
};

const FIELDS = {
  email: 'email', password: 'senha', roles: 'papéis', role: 'papel', name: 'nome',
  scopes: 'escopos', amount: 'quantidade', reference: 'referência', token: 'convite',
  new_password: 'nova senha', from: 'data inicial', to: 'data final',
  client_id: 'código do cliente', label: 'intenção', text: 'mensagem', template: 'mensagem',
};

/** A refusal or failure of the API, said in Portuguese; `code` and `details` as the API gave. */
export class ApiProblem extends Error {
  constructor(status, code, apiMessage, details = {}, requestId = null) {
    let text = MESSAGES[code] || `O servidor recusou o pedido (${status}).`;
    const field = details.field || details.parameter;
    if (field) text += ` Campo: ${FIELDS[field] || field}.`;
    if (status >= 500 && requestId) text += ` Código do pedido: ${requestId}.`;
    super(text);
    this.status = status;
    this.code = code;
    this.apiMessage = apiMessage;  // English, for support; shown as a detail only
    this.details = details;
    this.requestId = requestId;
  }
}

async function problemOf(response) {
  const requestId = response.headers.get('X-Request-Id');
  try {
    const { error } = await response.json();
    return new ApiProblem(response.status, error.code, error.message, error.details, requestId);
  } catch {
    return new ApiProblem(response.status, 'http_error', response.statusText, {}, requestId);
  }
}

// One refresh at a time: a refresh token is spent by its first use, and the API ends the whole
// login when one comes back twice (it looks stolen). Requests that fail together wait for it.
let refreshing = null;

async function refreshOnce() {
  refreshing ||= (async () => {
    const current = session.get();
    if (!current?.refresh) return false;
    const response = await fetch('/v1/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: current.refresh }),
    });
    if (!response.ok) return false;
    session.set(await response.json());
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

/** After a 401 with `sentToken`: true when a retry is worth it (a newer token is there). */
async function renewed(sentToken) {
  const current = session.get();
  if (current?.access && current.access !== sentToken) return true;  // refreshed meanwhile
  if (await refreshOnce()) return true;
  session.clear();
  loggedOut();
  return false;
}

/**
 * Call the API. `body` is sent as JSON; `as` is 'json' (default), 'blob', 'text' or 'response'
 * (the fetch Response itself, for its headers).
 * Resolves with the parsed answer (null for 204); rejects with an ApiProblem.
 */
export async function request(method, path, { body, headers = {}, as = 'json' } = {}) {
  const send = () => {
    const token = session.get()?.access;
    const sent = { ...headers };
    if (token) sent.Authorization = `Bearer ${token}`;
    if (body !== undefined) sent['Content-Type'] = 'application/json';
    return [token, fetch(path, {
      method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body),
    })];
  };
  let [token, pending] = send();
  let response = await pending;
  if (response.status === 401 && token && await renewed(token)) {
    [, pending] = send();
    response = await pending;
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return null;
  if (as === 'response') return response;  // the caller needs headers too (ETag)
  if (as === 'blob') return response.blob();
  if (as === 'text') return response.text();
  return response.json();
}

/** Log in with email and password (or accept an invite): the tokens are kept for this tab. */
export async function logIn(path, body) {
  const tokens = await request('POST', path, { body });
  session.set(tokens);
  return tokens;
}

/** End this login on the server (its refresh tokens too), then forget it here. */
export async function logOut() {
  try {
    if (session.get()) await request('POST', '/v1/auth/logout');
  } catch {
    // Already over on the server (expired, revoked): forgetting it here is what is left.
  } finally {
    session.clear();
  }
}

/** Download `path` (a CSV, say) with the caller's token, saved as `filename`. */
export async function download(path, filename) {
  const blob = await request('GET', path, { as: 'blob' });
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * POST a file as the request body with upload progress (fetch has none): `onProgress(sent,
 * total)` while it goes. Same token and refresh rules as `request`.
 */
export async function upload(path, file, contentType, onProgress) {
  const send = (token) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new ApiProblem(0, 'network', 'network error'));
    xhr.send(file);
  });
  let token = session.get()?.access;
  let xhr = await send(token);
  if (xhr.status === 401 && token && await renewed(token)) {
    token = session.get()?.access;
    xhr = await send(token);
  }
  const body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
  if (xhr.status >= 400) {
    const error = body?.error || {};
    throw new ApiProblem(xhr.status, error.code, error.message, error.details || {},
      xhr.getResponseHeader('X-Request-Id'));
  }
  return { body, location: xhr.getResponseHeader('Location') };
}
