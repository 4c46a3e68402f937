// The submission form: "Other…" company name shown only when needed, and a small map on
// which a click sets the latitude and longitude inputs. Without this script the form
// still works: every input is visible and the point can be typed.
(function () {
  "use strict";

  var OTHER = "__other__";
  var COLORS = { water: "#dfe8ef", land: "#f7f5f0", border: "#b9b4a8", point: "#c0392b" };

  function setUpOtherCompany(form) {
    var select = form.querySelector("select[name=company]");
    var wrapper = form.querySelector(".other-company");
    if (!select || !wrapper) return;
    var invalid = wrapper.classList.contains("field--invalid");
    function update() {
      wrapper.hidden = select.value !== OTHER && !invalid;
    }
    select.addEventListener("change", function () {
      invalid = false;
      update();
      if (select.value === OTHER) wrapper.querySelector("input").focus();
    });
    update();
  }

  function webglAvailable() {
    try {
      var canvas = document.createElement("canvas");
      return !!(canvas.getContext("webgl2") || canvas.getContext("webgl"));
    } catch (e) {
      return false;
    }
  }

  function round(value) {
    return Math.round(value * 100000) / 100000;
  }

  function currentPoint(lat, lng) {
    var y = parseFloat(lat.value);
    var x = parseFloat(lng.value);
    if (!isFinite(x) || !isFinite(y) || Math.abs(y) > 90 || Math.abs(x) > 180) return null;
    return [x, y];
  }

  function pointData(coords) {
    return {
      type: "FeatureCollection",
      features: coords ? [{ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: coords } }] : [],
    };
  }

  function drawPicker(picker, form, countries) {
    var lat = form.querySelector("input[name=latitude]");
    var lng = form.querySelector("input[name=longitude]");
    var start = currentPoint(lat, lng);
    var map = new maplibregl.Map({
      container: picker.querySelector(".point-picker-map"),
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
            paint: { "circle-color": COLORS.point, "circle-radius": 7,
                     "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } },
        ],
      },
      center: start || [20, 10],
      zoom: start ? 4 : 0.8,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      renderWorldCopies: false,
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.on("error", function () {});

    function show(coords) {
      var source = map.getSource("point");
      if (source) source.setData(pointData(coords));
    }
    map.on("click", function (event) {
      var wrapped = event.lngLat.wrap();
      lat.value = round(wrapped.lat);
      lng.value = round(wrapped.lng);
      show([wrapped.lng, wrapped.lat]);
    });
    [lat, lng].forEach(function (input) {
      input.addEventListener("input", function () { show(currentPoint(lat, lng)); });
    });
    picker.querySelector(".point-picker-clear").addEventListener("click", function () {
      lat.value = "";
      lng.value = "";
      show(null);
    });
  }

  function setUpPicker(form) {
    var picker = form.querySelector(".point-picker");
    if (!picker) return;
    if (!window.maplibregl || !window.topojson || !window.techmapOutlines || !window.fetch || !webglAvailable()) {
      return; // the typed latitude and longitude inputs remain
    }
    maplibregl.setWorkerUrl(picker.dataset.workerUrl);
    fetch(picker.dataset.atlasUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("atlas " + response.status);
        return response.json();
      })
      .then(function (topology) {
        picker.hidden = false;
        drawPicker(picker, form, window.techmapOutlines.countries(topology));
      })
      .catch(function () { picker.hidden = true; });
  }

  function start() {
    var form = document.querySelector(".submit-form");
    if (!form) return;
    setUpOtherCompany(form);
    setUpPicker(form);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
