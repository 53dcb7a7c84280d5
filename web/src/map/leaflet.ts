import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { pageConfig } from '../config';

/** Where the map opens the first time: Johannesburg; later, where the person left it. */
const DEFAULT_VIEW = { lat: -26.2041, lon: 28.0473, zoom: 14 };
const VIEW_KEY = 'buurtwag.view';

export function savedView(): { lat: number; lon: number; zoom: number } {
  try {
    const v = JSON.parse(localStorage.getItem(VIEW_KEY) ?? 'null') as { lat: number; lon: number; zoom: number } | null;
    if (v && Number.isFinite(v.lat) && Number.isFinite(v.lon) && Number.isFinite(v.zoom)) return v;
  } catch {
    // fall through to the default
  }
  return DEFAULT_VIEW;
}

export function saveView(map: L.Map): void {
  const c = map.getCenter();
  try {
    localStorage.setItem(VIEW_KEY, JSON.stringify({ lat: c.lat, lon: c.lng, zoom: map.getZoom() }));
  } catch {
    // no storage: the map opens at the default next time
  }
}

/**
 * A Leaflet map with the configured tiles. When tiles cannot load (no network, as in tests) the
 * map keeps its plain background and everything on it still works.
 */
export function createMap(
  element: HTMLElement,
  labels: { zoomIn: string; zoomOut: string },
  view = savedView(),
): L.Map {
  const map = L.map(element, { zoomControl: false, attributionControl: true }).setView([view.lat, view.lon], view.zoom);
  L.control.zoom({ zoomInTitle: labels.zoomIn, zoomOutTitle: labels.zoomOut }).addTo(map);
  map.attributionControl.setPrefix(false);
  L.tileLayer(pageConfig.tileUrl, { attribution: pageConfig.tileAttribution, maxZoom: 19, crossOrigin: false }).addTo(
    map,
  );
  return map;
}

/** A pin as a focusable button with a name, coloured by status. */
export function pinIcon(color: string): L.DivIcon {
  return L.divIcon({
    className: 'pin',
    html: `<span class="pin-dot" style="background:${color}"></span>`,
    iconSize: [24, 24],
    iconAnchor: [12, 12],
  });
}

export function clusterIcon(count: number): L.DivIcon {
  const size = count < 10 ? 32 : count < 100 ? 38 : 46;
  return L.divIcon({
    className: 'cluster',
    html: `<span>${count}</span>`,
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
  });
}

export { L };
