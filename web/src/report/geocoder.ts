import type { PageConfig } from '../config';
import type { Lang } from '../i18n/i18n';

export interface Place {
  label: string;
  lon: number;
  lat: number;
}

/** Address search. Nominatim by default; another service plugs in behind the same interface. */
export interface Geocoder {
  search(query: string, lang: Lang, signal?: AbortSignal): Promise<Place[]>;
}

/** Nominatim (OpenStreetMap's geocoder, or a self-hosted copy): /search?format=jsonv2. */
export class NominatimGeocoder implements Geocoder {
  constructor(
    private readonly baseUrl: string,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
    /** ISO country codes to search within (Buurtwag serves South Africa) */
    private readonly countries = 'za',
  ) {}

  async search(query: string, lang: Lang, signal?: AbortSignal): Promise<Place[]> {
    const url = new URL('/search', this.baseUrl);
    url.search = new URLSearchParams({
      format: 'jsonv2',
      q: query,
      limit: '5',
      countrycodes: this.countries,
      'accept-language': lang,
    }).toString();
    const res = await this.fetcher(url, { signal: signal ?? null, headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`geocoder answered ${res.status}`);
    const rows = (await res.json()) as { display_name?: string; lat?: string; lon?: string }[];
    return rows
      .map((r) => ({ label: r.display_name ?? '', lat: Number(r.lat), lon: Number(r.lon) }))
      .filter((p) => p.label && Number.isFinite(p.lat) && Number.isFinite(p.lon));
  }
}

export function createGeocoder(config: PageConfig['geocoder']): Geocoder | null {
  return config.kind === 'nominatim' ? new NominatimGeocoder(config.url) : null;
}
