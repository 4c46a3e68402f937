/* The map's share / embed menu: a permalink and an <iframe> snippet for the current view.
 *
 * map.js keeps the whole view in the URL (filters and selected entry in the query string,
 * map position in the hash) and fires "techmap:viewchange" whenever it rewrites it, so the
 * addresses here are always those of the view on screen. The embed address is the same
 * view at /embed/, the one path other sites may frame.
 */
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const menu = $('share-menu');
  if (!menu) return;
  const panel = $('share-panel');
  const linkBox = $('share-link');
  const embedBox = $('share-embed');
  const size = $('share-size');
  const status = $('share-status');

  const escapeAttribute = (text) => text
    .replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  /** The current view (query string and hash) at another path of this site. */
  const viewAt = (path) => `${location.origin}${path}${location.search}${location.hash}`;

  function snippet() {
    const [width, height] = size.value.split('x');
    const attributes = [
      ['src', viewAt('/embed/')],
      ['width', width],
      ['height', height],
      ['title', panel.dataset.iframeTitle],
      ['loading', 'lazy'],
      ['referrerpolicy', 'strict-origin-when-cross-origin'],
    ];
    return `<iframe ${attributes.map(([name, value]) => `${name}="${escapeAttribute(value)}"`).join(' ')}></iframe>`;
  }

  function update() {
    linkBox.value = viewAt(location.pathname);
    embedBox.value = snippet();
    $('share-preview').href = viewAt('/embed/');
  }

  async function copy(box) {
    box.focus();
    box.select();
    try {
      await navigator.clipboard.writeText(box.value);
      status.textContent = panel.dataset.copied;
    } catch (error) {
      // The Clipboard API needs a secure context; the selected text can still be copied.
      status.textContent = document.execCommand && document.execCommand('copy')
        ? panel.dataset.copied : panel.dataset.copyFailed;
    }
  }

  menu.querySelectorAll('[data-copy]').forEach((button) => {
    button.addEventListener('click', () => copy($(button.dataset.copy)));
  });
  [linkBox, embedBox].forEach((box) => box.addEventListener('focus', () => box.select()));
  size.addEventListener('change', update);
  menu.addEventListener('toggle', () => { status.textContent = ''; });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && menu.open) {
      menu.open = false;
      menu.querySelector('summary').focus();
    }
  });
  window.addEventListener('techmap:viewchange', update);
  update();
})();
