// The city map: zones (the box around their sensors) and sensors (dots) coloured by level, drawn
// with Leaflet over the configured map tiles, or over nothing (a schematic map, no internet
// needed). Tooltips are DOM nodes built with textContent, never HTML strings.
import L from 'leaflet';
import { h } from './lib/dom.js';

const css = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function createMap(container, mapConfig, onZone) {
  const colours = {
    NORMAL: css('--dot-normal', '#1a7f37'),
    WARNING: css('--dot-warning', '#b7791f'),
    CRITICAL: css('--dot-critical', '#b42318'),
    UNKNOWN: css('--dot-silent', '#8c959f'),
    SILENT: css('--dot-silent', '#8c959f'),
  };
  const map = L.map(container, { attributionControl: false, zoomSnap: 0.25, preferCanvas: true, keyboard: true, worldCopyJump: false });
  if (mapConfig.tileUrl) L.tileLayer(mapConfig.tileUrl, { maxZoom: 19, crossOrigin: true }).addTo(map);
  map.setView([0, 0], 2);
  const zoneLayers = new Map();
  const sensorLayers = new Map();
  let fitted = false;

  function zoneStyle(level) {
    const c = colours[level] ?? colours.UNKNOWN;
    return { color: c, weight: 2, fillColor: c, fillOpacity: level === 'NORMAL' ? 0.08 : 0.22 };
  }

  /** positions: Map sensorId → {lat, lon}; zones: the city's summaries; sensorLevel: sensorId → level. */
  function update(zones, positions, zoneOfSensor, sensorLevel) {
    const boxes = new Map();
    for (const [sensorId, p] of positions) {
      const zoneId = zoneOfSensor.get(sensorId);
      if (!zoneId) continue;
      const box = boxes.get(zoneId) ?? { s: p.lat, n: p.lat, w: p.lon, e: p.lon };
      box.s = Math.min(box.s, p.lat);
      box.n = Math.max(box.n, p.lat);
      box.w = Math.min(box.w, p.lon);
      box.e = Math.max(box.e, p.lon);
      boxes.set(zoneId, box);
    }
    for (const zone of zones) {
      const box = boxes.get(zone.zoneId);
      if (!box) continue;
      const pad = 0.0015;
      const bounds = [[box.s - pad, box.w - pad], [box.n + pad, box.e + pad]];
      let layer = zoneLayers.get(zone.zoneId);
      if (!layer) {
        layer = L.rectangle(bounds, zoneStyle(zone.level)).addTo(map);
        layer.on('click', () => onZone(zone.zoneId));
        zoneLayers.set(zone.zoneId, layer);
      } else {
        layer.setBounds(bounds);
        layer.setStyle(zoneStyle(zone.level));
      }
      const label = h('span', {}, `Zone ${zone.zoneId}: ${zone.level}`);
      if (layer.getTooltip()) layer.setTooltipContent(label);
      else layer.bindTooltip(label, { sticky: true });
    }
    for (const [sensorId, p] of positions) {
      const level = sensorLevel.get(sensorId) ?? 'NORMAL';
      const c = colours[level] ?? colours.NORMAL;
      let dot = sensorLayers.get(sensorId);
      const style = { radius: level === 'NORMAL' ? 3 : 5, color: c, weight: 1, fillColor: c, fillOpacity: 0.9 };
      if (!dot) {
        dot = L.circleMarker([p.lat, p.lon], style).addTo(map);
        dot.on('click', () => zoneOfSensor.get(sensorId) && onZone(zoneOfSensor.get(sensorId)));
        sensorLayers.set(sensorId, dot);
      } else {
        dot.setStyle(style);
      }
      const label = h('span', {}, `Sensor ${sensorId}: ${level}`);
      if (dot.getTooltip()) dot.setTooltipContent(label);
      else dot.bindTooltip(label);
    }
    if (!fitted && positions.size > 0) {
      const all = [...positions.values()].map((p) => [p.lat, p.lon]);
      map.fitBounds(L.latLngBounds(all).pad(0.05));
      fitted = true;
    }
    return positions.size;
  }

  return { update, invalidate: () => map.invalidateSize() };
}
