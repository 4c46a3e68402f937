// The admin's location picker: a small map under the latitude and longitude fields of an
// entry. Clicking the map fills both fields and sets the precision to "exact"; typing in
// the fields moves the point. Loaded through ModelAdmin.Media (no inline script, so the
// admin keeps its strict Content-Security-Policy). Without WebGL the fields work as before.
(function () {
  "use strict";

  // The change form names the static files (their URLs may carry hashes) in
  // <div id="location-widget-config" data-worker-url data-atlas-url>.
  function config() {
    var node = document.getElementById("location-widget-config");
    return {
      workerUrl: (node && node.dataset.workerUrl) || "/static/vendor/maplibre-gl/maplibre-gl-csp-worker.js",
      atlasUrl: (node && node.dataset.atlasUrl) || "/static/vendor/world-atlas/countries-110m.json",
    };
  }
  var COLORS = { water: "#dfe8ef", land: "#f7f5f0", border: "#b9b4a8", point: "#c0392b" };

  function webglAvailable() {
    try {
      var canvas = document.createElement("canvas");
      return !!(canvas.getContext("webgl2") || canvas.getContext("webgl"));
    } catch (e) {
      return false;
    }
  }

  function readPoint(latInput, lngInput) {
    var lat = parseFloat(latInput.value);
    var lng = parseFloat(lngInput.value);
    if (!isFinite(lat) || !isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
    return [lng, lat];
  }

  function pointData(coords) {
    return {
      type: "FeatureCollection",
      features: coords ? [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: coords } }] : [],
    };
  }

  function setValue(input, value) {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function draw(container, countries, inputs) {
    var start = readPoint(inputs.lat, inputs.lng);
    var map = new maplibregl.Map({
      container: container,
      style: {
        version: 8,
        sources: {
          countries: { type: "geojson", data: countries },
          point: { type: "geojson", data: pointData(start) },
        },
        layers: [
          { id: "water", type: "background", paint: { "background-color": COLORS.water } },
          { id: "land", type: "fill", source: "countries", paint: { "fill-color": COLORS.land } },
          { id: "borders", type: "line", source: "countries",
            paint: { "line-color": COLORS.border, "line-width": 0.6 } },
          { id: "point", type: "circle", source: "point",
            paint: { "circle-color": COLORS.point, "circle-radius": 6,
                     "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } },
        ],
      },
      center: start || [20, 20],
      zoom: start ? 4 : 1,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      renderWorldCopies: false,
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.getCanvas().style.cursor = "crosshair";
    map.on("error", function () {});

    function showPoint() {
      var source = map.getSource("point");
      if (source) source.setData(pointData(readPoint(inputs.lat, inputs.lng)));
    }

    map.on("click", function (event) {
      var at = event.lngLat.wrap();
      setValue(inputs.lat, at.lat.toFixed(6));
      setValue(inputs.lng, at.lng.toFixed(6));
      if (inputs.precision) setValue(inputs.precision, "exact");
      showPoint();
    });
    inputs.lat.addEventListener("input", showPoint);
    inputs.lng.addEventListener("input", showPoint);
  }

  function start() {
    var inputs = {
      lat: document.getElementById("id_latitude"),
      lng: document.getElementById("id_longitude"),
      precision: document.getElementById("id_precision"),
    };
    if (!inputs.lat || !inputs.lng) return;
    var row = inputs.lng.closest(".form-row") || inputs.lng.parentNode;
    var wrapper = document.createElement("div");
    wrapper.className = "form-row location-widget";
    var help = document.createElement("p");
    help.className = "help";
    help.textContent = "Click the map to set the latitude and longitude; the precision becomes \u201cExact\u201d.";
    var container = document.createElement("div");
    container.className = "location-widget__map";
    container.setAttribute("role", "application");
    container.setAttribute("aria-label", "Map: click to set the location");
    wrapper.appendChild(help);
    wrapper.appendChild(container);
    row.parentNode.insertBefore(wrapper, row.nextSibling);

    function giveUp() {
      wrapper.hidden = true;
    }
    if (!window.maplibregl || !window.topojson || !window.techmapOutlines || !window.fetch || !webglAvailable()) {
      return giveUp();
    }
    var urls = config();
    maplibregl.setWorkerUrl(urls.workerUrl);
    fetch(urls.atlasUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("atlas " + response.status);
        return response.json();
      })
      .then(function (topology) {
        draw(container, window.techmapOutlines.countries(topology), inputs);
      })
      .catch(giveUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
