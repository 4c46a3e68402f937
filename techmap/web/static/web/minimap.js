// Small location maps on the entry, company and country pages.
//
// A map is a <div class="minimap"> with either data-lat / data-lng / data-precision (one
// point, plus an optional line in the JSON block named by data-line-id) or data-points-id
// (a JSON block of [{lat, lng, title, url}]). The basemap is drawn from the locally served
// world-atlas country outlines: no tiles, glyphs or sprites, so nothing is requested from
// another host. The text beside each map says the same in words, so when WebGL or a script
// is unavailable the map is removed quietly and nothing else changes.
(function () {
  "use strict";

  // Only country outlines are drawn, so closer zooms would show an empty box.
  var ZOOM_BY_PRECISION = { exact: 5, city: 4.5, country: 3 };
  var COLORS = {
    water: "#dfe8ef",
    land: "#f7f5f0",
    border: "#b9b4a8",
    point: "#c0392b",
    line: "#17869e",
  };

  function webglAvailable() {
    try {
      var canvas = document.createElement("canvas");
      return !!(canvas.getContext("webgl2") || canvas.getContext("webgl"));
    } catch (e) {
      return false;
    }
  }

  function readJson(id) {
    var node = id && document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function pointFeature(lat, lng, props) {
    return {
      type: "Feature",
      properties: props || {},
      geometry: { type: "Point", coordinates: [lng, lat] },
    };
  }

  // The features a map container asks for: points and lines as GeoJSON.
  function featuresOf(el) {
    var points = [];
    var lines = [];
    var list = readJson(el.dataset.pointsId);
    if (Array.isArray(list)) {
      list.forEach(function (p) {
        if (isFinite(p.lat) && isFinite(p.lng)) {
          points.push(pointFeature(Number(p.lat), Number(p.lng), { title: p.title || "" }));
        }
      });
    }
    var lat = parseFloat(el.dataset.lat);
    var lng = parseFloat(el.dataset.lng);
    if (isFinite(lat) && isFinite(lng)) points.push(pointFeature(lat, lng));
    var line = readJson(el.dataset.lineId);
    if (line && (line.type === "LineString" || line.type === "MultiLineString")) {
      lines.push({ type: "Feature", properties: {}, geometry: line });
    }
    return { points: points, lines: lines };
  }

  function extend(bounds, coord) {
    bounds[0] = Math.min(bounds[0], coord[0]);
    bounds[1] = Math.min(bounds[1], coord[1]);
    bounds[2] = Math.max(bounds[2], coord[0]);
    bounds[3] = Math.max(bounds[3], coord[1]);
  }

  function boundsOf(features) {
    var bounds = [Infinity, Infinity, -Infinity, -Infinity];
    features.points.forEach(function (f) { extend(bounds, f.geometry.coordinates); });
    features.lines.forEach(function (f) {
      var parts = f.geometry.type === "LineString" ? [f.geometry.coordinates] : f.geometry.coordinates;
      parts.forEach(function (part) { part.forEach(function (c) { extend(bounds, c); }); });
    });
    return isFinite(bounds[0]) ? bounds : null;
  }

  function styleFor(countries, features) {
    return {
      version: 8,
      sources: {
        countries: { type: "geojson", data: countries },
        lines: { type: "geojson", data: { type: "FeatureCollection", features: features.lines } },
        points: { type: "geojson", data: { type: "FeatureCollection", features: features.points } },
      },
      layers: [
        { id: "water", type: "background", paint: { "background-color": COLORS.water } },
        { id: "land", type: "fill", source: "countries", paint: { "fill-color": COLORS.land } },
        { id: "borders", type: "line", source: "countries",
          paint: { "line-color": COLORS.border, "line-width": 0.6 } },
        { id: "route", type: "line", source: "lines",
          paint: { "line-color": COLORS.line, "line-width": 2.5 } },
        { id: "points", type: "circle", source: "points",
          paint: { "circle-color": COLORS.point, "circle-radius": 6,
                   "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } },
      ],
    };
  }

  function giveUp(el) {
    el.textContent = "";
    el.classList.add("minimap--unavailable");
    el.hidden = true;
  }

  function draw(el, countries) {
    var features = featuresOf(el);
    var bounds = boundsOf(features);
    if (!bounds) return giveUp(el);
    var single = features.points.length === 1 && features.lines.length === 0;
    var options = {
      container: el,
      style: styleFor(countries, features),
      attributionControl: false,
      interactive: true,
      scrollZoom: false,
      dragRotate: false,
      pitchWithRotate: false,
      renderWorldCopies: false,
    };
    if (single) {
      options.center = features.points[0].geometry.coordinates;
      options.zoom = ZOOM_BY_PRECISION[el.dataset.precision] || 4;
    } else {
      options.bounds = [[bounds[0], bounds[1]], [bounds[2], bounds[3]]];
      options.fitBoundsOptions = { padding: 30, maxZoom: 6 };
    }
    var map;
    try {
      map = new maplibregl.Map(options);
    } catch (e) {
      return giveUp(el);
    }
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    // A lost context or a failed source leaves the page readable; the text says it all.
    map.on("error", function () {});
    map.on("webglcontextlost", function () { giveUp(el); });
  }

  function start() {
    var maps = Array.prototype.slice.call(document.querySelectorAll(".minimap"));
    if (!maps.length) return;
    if (!window.maplibregl || !window.topojson || !window.techmapOutlines || !window.fetch || !webglAvailable()) {
      maps.forEach(giveUp);
      return;
    }
    maplibregl.setWorkerUrl(maps[0].dataset.workerUrl);
    fetch(maps[0].dataset.atlasUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("atlas " + response.status);
        return response.json();
      })
      .then(function (topology) {
        var countries = window.techmapOutlines.countries(topology);
        maps.forEach(function (el) { draw(el, countries); });
      })
      .catch(function () { maps.forEach(giveUp); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
