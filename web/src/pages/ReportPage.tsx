import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { api, type CategoryAttribute, type SimilarIncident } from '../api/client';
import { getSession, subscribeSession } from '../auth/session';
import { useCategories } from '../categories';
import { pageConfig } from '../config';
import { useI18n } from '../i18n/I18nProvider';
import { createMap, L, pinIcon, savedView } from '../map/leaflet';
import { newItem, putItem } from '../offline/outbox';
import { sendItem } from '../offline/sender';
import { answersToMetadata, type Answers } from '../report/attributes';
import { createGeocoder, type Place } from '../report/geocoder';
import { compressPhoto, MAX_PHOTOS } from '../report/photos';
import { Link, navigate } from '../router';
import { setFlash } from '../flash';

interface Spot {
  lon: number;
  lat: number;
  address: string | null;
}

const geocoder = createGeocoder(pageConfig.geocoder);

export default function ReportPage() {
  const { t } = useI18n();
  const session = useSyncExternalStore(subscribeSession, getSession);
  if (!session) {
    return (
      <div className="page narrow">
        <h1>{t('report.title')}</h1>
        <p>{t('report.signin_needed')}</p>
        <p className="row">
          <Link className="button" href="/signin?next=/report">
            {t('nav.signin')}
          </Link>
          <Link className="button secondary" href="/register?next=/report">
            {t('nav.register')}
          </Link>
        </p>
      </div>
    );
  }
  return <ReportForm />;
}

