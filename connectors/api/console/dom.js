// Building the page with elements, never with HTML strings: text from the API (names, emails,
// references) is always inserted as text, so it cannot become markup (and the CSP forbids
// inline scripts anyway).

/** h('button', {type: 'button', onclick: f}, 'Sair') → <button type="button">Sair</button> */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A label wrapping its control, so every control has an accessible name. */
export function field(text, control) {
  control.id ||= `f${++uid}`;
  return h('label', { for: control.id }, text, control);
}

/** A message for everyone, screen readers included. */
export function alertBox(kind, ...children) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

export function announce(text) {
  const region = document.getElementById('announce');
  if (region) region.textContent = text;
}

/** A table with a caption; `columns` are [heading, cell(row), {num: true}?]. */
export function table(caption, columns, rows, empty = 'Nada por aqui ainda.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, columns.map(([title, , opt]) =>
      h('th', { scope: 'col', class: opt?.num ? 'num' : null }, title)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(([, cell, opt]) =>
      h('td', { class: opt?.num ? 'num' : null }, cell(row)))))),
  );
}
