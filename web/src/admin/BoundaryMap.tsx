import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { useEffect, useRef, useState } from 'react';
import { pageConfig } from '../config';
import { useI18n } from '../i18n/I18nProvider';
import type { Boundary } from './api';
import { polygonOf } from './geojson';

/**
 * Drawing a simple boundary: each click on the map adds a corner; "Use this shape" hands the
 * polygon to the form. The current boundary shows underneath. The text box next to it stays the
 * way to give one without a pointer (paste or upload).
 */
export default function BoundaryMap({
  current,
  onUse,
}: {
  current: Boundary | null;
  onUse: (boundary: Boundary) => void;
}) {
  const { t } = useI18n();
  const element = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const drawn = useRef<L.LayerGroup | null>(null);
  const shown = useRef<L.GeoJSON | null>(null);
  const [points, setPoints] = useState<Array<[number, number]>>([]);

  useEffect(() => {
    const m = L.map(element.current!, { zoomControl: false, attributionControl: true }).setView(
      [-26.2041, 28.0473],
      12,
    );
    L.control.zoom({ zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') }).addTo(m);
    m.attributionControl.setPrefix(false);
    L.tileLayer(pageConfig.tileUrl, { attribution: pageConfig.tileAttribution, maxZoom: 19 }).addTo(m);
    drawn.current = L.layerGroup().addTo(m);
    m.on('click', (e: L.LeafletMouseEvent) => setPoints((p) => [...p, [e.latlng.lng, e.latlng.lat]]));
    map.current = m;
    return () => {
      m.remove();
      map.current = null;
    };
    // made once; the zoom buttons keep the language they were made in until the form is opened again
  }, []);

  // the boundary the form holds now, fitted into view
  useEffect(() => {
    const m = map.current;
    if (!m) return;
    shown.current?.remove();
    shown.current = null;
    if (!current) return;
    const layer = L.geoJSON(current as GeoJSON.GeoJsonObject, {
      style: { color: '#555', weight: 2, fillOpacity: 0.1 },
    });
    layer.addTo(m);
    shown.current = layer;
    const bounds = layer.getBounds();
    if (bounds.isValid()) m.fitBounds(bounds, { padding: [16, 16] });
  }, [current]);

  useEffect(() => {
    const group = drawn.current;
    if (!group) return;
    group.clearLayers();
    const latlngs = points.map(([lon, lat]) => L.latLng(lat, lon));
    for (const p of latlngs) L.circleMarker(p, { radius: 5, color: '#b3261e', interactive: false }).addTo(group);
    if (latlngs.length >= 2) L.polygon(latlngs, { color: '#b3261e', weight: 2, interactive: false }).addTo(group);
  }, [points]);

  const polygon = polygonOf(points);
  return (
    <div className="boundary-draw">
      <p id="draw-help" className="muted">
        {t('admin.communities.draw_help')}
      </p>
      <div
        ref={element}
        className="draw-map"
        data-testid="draw-map"
        role="region"
        aria-label={t('admin.communities.draw_map')}
        aria-describedby="draw-help"
      />
      <p role="status">{t('admin.communities.points', { count: points.length })}</p>
      <div className="actions">
        <button
          type="button"
          className="secondary"
          disabled={points.length === 0}
          onClick={() => setPoints((p) => p.slice(0, -1))}
        >
          {t('admin.communities.undo_point')}
        </button>
        <button type="button" className="secondary" disabled={points.length === 0} onClick={() => setPoints([])}>
          {t('admin.communities.clear_points')}
        </button>
        <button
          type="button"
          disabled={!polygon}
          onClick={() => {
            if (!polygon) return;
            onUse(polygon);
            setPoints([]);
          }}
        >
          {t('admin.communities.use_shape')}
        </button>
      </div>
    </div>
  );
}
