/* The embedded map (/embed/): a compact filter toggle and the "full view" link, which
 * always opens the view on screen (map.js fires "techmap:viewchange") on the full site. */
'use strict';

(() => {
  const toggle = document.getElementById('embed-filters-toggle');
  const full = document.getElementById('embed-full-link');

  toggle.addEventListener('click', () => {
    const open = document.body.classList.toggle('embed-filters-open');
    toggle.setAttribute('aria-expanded', String(open));
  });

  function update() {
    full.href = `${location.origin}/${location.search}${location.hash}`;
  }

  window.addEventListener('techmap:viewchange', update);
  update();
})();
