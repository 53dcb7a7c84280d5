import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, STATUSES, type Incident, type IncidentStatus } from '../api/client';
import { useCategories } from '../categories';
import { useI18n } from '../i18n/I18nProvider';
import { clusterPoints } from '../map/cluster';
import { clusterIcon, createMap, L, pinIcon, saveView } from '../map/leaflet';
import {
  CLUSTER_MAX_ZOOM,
  clusterQuery,
  DEFAULT_FILTERS,
  inBounds,
  matchesFilters,
  normalizeReference,
  STATUS_COLORS,
  viewQuery,
  VIEW_LIMIT,
  type Bounds,
  type Filters,
} from '../map/query';
import { live } from '../realtime/live';
import { Link, navigate } from '../router';
import { StatusBadge } from '../StatusBadge';

const SINCE_CHOICES = [0, 7, 30, 90] as const;

function toBounds(b: L.LatLngBounds): Bounds {
  return { west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() };
}

/** One of the server's clusters (GET /incidents/clusters), as the map draws it. */
interface ServerCluster {
  coordinates: number[];
  count: number;
  bounds: number[];
  incident?: { id: string; reference: string; status: string };
}

export default function MapPage() {
  const { t, lang, date } = useI18n();
  const categories = useCategories();
  const [filters, setFilters] = useState<Filters>(DEFAULT_FILTERS);
  const [bounds, setBounds] = useState<Bounds | null>(null);
  const [items, setItems] = useState<Incident[]>([]);
  const [zoom, setZoom] = useState<number | null>(null);
  // null: this zoom shows the view's own pins
  const [clusters, setClusters] = useState<ServerCluster[] | null>(null);
  const [more, setMore] = useState(false);
  const [failed, setFailed] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const mapElement = useRef<HTMLDivElement>(null);
  const mapRef = useRef<L.Map | null>(null);
  const layerRef = useRef<L.LayerGroup | null>(null);

  useEffect(() => {
    const map = createMap(mapElement.current!, { zoomIn: t('map.zoom_in'), zoomOut: t('map.zoom_out') });
    mapRef.current = map;
    layerRef.current = L.layerGroup().addTo(map);
    const update = () => {
      saveView(map);
      setBounds(toBounds(map.getBounds()));
      setZoom(map.getZoom());
    };
    map.on('moveend', update);
    update();
    return () => {
      map.remove();
      mapRef.current = null;
    };
    // the map is made once, with the zoom labels of the language it opened in
  }, []);

  const query = useMemo(() => (bounds ? viewQuery(bounds, filters, Date.now()) : null), [bounds, filters]);

  useEffect(() => {
    if (!query) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api
        .GET('/api/v1/incidents', { params: { query: { ...query, lang } }, signal: controller.signal })
        .then(({ data }) => {
          if (!data) throw new Error('incidents');
          setItems(data.items);
          setMore(data.nextCursor !== null);
          setFailed(false);
        })
        .catch(() => {
          if (!controller.signal.aborted) setFailed(true);
        });
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query, lang]);

  // low zoom: the server counts every incident in view, where a page of pins would show a sample
  const clustersQuery = useMemo(
    () =>
      bounds && zoom !== null && zoom <= CLUSTER_MAX_ZOOM ? clusterQuery(bounds, filters, zoom, Date.now()) : null,
    [bounds, zoom, filters],
  );
  useEffect(() => {
    if (!clustersQuery) {
      setClusters(null);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api
        .GET('/api/v1/incidents/clusters', { params: { query: clustersQuery }, signal: controller.signal })
        .then(({ data }) => {
          if (!data) throw new Error('clusters');
          setClusters(data.items);
        })
        .catch(() => {
          if (!controller.signal.aborted) setFailed(true);
        });
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [clustersQuery]);

  // live: new and changed reports in this view arrive without a reload
  const bbox = query?.bbox;
  useEffect(() => {
    if (!bbox || !bounds) return;
    return live.subscribe(`bbox:${bbox}`, (event) => {
      const incident = event.incident;
      if (!incident || !event.type.startsWith('incident.')) return;
      setItems((current) => {
        const rest = current.filter((i) => i.id !== incident.id);
        const keep = inBounds(bounds, incident.location.coordinates) && matchesFilters(incident, filters, Date.now());
        return keep ? [incident, ...rest].slice(0, VIEW_LIMIT) : rest;
      });
      if (event.type === 'incident.created') setAnnouncement(t('map.live_new', { title: incident.title }));
    });
  }, [bbox, bounds, filters, t]);

  // pins, clustered at this zoom
  useEffect(() => {
    const map = mapRef.current;
    const layer = layerRef.current;
    if (!map || !layer) return;
    layer.clearLayers();
    if (clusters) {
      for (const cluster of clusters) {
        const [lon, lat] = cluster.coordinates as [number, number];
        const single = cluster.count === 1 ? cluster.incident : undefined;
        if (single) {
          const status = single.status as IncidentStatus;
          L.marker([lat, lon], {
            icon: pinIcon(STATUS_COLORS[status] ?? STATUS_COLORS.reported),
            title: t('map.pin', { title: single.reference, status: t(`status.${status}`) }),
            keyboard: true,
          })
            .on('click', () => navigate(`/incidents/${single.reference}`))
            .addTo(layer);
          continue;
        }
        const [west, south, east, north] = cluster.bounds as [number, number, number, number];
        L.marker([lat, lon], {
          icon: clusterIcon(cluster.count),
          title: t('map.cluster', { count: cluster.count }),
          keyboard: true,
        })
          .on('click', () =>
            // into the cluster's cell, at least two levels closer
            map.fitBounds(
              [
                [south, west],
                [north, east],
              ],
              { maxZoom: Math.max(map.getZoom() + 2, CLUSTER_MAX_ZOOM + 1) },
            ),
          )
          .addTo(layer);
      }
      return;
    }
    const points = items.map((item) => {
      const [lon, lat] = item.location.coordinates as [number, number];
      const p = map.latLngToLayerPoint([lat, lon]);
      return { x: p.x, y: p.y, item };
    });
    for (const cluster of clusterPoints(points)) {
      if (cluster.items.length === 1) {
        const item = cluster.items[0]!;
        const [lon, lat] = item.location.coordinates as [number, number];
        L.marker([lat, lon], {
          icon: pinIcon(STATUS_COLORS[item.status]),
          title: t('map.pin', { title: item.title, status: t(`status.${item.status}`) }),
          keyboard: true,
        })
          .on('click', () => navigate(`/incidents/${item.reference}`))
          .addTo(layer);
      } else {
        const at = map.layerPointToLatLng([cluster.x, cluster.y]);
        const count = cluster.items.length;
        L.marker(at, { icon: clusterIcon(count), title: t('map.cluster', { count }), keyboard: true })
          .on('click', () => map.setView(at, Math.min(map.getZoom() + 2, 19)))
          .addTo(layer);
      }
    }
  }, [items, clusters, bounds, t]);

  return (
    <div className="map-page">
      <h1 className="visually-hidden">{t('map.title')}</h1>
      <div className="map-tools">
        <FindByReference />
        <FiltersForm filters={filters} onChange={setFilters} categories={categories} />
      </div>
      <div className="map-layout">
        <div ref={mapElement} className="map" role="region" aria-label={t('map.region')} />
        <section className="map-list" aria-labelledby="map-list-heading">
          <h2 id="map-list-heading">
            {t('map.list')} <span className="muted">({t('map.count', { count: items.length })})</span>
          </h2>
          {failed && <p role="alert">{t('map.load_failed')}</p>}
          {!failed && items.length === 0 && <p>{t('map.empty')}</p>}
          <ul className="incident-list">
            {items.map((item) => (
              <li key={item.id}>
                <Link href={`/incidents/${item.reference}`}>{item.title}</Link>
                <div className="meta">
                  <StatusBadge status={item.status} /> {item.category.name} · {date(item.createdAt)}
                </div>
              </li>
            ))}
          </ul>
          {more && <p className="muted">{t('map.more', { count: VIEW_LIMIT })}</p>}
        </section>
      </div>
      <div className="visually-hidden" aria-live="polite">
        {announcement}
      </div>
    </div>
  );
}

function FiltersForm({
  filters,
  onChange,
  categories,
}: {
  filters: Filters;
  onChange: (f: Filters) => void;
  categories: { slug: string; name: string }[];
}) {
  const { t } = useI18n();
  const toggle = (status: IncidentStatus, on: boolean) =>
    onChange({
      ...filters,
      statuses: on ? [...filters.statuses, status] : filters.statuses.filter((s) => s !== status),
    });
  return (
    <details className="filters">
      <summary>{t('map.filters')}</summary>
      <fieldset>
        <legend>{t('map.status')}</legend>
        {STATUSES.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={filters.statuses.includes(status)}
              onChange={(e) => toggle(status, e.currentTarget.checked)}
            />{' '}
            {t(`status.${status}`)}
          </label>
        ))}
      </fieldset>
      <label>
        {t('map.category')}
        <select value={filters.category} onChange={(e) => onChange({ ...filters, category: e.currentTarget.value })}>
          <option value="">{t('map.all_categories')}</option>
          {categories.map((c) => (
            <option key={c.slug} value={c.slug}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('map.since')}
        <select
          value={filters.sinceDays}
          onChange={(e) => onChange({ ...filters, sinceDays: Number(e.currentTarget.value) })}
        >
          {SINCE_CHOICES.map((days) => (
            <option key={days} value={days}>
              {t(days === 0 ? 'map.since_any' : (`map.since_${days}` as const))}
            </option>
          ))}
        </select>
      </label>
    </details>
  );
}

function FindByReference() {
  const { t } = useI18n();
  const [value, setValue] = useState('');
  const [missing, setMissing] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const reference = normalizeReference(value);
    if (!reference) {
      setMissing(value.trim());
      return;
    }
    const { data } = await api.GET('/api/v1/incidents/{idOrReference}', {
      params: { path: { idOrReference: reference } },
    });
    if (data) navigate(`/incidents/${data.reference}`);
    else setMissing(reference);
  };
  return (
    <form className="find" onSubmit={submit} role="search">
      <label htmlFor="find-reference">{t('map.find')}</label>
      <div className="row">
        <input
          id="find-reference"
          value={value}
          onChange={(e) => setValue(e.currentTarget.value)}
          placeholder="BW-…"
          aria-describedby="find-hint"
          autoComplete="off"
        />
        <button type="submit">{t('map.find_go')}</button>
      </div>
      <small id="find-hint" className="muted">
        {t('map.find_hint')}
      </small>
      {missing !== null && <p role="alert">{t('map.find_missing', { reference: missing })}</p>}
    </form>
  );
}
