/** The server's settings for the page, put into index.html as JSON (src/platform/http/web-app.ts). */
export interface PageConfig {
  tileUrl: string;
  tileAttribution: string;
  geocoder: { kind: 'nominatim'; url: string } | { kind: 'off' };
}

const DEFAULTS: PageConfig = {
  tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
  tileAttribution: '© OpenStreetMap contributors',
  geocoder: { kind: 'nominatim', url: 'https://nominatim.openstreetmap.org' },
};

export function readPageConfig(doc: Document = document): PageConfig {
  try {
    const text = doc.getElementById('buurtwag-config')?.textContent ?? '{}';
    return { ...DEFAULTS, ...(JSON.parse(text) as Partial<PageConfig>) };
  } catch {
    return DEFAULTS;
  }
}

export const pageConfig = readPageConfig();
