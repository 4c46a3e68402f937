/* Country outlines for every map on the site, from the locally installed Natural Earth
 * TopoJSON (world-atlas), converted with topojson-client. Shared by map.js and minimap.js. */
(function () {
  'use strict';

  /* Natural Earth cuts Russia, Fiji and Antarctica at the antimeridian inside one ring;
   * drawn as-is that ring sweeps across the whole map. Keep each ring continuous instead. */
  function unwrapPolygons(geometry) {
    if (!geometry) return;
    const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
    polygons.forEach((rings) => rings.forEach((ring) => {
      for (let i = 1; i < ring.length; i += 1) {
        const jump = ring[i][0] - ring[i - 1][0];
        if (Math.abs(jump) > 180) ring[i] = [ring[i][0] - 360 * Math.sign(jump), ring[i][1]];
      }
    }));
  }

  /** Land polygons as a GeoJSON FeatureCollection, safe to draw across the antimeridian. */
  function countries(topology) {
    const land = topojson.feature(topology, topology.objects.countries);
    land.features.forEach((feature) => unwrapPolygons(feature.geometry));
    return land;
  }

  /** Shared borders between countries, as a GeoJSON MultiLineString. */
  function borders(topology) {
    return topojson.mesh(topology, topology.objects.countries, (a, b) => a !== b);
  }

  window.techmapOutlines = { countries, borders };
})();
