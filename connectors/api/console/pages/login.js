// Logging in, and setting a first password from an invite (the link an administrator copies
// from "Usuários e chaves": #/convite?token=…).
import { ApiProblem, logIn } from '../api.js';
import { alertBox, field, fill, h } from '../dom.js';

function problemText(problem) {
  return problem instanceof ApiProblem ? problem.message : `Falha de rede: ${problem.message}`;
}

export function login(main, { params, done }) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const message = h('div');
  const submit = h('button', { type: 'submit' }, 'Entrar');
  const form = h('form', { novalidate: true }, field('Email', email), field('Senha', password), submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!email.value || !password.value) {
      fill(message, alertBox('error', 'Preencha o email e a senha.'));
      return;
    }
    submit.disabled = true;
    try {
      await logIn('/v1/auth/login', { email: email.value.trim(), password: password.value });
      done();
    } catch (problem) {
      const text = problem.code === 'unauthorized' ? 'Email ou senha incorretos.' : problemText(problem);
      fill(message, alertBox('error', text));
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  if (params.get('saiu')) fill(message, alertBox('ok', 'Você saiu. Até logo!'));
  fill(main, h('section', { class: 'login' },
    h('h1', {}, 'Entrar no console'), message, form,
    h('p', {}, h('a', { href: '#/convite' }, 'Recebi um convite: definir minha senha'))));
}

export function acceptInvite(main, { params, done }) {
  const token = h('input', { type: 'text', name: 'token', autocomplete: 'off', required: true, value: params.get('token') || '' });
  const password = h('input', { type: 'password', autocomplete: 'new-password', minlength: 12, required: true });
  const again = h('input', { type: 'password', autocomplete: 'new-password', minlength: 12, required: true });
  const message = h('div');
  const submit = h('button', { type: 'submit' }, 'Definir senha e entrar');
  const form = h('form', { novalidate: true },
    field('Código do convite', token),
    field('Nova senha (mínimo 12 caracteres)', password),
    field('Repita a nova senha', again), submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (password.value.length < 12) {
      fill(message, alertBox('error', 'A senha precisa ter pelo menos 12 caracteres.'));
      return password.focus();
    }
    if (password.value !== again.value) {
      fill(message, alertBox('error', 'As duas senhas não são iguais.'));
      return again.focus();
    }
    submit.disabled = true;
    try {
      await logIn('/v1/auth/invites/accept', { token: token.value.trim(), password: password.value });
      done();
    } catch (problem) {
      fill(message, alertBox('error', problemText(problem)));
    } finally {
      submit.disabled = false;
    }
  });
  fill(main, h('section', { class: 'login' },
    h('h1', {}, 'Definir a primeira senha'),
    h('p', {}, 'Use o código do convite que o administrador do seu tenant enviou.'),
    message, form, h('p', {}, h('a', { href: '#/entrar' }, 'Já tenho senha: entrar'))));
}
