/* The map's API answered in the browser, for a static copy of the site (techmap publish-static).
 *
 * A static host has no Python behind it, so the publisher writes every published entry once
 * into one JSON file (the map element's data-static-api) and each entry's detail into
 * /api/entries/<id>.json. This file answers the URLs map.js asks for with the same JSON the
 * server gives (techmap/api/entries.py): /api/map (points, or grid clusters above the point
 * limit, plus lines), /api/facets, /api/entries (a page) and /api/entries/<id>. The filter
 * rules are those of techmap/catalog/queries.py, the counts those of facets.py and the
 * clusters those of clusters.py; tests/test_publish_static.py compares them with the server.
 */
'use strict';

(() => {
  const MAX_EXPANSION_ZOOM = 16;
  const LINE_FEATURE_LIMIT = 1000;
  const MAX_WORDS = 10;

  let dataPromise = null;

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  function dataUrl() {
    const el = document.getElementById('map');
    return el && el.dataset.staticApi;
  }

  /** The published entries and the lookup tables, fetched once. */
  function loadData() {
    if (!dataPromise) {
      dataPromise = fetch(dataUrl(), { headers: { Accept: 'application/json' } }).then((response) => {
        if (!response.ok) throw new ApiError(response.status, `Could not load the data (HTTP ${response.status})`);
        return response.json();
      }).then(prepare);
      dataPromise.catch(() => { dataPromise = null; }); // a failed load may be retried
    }
    return dataPromise;
  }

  function prepare(data) {
    const byKey = (rows, key) => new Map(rows.map((row) => [row[key], row]));
    data.companyBySlug = byKey(data.companies, 'slug');
    data.categoryBySlug = byKey(data.categories, 'slug');
    data.countryByIso2 = byKey(data.countries, 'iso2');
    data.topicBySlug = byKey(data.topics, 'slug');
    return data;
  }

  /* ---------- filters (catalog/queries.py) ---------- */

  function values(params, name) {
    return params.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  }

  function known(list, table, label) {
    const unknown = list.filter((v) => !table.has(v));
    if (unknown.length) throw new ApiError(400, `unknown ${label}: ${unknown.slice(0, 5).join(', ').slice(0, 200)}`);
    return [...new Set(list)];
  }

  function year(params, name) {
    const list = values(params, name);
    if (!list.length) return null;
    if (list.length > 1) throw new ApiError(400, `${name} takes one year`);
    if (!/^[+-]?\d+$/.test(list[0])) throw new ApiError(400, `${name} must be a year such as 2018, not '${list[0].slice(0, 20)}'`);
    const value = Number(list[0]);
    if (value < 1900 || value > 2100) throw new ApiError(400, `${name} must be between 1900 and 2100`);
    return value;
  }

  function parseFilters(params, data) {
    const q = values(params, 'q').join(' ');
    if (q.length > 200) throw new ApiError(400, 'q is limited to 200 characters');
    const filters = {
      company: known(values(params, 'company'), data.companyBySlug, 'company'),
      category: known(values(params, 'category'), data.categoryBySlug, 'category'),
      country: known(values(params, 'country').map((v) => v.toUpperCase()), data.countryByIso2, 'country'),
      topic: known(values(params, 'topic'), data.topicBySlug, 'topic'),
      year_from: year(params, 'year_from'),
      year_to: year(params, 'year_to'),
      words: q.trim().split(/\s+/).filter(Boolean).slice(0, MAX_WORDS).map((w) => w.toLowerCase()),
    };
    if (filters.year_from && filters.year_to && filters.year_from > filters.year_to) {
      throw new ApiError(400, 'year_from must not be after year_to');
    }
    return filters;
  }

  /** Whether entry passes filters, leaving out the filter named in `ignore`. */
  function matches(entry, filters, ignore) {
    if (ignore !== 'company' && filters.company.length && !entry.companies.some((c) => filters.company.includes(c))) return false;
    if (ignore !== 'category' && filters.category.length &&
        !filters.category.includes(entry.category) && !filters.category.includes(entry.secondary_category)) return false;
    if (ignore !== 'country' && filters.country.length && !filters.country.includes(entry.country)) return false;
    if (ignore !== 'topic' && filters.topic.length && !entry.topics.some((t) => filters.topic.includes(t))) return false;
    if (ignore !== 'years') {
      if (filters.year_from !== null && !(
        (entry.year_ended !== null && entry.year_ended >= filters.year_from) ||
        (entry.year_ended === null && entry.year_started !== null))) return false;
      if (filters.year_to !== null && !(entry.year_started !== null && entry.year_started <= filters.year_to)) return false;
    }
    return filters.words.every((word) => entry.text.includes(word) || entry.id === word);
  }

  /* ---------- facets (catalog/facets.py) ---------- */

  function facetRows(counts, table, selected, fields) {
    const keys = new Set([...counts.keys(), ...selected.filter((v) => table.has(v))]);
    const rows = [...keys].map((key) => {
      const row = {};
      fields.forEach((f) => { row[f] = table.get(key)[f]; });
      row.count = counts.get(key) || 0;
      return row;
    });
    const name = (r) => r.name.toLowerCase();
    return rows.sort((a, b) => b.count - a.count || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  }

  function tally(entries, keysOf) {
    const counts = new Map();
    entries.forEach((entry) => keysOf(entry).forEach((key) => {
      if (key !== null && key !== undefined) counts.set(key, (counts.get(key) || 0) + 1);
    }));
    return counts;
  }

  function facets(data, filters) {
    const without = (name) => data.entries.filter((e) => matches(e, filters, name));
    const years = without('years');
    const starts = years.map((e) => e.year_started).filter((y) => y !== null);
    const ends = years.map((e) => e.year_ended).filter((y) => y !== null);
    const lastStart = starts.length ? Math.max(...starts) : null;
    const lastEnd = ends.length ? Math.max(...ends) : null;
    const last = [lastStart, lastEnd].filter((y) => y !== null);
    return {
      total: data.entries.filter((e) => matches(e, filters)).length,
      company: facetRows(tally(without('company'), (e) => e.companies), data.companyBySlug, filters.company, ['slug', 'name']),
      category: facetRows(
        // Primary and secondary category both count, as the category filter matches both.
        tally(without('category'), (e) => (e.secondary_category && e.secondary_category !== e.category
          ? [e.category, e.secondary_category] : [e.category])),
        data.categoryBySlug, filters.category, ['slug', 'name', 'color'],
      ),
      country: facetRows(tally(without('country'), (e) => [e.country]), data.countryByIso2, filters.country, ['iso2', 'name']),
      topic: facetRows(tally(without('topic'), (e) => e.topics), data.topicBySlug, filters.topic, ['slug', 'name']),
      years: { min: starts.length ? Math.min(...starts) : null, max: last.length ? Math.max(...last) : null },
    };
  }

  /* ---------- map (catalog/clusters.py) ---------- */

  function parseBbox(text) {
    const parts = (text || '').split(',').map(Number);
    if (parts.length !== 4 || !parts.every(Number.isFinite)) {
      throw new ApiError(400, 'bbox must be four numbers: west,south,east,north');
    }
    return parts;
  }

  function inBbox(entry, [west, south, east, north]) {
    if (entry.latitude === null || entry.longitude === null) return false;
    if (entry.latitude < south || entry.latitude > north) return false;
    return west <= east
      ? entry.longitude >= west && entry.longitude <= east
      : entry.longitude >= west || entry.longitude <= east;
  }

  const round6 = (v) => Math.round(v * 1e6) / 1e6;

  function mapProperties(entry, data) {
    const category = data.categoryBySlug.get(entry.category) || {};
    return {
      id: entry.id,
      title: entry.title,
      category: entry.category,
      color: category.color,
      companies: entry.companies.map((slug) => data.companyBySlug.get(slug).name).join(', '),
      precision: entry.precision,
    };
  }

  function pointFeature(entry, data) {
    return {
      type: 'Feature',
      id: entry.id,
      geometry: { type: 'Point', coordinates: [entry.longitude, entry.latitude] },
      properties: mapProperties(entry, data),
    };
  }

  function clusterPoints(entries, zoom, data) {
    const cell = 360 / 2 ** zoom / 4;
    const cells = new Map();
    entries.forEach((entry) => {
      const x = Math.floor(entry.longitude / cell);
      const y = Math.floor(entry.latitude / cell);
      const key = `${x},${y}`;
      if (!cells.has(key)) cells.set(key, { x, y, members: [] });
      cells.get(key).members.push(entry);
    });
    const ordered = [...cells.values()].sort((a, b) => a.y - b.y || a.x - b.x);
    return ordered.map(({ x, y, members }) => {
      if (members.length === 1) return pointFeature(members[0], data);
      const mean = (key) => members.reduce((sum, e) => sum + e[key], 0) / members.length;
      return {
        type: 'Feature',
        id: `cluster-${zoom}-${x}-${y}`,
        geometry: { type: 'Point', coordinates: [round6(mean('longitude')), round6(mean('latitude'))] },
        properties: { cluster: true, count: members.length, expansion_zoom: Math.min(zoom + 2, MAX_EXPANSION_ZOOM) },
      };
    });
  }

  function lineTouches(geometry, [west, south, east, north]) {
    const lines = geometry.type === 'LineString' ? [geometry.coordinates] : geometry.coordinates;
    const positions = lines.flat();
    if (!positions.length) return false;
    const lngs = positions.map((p) => p[0]);
    const lats = positions.map((p) => p[1]);
    if (Math.max(...lats) < south || Math.min(...lats) > north) return false;
    const ranges = west <= east ? [[west, east]] : [[west, 180], [-180, east]];
    return ranges.some(([w, e]) => Math.max(...lngs) >= w && Math.min(...lngs) <= e);
  }

  function mapData(data, params) {
    const filters = parseFilters(params, data);
    const bbox = parseBbox(params.get('bbox'));
    const zoom = Number(params.get('zoom'));
    if (!Number.isInteger(zoom) || zoom < 0 || zoom > 22) throw new ApiError(400, 'zoom must be an integer from 0 to 22');
    const matching = data.entries.filter((e) => matches(e, filters));
    const inView = matching.filter((e) => inBbox(e, bbox));
    const clustered = inView.length > data.point_limit;
    const features = clustered ? clusterPoints(inView, zoom, data) : inView.map((e) => pointFeature(e, data));
    const lines = matching.filter((e) => e.line && lineTouches(e.line, bbox)).slice(0, LINE_FEATURE_LIMIT);
    lines.forEach((entry) => {
      features.push({ type: 'Feature', id: entry.id, geometry: entry.line, properties: { ...mapProperties(entry, data), line: true } });
    });
    return {
      type: 'FeatureCollection', numberReturned: features.length, features,
      total: inView.length, clustered, zoom, bbox,
    };
  }

  /* ---------- entry list (api/entries.py list_entries) ---------- */

  function categoryRef(data, slug) {
    const c = slug ? data.categoryBySlug.get(slug) : null;
    return c ? { slug: c.slug, name: c.name, name_zh: c.name_zh, color: c.color } : null;
  }

  function summary(entry, data) {
    const country = entry.country ? data.countryByIso2.get(entry.country) : null;
    return {
      id: entry.id,
      title: entry.title,
      url: entry.url,
      companies: entry.companies.map((slug) => {
        const c = data.companyBySlug.get(slug);
        return { slug, name: c.name, name_zh: c.name_zh };
      }),
      category: categoryRef(data, entry.category),
      secondary_category: categoryRef(data, entry.secondary_category),
      country: country ? { iso2: country.iso2, name: country.name, name_zh: country.name_zh } : null,
      city: entry.city,
      precision: entry.precision,
      latitude: entry.latitude,
      longitude: entry.longitude,
      year_started: entry.year_started,
      year_ended: entry.year_ended,
      highlight: entry.highlight,
    };
  }

  function entryList(data, params) {
    const filters = parseFilters(params, data);
    const limit = Math.min(Number(params.get('limit')) || data.page_size, data.max_page_size);
    const offset = Math.max(Number(params.get('offset')) || 0, 0);
    let matching = data.entries.filter((e) => matches(e, filters));
    if (params.get('bbox')) {
      const bbox = parseBbox(params.get('bbox'));
      matching = matching.filter((e) => inBbox(e, bbox));
    }
    const page = (at) => {
      const next = new URLSearchParams(params);
      next.set('limit', String(limit));
      next.set('offset', String(at));
      return `/api/entries?${next}`;
    };
    return {
      count: matching.length,
      limit,
      offset,
      next: offset + limit < matching.length ? page(offset + limit) : null,
      previous: offset > 0 ? page(Math.max(offset - limit, 0)) : null,
      results: matching.slice(offset, offset + limit).map((e) => summary(e, data)),
    };
  }

  /* ---------- dispatch ---------- */

  async function detail(id, signal) {
    // Each entry's full detail is its own file, written from the server's answer.
    const response = await fetch(`/api/entries/${encodeURIComponent(id)}.json`, { signal, headers: { Accept: 'application/json' } });
    if (response.status === 404) throw new ApiError(404, `No published entry has the id '${id.slice(0, 80)}'.`);
    if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
    return response.json();
  }

  /** The JSON the live API would answer for url (a same-origin /api/... address). */
  async function getJson(url, signal) {
    const address = new URL(url, location.origin);
    const params = address.searchParams;
    const path = address.pathname;
    const entryMatch = /^\/api\/entries\/([^/]+)$/.exec(path);
    if (entryMatch) return detail(decodeURIComponent(entryMatch[1]), signal);
    const data = await loadData();
    if (signal && signal.aborted) throw new DOMException('The request was aborted.', 'AbortError');
    if (path === '/api/map') return mapData(data, params);
    if (path === '/api/facets') return facets(data, parseFilters(params, data));
    if (path === '/api/entries') return entryList(data, params);
    throw new ApiError(404, `${path} is not available in the static copy of this site.`);
  }

  window.techmapStaticApi = { getJson };
})();
