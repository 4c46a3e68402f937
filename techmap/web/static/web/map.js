/* The map page: filters, map, list and detail panel, all kept in the URL.
 *
 * URL: /?company=huawei&category=rd-lab&entry=<public id>&view=list#map=<zoom>/<lat>/<lng>
 * Filters and the selected entry live in the query string (the same parameters the
 * API and /entries/ accept); the map view lives in the hash. history.replaceState
 * keeps it current, so any view can be shared and survives a reload.
 */
'use strict';

(() => {
  const MULTI = ['company', 'category', 'country', 'topic'];
  const SINGLE = ['year_from', 'year_to', 'q'];
  const LIST_PAGE_SIZE = 50;
  const CLUSTER_MAX_ZOOM = 12;
  const WORLD = [[-130, -45], [160, 66]]; // the inhabited world, fitted to the screen

  const $ = (id) => document.getElementById(id);
  // Translations from Django's JavaScript catalog (/jsi18n/); English when it is absent.
  const _ = window.gettext || ((text) => text);
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (m, key) => String(values[key]));
  const number = (n) => n.toLocaleString(document.documentElement.lang || 'en');
  // The API gives every company, category, topic and country `name` and `name_zh` (blank
  // when unknown) rather than varying by language; show the page's language.
  const chinese = (document.documentElement.lang || '').toLowerCase().startsWith('zh');
  const nameOf = (item) => (chinese && item.name_zh) || item.name || '';
  const companyName = (c) => (chinese && c.name_zh ? `${c.name_zh} (${c.name})` : c.name);
  const config = JSON.parse($('map-config').textContent);
  const mapEl = $('map');
  const form = $('filters');
  const detail = $('detail');
  const categories = new Map(config.categories.map((c) => [c.slug, c]));

  const state = { filters: emptyFilters(), entry: null, view: 'map', camera: null };
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  function emptyFilters() {
    const filters = {};
    MULTI.forEach((name) => { filters[name] = []; });
    SINGLE.forEach((name) => { filters[name] = ''; });
    return filters;
  }

  /* ---------- URL state ---------- */

  function readUrl() {
    const params = new URLSearchParams(location.search);
    MULTI.forEach((name) => {
      state.filters[name] = params.getAll(name).flatMap((v) => v.split(',')).filter(Boolean);
    });
    SINGLE.forEach((name) => { state.filters[name] = (params.get(name) || '').trim(); });
    state.filters.country = state.filters.country.map((v) => v.toUpperCase());
    state.entry = params.get('entry') || null;
    state.view = params.get('view') === 'list' ? 'list' : 'map';
    const match = /(?:^#|&)map=([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)/.exec(location.hash);
    if (match) {
      const [zoom, lat, lng] = match.slice(1).map(Number);
      if ([zoom, lat, lng].every(Number.isFinite)) state.camera = { zoom, lat, lng };
    }
  }

  function filterParams() {
    const params = new URLSearchParams();
    MULTI.forEach((name) => state.filters[name].forEach((v) => params.append(name, v)));
    SINGLE.forEach((name) => { if (state.filters[name]) params.set(name, state.filters[name]); });
    return params;
  }

  function writeUrl() {
    const params = filterParams();
    if (state.entry) params.set('entry', state.entry);
    if (state.view === 'list') params.set('view', 'list');
    const query = params.toString();
    let hash = '';
    if (state.camera) {
      const { zoom, lat, lng } = state.camera;
      hash = `#map=${zoom.toFixed(2)}/${lat.toFixed(4)}/${lng.toFixed(4)}`;
    }
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${hash}`);
    // A static copy of the site (techmap publish-static) has the unfiltered files only.
    const filters = mapEl.dataset.staticApi ? '' : filterParams().toString();
    $('list-page-link').href = `/entries/${filters ? `?${filters}` : ''}`;
    for (const format of ['csv', 'xlsx', 'geojson']) {
      $(`download-${format}`).href = `/download/entries.${format}${filters ? `?${filters}` : ''}`;
    }
    // share.js and embed.js keep their links to this view current.
    window.dispatchEvent(new Event('techmap:viewchange'));
  }

  /* ---------- fetching ---------- */

  const controllers = {};

  /** Fetch JSON, aborting the previous request of the same kind (stale results never land). */
  async function getJson(kind, url) {
    if (controllers[kind]) controllers[kind].abort();
    const controller = new AbortController();
    controllers[kind] = controller;
    if (mapEl.dataset.staticApi) return staticJson(url, controller.signal);
    const response = await fetch(url, { signal: controller.signal, headers: { Accept: 'application/json' } });
    // An abort while the body is read must reach the caller as an abort, not as an empty body.
    const body = await response.json().catch((error) => {
      if (isAbort(error)) throw error;
      return {};
    });
    if (!response.ok) {
      const error = new Error(body.detail || body.message || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  const isAbort = (error) => error && error.name === 'AbortError';

  /** In a static copy of the site, static-api.js answers the API from published files. */
  async function staticJson(url, signal) {
    const body = await window.techmapStaticApi.getJson(url, signal);
    if (signal.aborted) throw new DOMException('The request was aborted.', 'AbortError');
    return body;
  }

  function showMessage(text) {
    const el = $('map-message');
    el.textContent = text || '';
    el.hidden = !text;
  }

  function debounce(fn, ms) {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  /* ---------- filter form ---------- */

  function formToState() {
    const data = new FormData(form);
    MULTI.forEach((name) => { state.filters[name] = data.getAll(name); });
    SINGLE.forEach((name) => { state.filters[name] = String(data.get(name) || '').trim(); });
    ['year_from', 'year_to'].forEach((name) => {
      // Half-typed years ("20") would only earn a 400 from the API; the input shows them invalid.
      if (!form.elements[name].checkValidity() || !/^\d{4}$/.test(state.filters[name])) state.filters[name] = '';
    });
  }

  function stateToForm() {
    MULTI.forEach((name) => {
      form.querySelectorAll(`input[name="${name}"]`).forEach((input) => {
        input.checked = state.filters[name].includes(input.value);
      });
    });
    SINGLE.forEach((name) => { form.elements[name].value = state.filters[name]; });
    MULTI.forEach((name) => {
      if (state.filters[name].length) form.querySelector(`[data-facet="${name}"]`).closest('details').open = true;
    });
  }

  function makeOption(name, value, label) {
    const wrapper = document.createElement('label');
    wrapper.className = 'option';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.name = name;
    input.value = value;
    const text = document.createElement('span');
    text.className = 'option__name';
    text.textContent = label;
    const count = document.createElement('span');
    count.className = 'option__count';
    count.dataset.count = '';
    wrapper.append(input, ' ', text, ' ', count);
    return wrapper;
  }

  function updateCounts(facets) {
    const total = facets.total;
    $('match-count').textContent = fmt(ngettext('%(count)s entry matches', '%(count)s entries match', total), { count: number(total) });
    MULTI.forEach((name) => {
      const box = form.querySelector(`[data-facet="${name}"]`);
      const counts = new Map((facets[name] || []).map((item) => [item.slug || item.iso2, item]));
      counts.forEach((item, value) => {
        if (!box.querySelector(`input[value="${CSS.escape(value)}"]`)) {
          box.append(makeOption(name, value, nameOf(item)));
        }
      });
      box.querySelectorAll('input').forEach((input) => {
        const n = counts.has(input.value) ? counts.get(input.value).count : 0;
        const option = input.closest('.option');
        option.querySelector('[data-count]').textContent = n.toLocaleString('en');
        option.classList.toggle('option--empty', n === 0 && !input.checked);
      });
      const active = state.filters[name].length;
      form.querySelector(`[data-active-for="${name}"]`).textContent = active ? fmt(_('(%(count)s selected)'), { count: active }) : '';
    });
    const years = facets.years || {};
    ['year_from', 'year_to'].forEach((name) => {
      if (years.min) form.elements[name].placeholder = name === 'year_from' ? years.min : years.max;
    });
    renderLegend(facets.category || []);
  }

  async function refreshFacets() {
    try {
      const params = filterParams().toString();
      updateCounts(await getJson('facets', `/api/facets${params ? `?${params}` : ''}`));
    } catch (error) {
      if (!isAbort(error)) $('match-count').textContent = fmt(_('Could not count entries: %(error)s'), { error: error.message });
    }
  }

  function onFiltersChanged() {
    formToState();
    writeUrl();
    refreshFacets();
    refreshMap();
    if (state.view === 'list') refreshList();
  }

  /* ---------- legend ---------- */

  function swatch(color) {
    const el = document.createElement('span');
    el.className = 'swatch';
    el.setAttribute('aria-hidden', 'true');
    el.style.backgroundColor = color;
    return el;
  }

  function renderLegend(categoryFacets) {
    const shown = categoryFacets.filter((c) => c.count > 0);
    const items = (shown.length ? shown : config.categories).map((c) => {
      const li = document.createElement('li');
      const known = categories.get(c.slug) || {}; // named by the page, in its language
      li.append(swatch(c.color || known.color || '#666'), document.createTextNode(known.name || nameOf(c)));
      return li;
    });
    $('legend-list').replaceChildren(...items);
  }

  /* ---------- map ---------- */

  readUrl();
  maplibregl.setWorkerUrl(mapEl.dataset.workerUrl);
  const start = state.camera
    ? { center: [state.camera.lng, state.camera.lat], zoom: state.camera.zoom }
    : { bounds: WORLD };
  const map = new maplibregl.Map({
    container: mapEl,
    style: baseStyle(),
    ...start,
    minZoom: 0,
    maxZoom: 16,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    attributionControl: false,
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.AttributionControl({
    compact: true,
    customAttribution: [
      _('Country outlines: Natural Earth'),
      fmt(_('Data: %(licence)s'), { licence: '<a href="/data/#licence">CC BY-SA 4.0</a>' }),
      config.tileAttribution,
    ].filter(Boolean),
  }), 'bottom-right');

  function baseStyle() {
    const sources = {};
    const layers = [{ id: 'sea', type: 'background', paint: { 'background-color': '#cfdde8' } }];
    if (config.tileUrl) {
      sources.tiles = { type: 'raster', tiles: [config.tileUrl], tileSize: 256 };
      layers.push({ id: 'tiles', type: 'raster', source: 'tiles' });
    }
    return { version: 8, sources, layers };
  }

  async function loadOutlines(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const topo = await response.json();
    return { land: window.techmapOutlines.countries(topo), borders: window.techmapOutlines.borders(topo) };
  }

  /* The first view draws the small 1:110m outlines (a seventh of the bytes and of the
   * polygons to tessellate); the 1:50m ones replace them once the user zooms in. */
  const DETAIL_ZOOM = 3;
  let detailedOutlines = null;

  function detailOutlinesWhenZoomed() {
    if (detailedOutlines || map.getZoom() < DETAIL_ZOOM || !map.getSource('countries')) return;
    detailedOutlines = loadOutlines(mapEl.dataset.countriesDetailUrl).then(({ land, borders }) => {
      map.getSource('countries').setData(land);
      map.getSource('borders').setData(borders);
    }).catch(() => {
      detailedOutlines = null; // the coarse outlines stay; the next zoom tries again
    });
  }

  async function addCountries() {
    const { land, borders } = await loadOutlines(mapEl.dataset.countriesUrl);
    map.addSource('countries', { type: 'geojson', data: land });
    map.addSource('borders', { type: 'geojson', data: borders });
    const before = map.getLayer('cables') ? 'cables' : undefined;
    map.addLayer({
      id: 'land', type: 'fill', source: 'countries',
      paint: { 'fill-color': '#f6f4ef', 'fill-opacity': config.tileUrl ? 0.35 : 1 },
    }, before);
    map.addLayer({
      id: 'borders', type: 'line', source: 'borders',
      paint: { 'line-color': '#a9a69d', 'line-width': ['interpolate', ['linear'], ['zoom'], 1, 0.4, 6, 1.2] },
    }, before);
  }

  function addEntryLayers() {
    map.addSource('cables', { type: 'geojson', data: emptyCollection() });
    map.addSource('entries', {
      type: 'geojson',
      data: emptyCollection(),
      cluster: true,
      clusterRadius: 36,
      clusterMaxZoom: CLUSTER_MAX_ZOOM,
      // Server clusters (many entries) carry a count; client clusters sum it.
      clusterProperties: { total: ['+', ['coalesce', ['get', 'count'], 1]] },
    });
    map.addLayer({
      id: 'cables', type: 'line', source: 'cables',
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': ['coalesce', ['get', 'color'], '#17becf'], 'line-width': 2.5, 'line-opacity': 0.85 },
    });
    map.addLayer({
      id: 'selected', type: 'circle', source: 'entries',
      filter: ['==', ['get', 'id'], ''],
      paint: { 'circle-radius': 13, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#111', 'circle-stroke-width': 3 },
    });
    map.addLayer({
      id: 'points', type: 'circle', source: 'entries',
      filter: ['!=', ['get', 'cluster'], true],
      paint: {
        'circle-color': ['coalesce', ['get', 'color'], '#555'],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 1, 5, 8, 8],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.5,
      },
    });
    ['points', 'cables'].forEach((layer) => {
      map.on('click', layer, onFeatureClick);
      map.on('mouseenter', layer, showTooltip);
      map.on('mousemove', layer, showTooltip);
      map.on('mouseleave', layer, hideTooltip);
    });
    map.on('render', updateClusterMarkers);
  }

  const emptyCollection = () => ({ type: 'FeatureCollection', features: [] });

  function bboxParam() {
    const bounds = map.getBounds();
    let west = bounds.getWest();
    let east = bounds.getEast();
    if (east - west >= 360) {
      west = -180;
      east = 180;
    }
    const wrap = (lng) => ((((lng + 180) % 360) + 360) % 360) - 180;
    const clampLat = (lat) => Math.max(-90, Math.min(90, lat));
    const round = (v) => v.toFixed(4);
    if (west !== -180 || east !== 180) {
      west = wrap(west);
      east = wrap(east);
      if (east === -180) east = 180;
    }
    return [west, clampLat(bounds.getSouth()), east, clampLat(bounds.getNorth())].map(round).join(',');
  }

  let renders = 0;

  async function refreshMap() {
    const params = filterParams();
    params.set('bbox', bboxParam());
    params.set('zoom', String(Math.max(0, Math.floor(map.getZoom()))));
    let data;
    try {
      data = await getJson('map', `/api/map?${params}`);
    } catch (error) {
      if (!isAbort(error)) showMessage(fmt(_('Could not load the map entries: %(error)s'), { error: error.message }));
      return;
    }
    const lines = data.features.filter((f) => f.properties && f.properties.line);
    const points = data.features.filter((f) => f.geometry && f.geometry.type === 'Point' && !(f.properties && f.properties.line));
    map.getSource('cables').setData({ type: 'FeatureCollection', features: lines });
    map.getSource('entries').setData({ type: 'FeatureCollection', features: points });
    showMessage(data.total === 0 ? _('No entries match these filters here.') : '');
    await afterRender();
    renders += 1;
    document.body.dataset.mapRenders = String(renders);
  }

  /** Resolve once the map has drawn everything it has been given. */
  function afterRender() {
    return new Promise((resolve) => {
      map.once('idle', resolve);
      map.triggerRepaint();
    });
  }

  const refreshMapSoon = debounce(refreshMap, 200);

  /* Cluster counts are HTML buttons: no font is fetched, and they are keyboard operable. */
  const clusterMarkers = new Map();

  function updateClusterMarkers() {
    if (!map.getSource('entries') || !map.isSourceLoaded('entries')) return;
    const seen = new Set();
    map.querySourceFeatures('entries', { filter: ['==', ['get', 'cluster'], true] }).forEach((feature) => {
      const props = feature.properties;
      const [lng, lat] = feature.geometry.coordinates;
      const key = props.cluster_id !== undefined ? `c${props.cluster_id}` : `s${lng},${lat},${props.count}`;
      if (seen.has(key)) return;
      seen.add(key);
      if (!clusterMarkers.has(key)) {
        const count = props.total || props.count || props.point_count;
        const button = document.createElement('button');
        button.type = 'button';
        button.className = `cluster ${count >= 100 ? 'cluster--l' : count >= 10 ? 'cluster--m' : 'cluster--s'}`;
        button.textContent = count.toLocaleString('en');
        button.setAttribute('aria-label', fmt(ngettext('%(count)s entry here: zoom in', '%(count)s entries here: zoom in', count), { count }));
        button.addEventListener('click', (event) => {
          event.stopPropagation();
          openCluster(props, [lng, lat]);
        });
        clusterMarkers.set(key, new maplibregl.Marker({ element: button }).setLngLat([lng, lat]).addTo(map));
      }
    });
    clusterMarkers.forEach((marker, key) => {
      if (!seen.has(key)) {
        marker.remove();
        clusterMarkers.delete(key);
      }
    });
  }

  async function openCluster(props, center) {
    if (props.cluster_id === undefined) {
      map.easeTo({ center, zoom: Math.max(props.expansion_zoom || map.getZoom() + 2, map.getZoom() + 1) });
      return;
    }
    const source = map.getSource('entries');
    const zoom = await source.getClusterExpansionZoom(props.cluster_id);
    if (zoom > CLUSTER_MAX_ZOOM) {
      // The entries share one place (e.g. city precision): list them instead of zooming.
      const leaves = await source.getClusterLeaves(props.cluster_id, 100, 0);
      showChoice(leaves.map((f) => f.properties));
    } else {
      map.easeTo({ center, zoom });
    }
  }

  function onFeatureClick(event) {
    const unique = new Map();
    event.features.forEach((f) => unique.set(f.properties.id, f.properties));
    const items = [...unique.values()];
    if (items.length === 1) selectEntry(items[0].id);
    else showChoice(items);
  }

  const tooltip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 10, className: 'map-tooltip' });

  function showTooltip(event) {
    map.getCanvas().style.cursor = 'pointer';
    const titles = [...new Set(event.features.map((f) => f.properties.title))];
    const text = titles.length > 1 ? fmt(_('%(count)s entries: %(titles)s'), { count: titles.length, titles: `${titles.slice(0, 3).join('; ')}${titles.length > 3 ? '…' : ''}` }) : titles[0];
    const el = document.createElement('span');
    el.textContent = text;
    tooltip.setLngLat(event.lngLat).setDOMContent(el).addTo(map);
  }

  function hideTooltip() {
    map.getCanvas().style.cursor = '';
    tooltip.remove();
  }

  function rememberCamera() {
    const center = map.getCenter().wrap();
    state.camera = { zoom: map.getZoom(), lat: center.lat, lng: center.lng };
    writeUrl();
  }

  function onMoveEnd() {
    rememberCamera();
    refreshMapSoon();
  }

  /* ---------- detail panel ---------- */

  let returnFocus = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function link(href, text) {
    const a = el('a', null, text);
    a.href = href;
    return a;
  }

  function years(entry) {
    if (!entry.year_started && !entry.year_ended) return '';
    if (entry.year_started && entry.year_ended) {
      return entry.year_started === entry.year_ended ? String(entry.year_started) : `${entry.year_started}–${entry.year_ended}`;
    }
    return entry.year_started ? `${entry.year_started}–` : fmt(_('until %(year)s'), { year: entry.year_ended });
  }

  function location_(entry) {
    return [entry.city, entry.country && nameOf(entry.country)].filter(Boolean).join(', ');
  }

  function openPanel(title, nodes) {
    if (detail.hidden) returnFocus = document.activeElement;
    const heading = el('h2', 'detail__title', title);
    heading.id = 'detail-title';
    heading.tabIndex = -1;
    $('detail-body').replaceChildren(heading, ...nodes);
    detail.hidden = false;
    heading.focus({ preventScroll: true });
  }

  function closeDetail() {
    if (detail.hidden) return;
    detail.hidden = true;
    state.entry = null;
    writeUrl();
    map.setFilter('selected', ['==', ['get', 'id'], '']);
    const target = returnFocus && document.contains(returnFocus) ? returnFocus : mapEl;
    returnFocus = null;
    if (target === mapEl) map.getCanvas().focus();
    else target.focus();
  }

  function showChoice(items) {
    const list = el('ul', 'detail__choices');
    items.forEach((item) => {
      const li = el('li');
      const button = el('button', 'linklike', item.title);
      button.type = 'button';
      button.addEventListener('click', () => selectEntry(item.id));
      li.append(swatch(item.color || '#666'), button);
      list.append(li);
    });
    openPanel(fmt(_('%(count)s entries at this place'), { count: items.length }), [list]);
  }

  function definition(dl, term, value) {
    if (!value || (Array.isArray(value) && !value.length)) return;
    dl.append(el('dt', null, term));
    const dd = el('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    dl.append(dd);
  }

  function joinLinks(items) {
    const span = el('span');
    items.forEach((node, i) => {
      if (i) span.append(', ');
      span.append(node);
    });
    return span;
  }

  function financing(entry) {
    const f = entry.financing;
    if (!f) return '';
    if (typeof f === 'string') return f;
    const amount = f.amount ? `${f.currency || ''} ${Number(f.amount).toLocaleString('en')}`.trim() : '';
    return [f.lender, amount].filter(Boolean).join(': ');
  }

  function renderEntry(entry) {
    const meta = el('dl', 'detail__meta');
    const companies = (entry.companies || []).map((c) => link(`/companies/${encodeURIComponent(c.slug)}/`, companyName(c)));
    definition(meta, companies.length > 1 ? _('Companies') : _('Company'), companies.length ? joinLinks(companies) : '');
    if (entry.category) {
      const category = el('span');
      category.append(swatch(entry.category.color || '#666'), nameOf(entry.category));
      definition(meta, _('Category'), category);
    }
    if (entry.country) {
      const place = el('span');
      if (entry.city) place.append(`${entry.city}, `);
      place.append(link(`/countries/${encodeURIComponent(entry.country.iso2)}/`, nameOf(entry.country)));
      definition(meta, _('Location'), place);
    } else {
      definition(meta, _('Location'), location_(entry));
    }
    definition(meta, _('Years'), years(entry));
    const partners = Array.isArray(entry.partners) ? entry.partners.join(', ') : entry.partners;
    definition(meta, _('Partners'), partners);
    definition(meta, _('Financing'), financing(entry));
    definition(meta, _('Topics'), (entry.topics || []).map((t) => (typeof t === 'string' ? t : nameOf(t))).join(', '));

    const nodes = [meta];
    if (entry.description) {
      const description = el('div', 'detail__description');
      description.innerHTML = entry.description; // sanitised with an allowlist on the server
      nodes.push(description);
    }
    if (entry.sources && entry.sources.length) {
      nodes.push(el('h3', null, _('Sources')));
      const list = el('ol', 'detail__sources');
      entry.sources.forEach((source) => {
        const text = source.citation || source.title || '';
        const li = el('li');
        if (source.n) li.value = source.n;
        if (source.url) {
          const a = link(source.url, source.url);
          a.rel = 'noopener noreferrer';
          const at = text.indexOf(source.url);
          if (at >= 0) li.append(text.slice(0, at), a, text.slice(at + source.url.length));
          else li.append(text, ' ', a);
        } else {
          li.textContent = text;
        }
        list.append(li);
      });
      nodes.push(list);
    }
    const permalink = link(entry.url || `/entries/${encodeURIComponent(entry.id)}/`, _('Open the entry page (permalink)'));
    permalink.className = 'detail__permalink';
    nodes.push(el('p', null), permalink);
    openPanel(entry.title, nodes);
  }

  async function selectEntry(id, { fly = false } = {}) {
    state.entry = id;
    writeUrl();
    map.setFilter('selected', ['==', ['get', 'id'], id]);
    try {
      const entry = await getJson('detail', `/api/entries/${encodeURIComponent(id)}`);
      renderEntry(entry);
      if (fly && entry.longitude !== null && entry.longitude !== undefined) {
        const point = map.project([entry.longitude, entry.latitude]);
        const canvas = map.getCanvas();
        if (state.view === 'map' && (point.x < 0 || point.y < 0 || point.x > canvas.clientWidth || point.y > canvas.clientHeight)) {
          map.easeTo({ center: [entry.longitude, entry.latitude] });
        }
      }
    } catch (error) {
      if (isAbort(error)) return;
      openPanel(error.status === 404 ? _('Entry not found') : _('Could not load this entry'), [
        el('p', null, error.status === 404 ? fmt(_('There is no published entry “%(id)s”.'), { id }) : error.message),
      ]);
    }
  }

  /* ---------- list view ---------- */

  let listLoaded = 0;

  function entryRow(entry) {
    const tr = el('tr');
    const title = el('td');
    const a = link(`/entries/${encodeURIComponent(entry.id)}/`, entry.title);
    a.className = 'entry-link';
    a.addEventListener('click', (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      selectEntry(entry.id, { fly: true });
    });
    title.append(a);
    const category = el('td');
    if (entry.category) category.append(swatch(entry.category.color || '#666'), nameOf(entry.category));
    tr.append(
      title,
      el('td', null, (entry.companies || []).map(companyName).join(', ')),
      category,
      el('td', null, location_(entry)),
      el('td', null, years(entry)),
    );
    return tr;
  }

  async function refreshList({ more = false } = {}) {
    const params = filterParams();
    params.set('limit', String(LIST_PAGE_SIZE));
    params.set('offset', String(more ? listLoaded : 0));
    let data;
    try {
      data = await getJson('list', `/api/entries?${params}`);
    } catch (error) {
      if (!isAbort(error)) $('list-caption').textContent = fmt(_('Could not load entries: %(error)s'), { error: error.message });
      return;
    }
    const rows = data.results.map(entryRow);
    if (more) $('list-body').append(...rows);
    else $('list-body').replaceChildren(...rows);
    listLoaded = (more ? listLoaded : 0) + rows.length;
    $('list-caption').textContent = fmt(ngettext('%(count)s matching entry', '%(count)s matching entries', data.count), { count: number(data.count) }) +
      (listLoaded < data.count ? fmt(_(' (showing %(shown)s)'), { shown: listLoaded }) : '');
    $('list-more').hidden = listLoaded >= data.count;
    $('list-view').dataset.loaded = String(listLoaded);
  }

  function setView(view) {
    state.view = view;
    document.querySelectorAll('[data-view]').forEach((button) => {
      button.setAttribute('aria-pressed', String(button.dataset.view === view));
    });
    $('map-view').hidden = view !== 'map';
    $('list-view').hidden = view !== 'list';
    writeUrl();
    if (view === 'list') refreshList();
    else map.resize();
  }

  /* ---------- wiring ---------- */

  function colourSwatches() {
    document.querySelectorAll('.swatch[data-color]').forEach((node) => {
      node.style.backgroundColor = node.dataset.color;
    });
  }

  if (window.matchMedia('(max-width: 760px)').matches) {
    // On a phone the map matters more than long open option lists.
    document.querySelectorAll('details.facet, details.legend').forEach((d) => { d.open = false; });
  }
  stateToForm();
  colourSwatches();
  renderLegend([]);
  writeUrl();

  form.addEventListener('change', (event) => {
    if (event.target.name === 'q') return; // handled on input
    onFiltersChanged();
  });
  form.elements.q.addEventListener('input', debounce(onFiltersChanged, 350));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    onFiltersChanged();
  });
  form.addEventListener('reset', (event) => {
    event.preventDefault();
    state.filters = emptyFilters();
    stateToForm();
    onFiltersChanged();
  });
  document.querySelectorAll('[data-view]').forEach((button) => {
    button.addEventListener('click', () => setView(button.dataset.view));
  });
  $('list-more').addEventListener('click', () => refreshList({ more: true }));
  $('detail-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !detail.hidden) closeDetail();
  });

  map.on('load', async () => {
    addEntryLayers();
    map.on('moveend', onMoveEnd);
    rememberCamera();
    refreshFacets();
    if (state.entry) selectEntry(state.entry, { fly: !start.zoom });
    if (state.view === 'list') setView('list');
    map.on('zoomend', detailOutlinesWhenZoomed);
    const outlines = addCountries().then(detailOutlinesWhenZoomed, (error) => {
      showMessage(fmt(_('Could not load the country outlines: %(error)s'), { error: error.message }));
    });
    await Promise.all([outlines, refreshMap()]);
    await afterRender();
    document.body.dataset.mapReady = 'true';
    resolveReady();
  });

  window.techmap = { map, state, ready, selectEntry, setView };
})();