function ReportForm() {
  const { t } = useI18n();
  const categories = useCategories();
  const [spot, setSpot] = useState<Spot | null>(null);
  const [categoryId, setCategoryId] = useState('');
  const [answers, setAnswers] = useState<Answers>({});
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [photos, setPhotos] = useState<{ blob: Blob; url: string }[]>([]);
  const [anonymous, setAnonymous] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<{ text: string; kind: 'info' | 'error' } | null>(null);
  const [busy, setBusy] = useState(false);
  const category = categories.find((c) => c.id === categoryId) ?? null;

  useEffect(() => () => photos.forEach((p) => URL.revokeObjectURL(p.url)), [photos]);

  const addPhotos = async (files: FileList | null) => {
    if (!files) return;
    const added: { blob: Blob; url: string }[] = [];
    for (const file of [...files].slice(0, MAX_PHOTOS - photos.length)) {
      try {
        const blob = await compressPhoto(file);
        added.push({ blob, url: URL.createObjectURL(blob) });
      } catch {
        setErrors((e) => ({ ...e, photos: t('report.photo_failed') }));
      }
    }
    setPhotos((p) => [...p, ...added]);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!spot) found.place = t('report.no_place');
    if (!category) found.category = t('report.category_choose');
    if (title.trim().length < 3) found.title = t('report.field_title_hint');
    const { metadata, missing } = answersToMetadata(category?.attributes ?? [], answers);
    for (const code of missing) found[`attr-${code}`] = t('report.required');
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setStatus({ text: t('report.invalid'), kind: 'error' });
      const first = document.querySelector<HTMLElement>('[aria-invalid="true"]');
      first?.focus();
      return;
    }
    setBusy(true);
    setStatus({ text: t('report.sending'), kind: 'info' });
    const item = newItem(
      {
        title: title.trim(),
        description: description.trim(),
        categoryId,
        location: { type: 'Point', coordinates: [spot!.lon, spot!.lat] },
        ...(spot!.address ? { address: spot!.address.slice(0, 500) } : {}),
        anonymous,
        metadata,
      },
      photos.map((p) => p.blob),
    );
    // kept first, sent second: if the signal drops halfway, the report is not lost
    await putItem(item);
    const result = await sendItem(item, t('app.error'));
    setBusy(false);
    if (result.kind === 'queued') {
      setStatus({ text: t('report.queued'), kind: 'info' });
      resetForm();
    } else if (result.kind === 'refused') {
      setStatus({ text: result.detail, kind: 'error' });
    } else {
      const lines = [t('report.sent', { reference: result.reference })];
      for (const f of result.failedPhotos) lines.push(t('report.upload_failed', { n: f.n, detail: f.detail }));
      setFlash(`/incidents/${result.reference}`, lines.join(' '));
      navigate(`/incidents/${result.reference}`);
    }
  };

  const resetForm = () => {
    setTitle('');
    setDescription('');
    setPhotos([]);
    setAnswers({});
    setAnonymous(false);
  };

  const fieldProps = (key: string) => ({
    'aria-invalid': errors[key] ? ('true' as const) : undefined,
    'aria-describedby': errors[key] ? `${key}-error` : undefined,
  });
  const fieldError = (key: string) =>
    errors[key] ? (
      <p id={`${key}-error`} className="field-error">
        {errors[key]}
      </p>
    ) : null;

  return (
    <form className="page narrow report" onSubmit={submit} noValidate>
      <h1>{t('report.title')}</h1>

      <fieldset>
        <legend>{t('report.where')}</legend>
        <Locate spot={spot} onSpot={setSpot} invalid={Boolean(errors.place)} />
        {fieldError('place')}
      </fieldset>

      <fieldset>
        <legend>{t('report.what')}</legend>
        <label htmlFor="category">
          {t('report.category')} <span className="muted">{t('report.required')}</span>
        </label>
        <select
          id="category"
          value={categoryId}
          onChange={(e) => {
            setCategoryId(e.currentTarget.value);
            setAnswers({});
          }}
          {...fieldProps('category')}
        >
          <option value="">{t('report.category_choose')}</option>
          {categories.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        {fieldError('category')}
        {category && <p className="muted">{category.description}</p>}
        {category?.attributes
          .slice()
          .sort((a, b) => a.order - b.order)
          .map((attribute) => (
            <AttributeField
              key={attribute.code}
              attribute={attribute}
              value={answers[attribute.code]}
              onChange={(v) => setAnswers((a) => ({ ...a, [attribute.code]: v }))}
              invalid={fieldProps(`attr-${attribute.code}`)}
              error={fieldError(`attr-${attribute.code}`)}
            />
          ))}

        <label htmlFor="title">
          {t('report.field_title')} <span className="muted">{t('report.required')}</span>
        </label>
        <input
          id="title"
          value={title}
          maxLength={255}
          onChange={(e) => setTitle(e.currentTarget.value)}
          {...fieldProps('title')}
          aria-describedby={errors.title ? 'title-error' : 'title-hint'}
        />
        {errors.title ? fieldError('title') : <small id="title-hint">{t('report.field_title_hint')}</small>}

        <label htmlFor="description">{t('report.field_description')}</label>
        <textarea
          id="description"
          rows={4}
          maxLength={10_000}
          value={description}
          onChange={(e) => setDescription(e.currentTarget.value)}
        />

        <label htmlFor="photos">{t('report.photos', { max: MAX_PHOTOS })}</label>
        <input
          id="photos"
          type="file"
          accept="image/*"
          multiple
          disabled={photos.length >= MAX_PHOTOS}
          aria-describedby="photos-hint"
          onChange={(e) => {
            void addPhotos(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <small id="photos-hint">{t('report.photos_hint')}</small>
        {fieldError('photos')}
        {photos.length > 0 && (
          <ul className="thumbs">
            {photos.map((p, i) => (
              <li key={p.url}>
                <img src={p.url} alt="" width={96} height={96} />
                <button
                  type="button"
                  className="secondary"
                  onClick={() => setPhotos((all) => all.filter((x) => x !== p))}
                >
                  {t('report.photo_remove', { n: i + 1 })}
                </button>
              </li>
            ))}
          </ul>
        )}
      </fieldset>

      <fieldset>
        <legend>{t('report.who')}</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={anonymous}
            onChange={(e) => setAnonymous(e.currentTarget.checked)}
            aria-describedby="anonymous-hint"
          />{' '}
          {t('report.anonymous')}
        </label>
        <small id="anonymous-hint">{t('report.anonymous_hint')}</small>
      </fieldset>

      {spot && categoryId && <Similar spot={spot} categoryId={categoryId} title={title} />}

      <button type="submit" className="primary" disabled={busy}>
        {busy ? t('report.sending') : t('report.send')}
      </button>
      <p role="status" className={status?.kind === 'error' ? 'field-error' : undefined}>
        {status?.text ?? ''}
      </p>
    </form>
  );
}

function AttributeField({
  attribute,
  value,
  onChange,
  invalid,
  error,
}: {
  attribute: CategoryAttribute;
  value: string | string[] | undefined;
  onChange: (v: string | string[]) => void;
  invalid: { 'aria-invalid'?: 'true'; 'aria-describedby'?: string };
  error: React.ReactNode;
}) {
  const { t } = useI18n();
  const id = `attr-${attribute.code}`;
  const label = (
    <>
      {attribute.description} {attribute.required && <span className="muted">{t('report.required')}</span>}
    </>
  );
  if (attribute.datatype === 'multivaluelist') {
    const chosen = Array.isArray(value) ? value : [];
    return (
      <fieldset className="inner" {...invalid}>
        <legend>{label}</legend>
        {(attribute.values ?? []).map((v) => (
          <label key={v.key} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(v.key)}
              onChange={(e) =>
                onChange(e.currentTarget.checked ? [...chosen, v.key] : chosen.filter((k) => k !== v.key))
              }
            />{' '}
            {v.name}
          </label>
        ))}
        {error}
      </fieldset>
    );
  }
  const text = typeof value === 'string' ? value : '';
  let input: React.ReactNode;
  if (attribute.datatype === 'singlevaluelist') {
    input = (
      <select id={id} value={text} onChange={(e) => onChange(e.currentTarget.value)} {...invalid}>
        <option value="">{t('report.choose')}</option>
        {(attribute.values ?? []).map((v) => (
          <option key={v.key} value={v.key}>
            {v.name}
          </option>
        ))}
      </select>
    );
  } else if (attribute.datatype === 'text') {
    input = <textarea id={id} rows={3} value={text} onChange={(e) => onChange(e.currentTarget.value)} {...invalid} />;
  } else {
    const type =
      attribute.datatype === 'number' ? 'number' : attribute.datatype === 'datetime' ? 'datetime-local' : 'text';
    input = <input id={id} type={type} value={text} onChange={(e) => onChange(e.currentTarget.value)} {...invalid} />;
  }
  return (
    <>
      <label htmlFor={id}>{label}</label>
      {input}
      {error}
    </>
  );
}

function Locate({ spot, onSpot, invalid }: { spot: Spot | null; onSpot: (s: Spot) => void; invalid: boolean }) {
  const { t, lang, number } = useI18n();
  const mapElement = useRef<HTMLDivElement>(null);
  const mapRef = useRef<L.Map | null>(null);
  const markerRef = useRef<L.Marker | null>(null);
  const [locating, setLocating] = useState(false);
  const [message, setMessage] = useState('');
  const [query, setQuery] = useState('');
  const [places, setPlaces] = useState<Place[] | null>(null);
  const onSpotRef = useRef(onSpot);
  onSpotRef.current = onSpot;

  useEffect(() => {
    const map = createMap(
      mapElement.current!,
      { zoomIn: t('map.zoom_in'), zoomOut: t('map.zoom_out') },
      {
        ...savedView(),
        zoom: Math.max(savedView().zoom, 16),
      },
    );
    mapRef.current = map;
    map.on('click', (e: L.LeafletMouseEvent) =>
      onSpotRef.current({ lon: e.latlng.lng, lat: e.latlng.lat, address: null }),
    );
    return () => {
      map.remove();
      mapRef.current = null;
      markerRef.current = null;
    };
    // made once: see MapPage
  }, []);

  useEffect(() => {
    const map = mapRef.current;
    if (!map || !spot) return;
    if (!markerRef.current) {
      markerRef.current = L.marker([spot.lat, spot.lon], {
        icon: pinIcon('#0b5d3b'),
        draggable: true,
        title: t('report.pin_map'),
        keyboard: true,
      })
        .on('dragend', () => {
          const at = markerRef.current!.getLatLng();
          onSpotRef.current({ lon: at.lng, lat: at.lat, address: null });
        })
        .addTo(map);
    } else {
      markerRef.current.setLatLng([spot.lat, spot.lon]);
    }
    if (!map.getBounds().contains([spot.lat, spot.lon])) map.setView([spot.lat, spot.lon], Math.max(map.getZoom(), 16));
  }, [spot, t]);

  const gps = () => {
    if (!('geolocation' in navigator)) {
      setMessage(t('report.gps_failed'));
      return;
    }
    setLocating(true);
    setMessage(t('report.gps_busy'));
    navigator.geolocation.getCurrentPosition(
      (position) => {
        setLocating(false);
        setMessage('');
        const next = { lon: position.coords.longitude, lat: position.coords.latitude, address: null };
        onSpot(next);
        mapRef.current?.setView([next.lat, next.lon], 17);
      },
      () => {
        setLocating(false);
        setMessage(t('report.gps_failed'));
      },
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
    );
  };

  const search = async () => {
    if (!geocoder || !query.trim()) return;
    try {
      setPlaces(await geocoder.search(query.trim(), lang));
      setMessage('');
    } catch {
      setPlaces(null);
      setMessage(t('report.address_failed'));
    }
  };

  const format = (v: number) => number(Math.round(v * 100_000) / 100_000);

  return (
    <div className="locate">
      <button type="button" onClick={gps} disabled={locating}>
        {locating ? t('report.gps_busy') : t('report.gps')}
      </button>
      {geocoder && (
        <div className="address-search">
          <label htmlFor="address">{t('report.address')}</label>
          <div className="row">
            <input
              id="address"
              type="search"
              value={query}
              autoComplete="street-address"
              onChange={(e) => setQuery(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  void search();
                }
              }}
            />
            <button type="button" onClick={() => void search()}>
              {t('report.address_go')}
            </button>
          </div>
          {places && places.length === 0 && <p>{t('report.address_none')}</p>}
          {places && places.length > 0 && (
            <ul aria-label={t('report.address_results')} className="places">
              {places.map((p) => (
                <li key={`${p.lat},${p.lon}`}>
                  <button
                    type="button"
                    className="link"
                    onClick={() => {
                      onSpot({ lon: p.lon, lat: p.lat, address: p.label });
                      mapRef.current?.setView([p.lat, p.lon], 17);
                      setPlaces(null);
                    }}
                  >
                    {p.label}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <p id="pin-hint">{t('report.pin_hint')}</p>
      <div
        ref={mapElement}
        className={`map pick-map${invalid ? ' invalid' : ''}`}
        role="region"
        aria-label={t('report.pin_map')}
        aria-describedby="pin-hint"
        data-testid="pick-map"
      />
      <p role="status">
        {spot
          ? `${t('report.located', { lat: format(spot.lat), lon: format(spot.lon) })}${spot.address ? ` — ${spot.address}` : ''}`
          : message}
      </p>
    </div>
  );
}

function Similar({ spot, categoryId, title }: { spot: Spot; categoryId: string; title: string }) {
  const { t, lang } = useI18n();
  const [items, setItems] = useState<SimilarIncident[]>([]);
  const [done, setDone] = useState('');
  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api
        .GET('/api/v1/incidents/similar', {
          params: {
            query: {
              near: `${spot.lon},${spot.lat}`,
              categoryId,
              lang,
              ...(title.trim() ? { title: title.trim() } : {}),
            },
          },
          signal: controller.signal,
        })
        .then(({ data }) => setItems(data?.items ?? []))
        .catch(() => undefined);
    }, 400);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [spot.lon, spot.lat, categoryId, title, lang]);
  if (items.length === 0) return null;
  const meToo = async (item: SimilarIncident) => {
    const { data } = await api.POST('/api/v1/incidents/{idOrReference}/confirmations', {
      params: { path: { idOrReference: item.id } },
    });
    if (data) setDone(t('report.me_too_done', { reference: item.reference }));
  };
  const follow = async (item: SimilarIncident) => {
    const { response } = await api.PUT('/api/v1/incidents/{idOrReference}/follow', {
      params: { path: { idOrReference: item.id } },
    });
    if (response.ok) setDone(t('report.follow_done', { reference: item.reference }));
  };
  return (
    <section className="similar" aria-labelledby="similar-heading">
      <h2 id="similar-heading">{t('report.similar')}</h2>
      <p>{t('report.similar_hint')}</p>
      <ul>
        {items.map((item) => (
          <li key={item.id}>
            <strong>{item.title}</strong>{' '}
            <span className="muted">{t('report.similar_distance', { distance: Math.round(item.distance) })}</span>
            <div className="row">
              <button type="button" onClick={() => void meToo(item)}>
                {t('incident.me_too')}
              </button>
              <button type="button" className="secondary" onClick={() => void follow(item)}>
                {t('incident.follow')}
              </button>
              <Link href={`/incidents/${item.reference}`}>{t('report.similar_view')}</Link>
            </div>
          </li>
        ))}
      </ul>
      <p role="status">{done}</p>
    </section>
  );
}
