import 'fake-indexeddb/auto';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App';
import { getSession, setSession, type SessionUser } from '../auth/session';
import { I18nProvider } from '../i18n/I18nProvider';
import { sectionOf } from './AdminPage';
import { bodyOf } from './CategoriesAdmin';
import { parseBoundary, polygonOf } from './geojson';

const square = [
  [
    [18.4, -33.9],
    [18.41, -33.9],
    [18.41, -33.91],
    [18.4, -33.9],
  ],
];

describe('boundaries from GeoJSON', () => {
  it('takes a Polygon, a Feature, and a FeatureCollection of several (as one MultiPolygon)', () => {
    expect(parseBoundary(JSON.stringify({ type: 'Polygon', coordinates: square }))).toEqual({
      type: 'Polygon',
      coordinates: square,
    });
    const feature = {
      type: 'Feature',
      properties: { name: 'Ward 58' },
      geometry: { type: 'Polygon', coordinates: square },
    };
    expect(parseBoundary(JSON.stringify(feature))?.type).toBe('Polygon');
    const collection = { type: 'FeatureCollection', features: [feature, feature] };
    expect(parseBoundary(JSON.stringify(collection))).toEqual({ type: 'MultiPolygon', coordinates: [square, square] });
  });

  it('refuses what is not an area', () => {
    for (const text of [
      'not json',
      '{"type":"Point","coordinates":[18.4,-33.9]}',
      '{"type":"Polygon","coordinates":[[[18.4,-33.9],[18.41,-33.9]]]}',
      '{"type":"FeatureCollection","features":[]}',
      '{"type":"Polygon","coordinates":[[["a","b"],[1,2],[3,4],[5,6]]]}',
    ]) {
      expect(parseBoundary(text), text).toBeNull();
    }
  });

  it('closes a drawn polygon once it has three corners', () => {
    expect(polygonOf([[18.4, -33.9]])).toBeNull();
    expect(
      polygonOf([
        [18.4, -33.9],
        [18.41, -33.9],
        [18.405, -33.91],
      ]),
    ).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [18.4, -33.9],
          [18.41, -33.9],
          [18.405, -33.91],
          [18.4, -33.9],
        ],
      ],
    });
  });
});

describe('the category form', () => {
  it('sends both languages, leaves out a blank Afrikaans text, and reads list choices line by line', () => {
    const body = bodyOf({
      slug: ' bench ',
      name: { en: 'Broken bench', af: 'Stukkende bank' },
      description: { en: '', af: '' },
      icon: 'bench',
      color: '#112233',
      active: true,
      sensitive: false,
      emergency: false,
      attributes: [
        {
          code: 'where',
          datatype: 'singlevaluelist',
          required: true,
          description: { en: 'Where?', af: '' },
          values: 'park | In a park | In ʼn park\nbus | At a bus stop\n\n',
        },
        {
          code: 'seats',
          datatype: 'number',
          required: false,
          description: { en: 'Seats?', af: 'Sitplekke?' },
          values: 'x',
        },
      ],
    });
    expect(body.slug).toBe('bench');
    expect(body.name).toEqual({ en: 'Broken bench', af: 'Stukkende bank' });
    expect(body).not.toHaveProperty('description');
    expect(body.attributes).toEqual([
      {
        code: 'where',
        datatype: 'singlevaluelist',
        required: true,
        description: { en: 'Where?' },
        order: 0,
        values: [
          { key: 'park', name: { en: 'In a park', af: 'In ʼn park' } },
          { key: 'bus', name: { en: 'At a bus stop' } },
        ],
      },
      { code: 'seats', datatype: 'number', required: false, description: { en: 'Seats?', af: 'Sitplekke?' }, order: 1 },
    ]);
  });
});

describe('the admin area', () => {
  const user = (roles: SessionUser['roles']): SessionUser => ({
    id: '00000000-0000-4000-8000-0000000000ad',
    email: 'admin@example.org',
    displayName: 'Ayanda',
    locale: 'en',
    roles,
  });
  let calls: Array<{ method: string; url: string; body: string }>;

  beforeEach(() => {
    localStorage.clear();
    calls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        calls.push({ method: request.method, url: url.pathname, body: await request.text() });
        if (url.pathname === '/api/v1/admin/open311/keys' && request.method === 'POST') {
          return Response.json({ id: 'k1', name: 'Call centre', key: 'bw311_secret-shown-once' }, { status: 201 });
        }
        if (url.pathname === '/api/v1/me' && request.method === 'PATCH') {
          return Response.json({ ...user([]), locale: 'af', roles: [{ role: 'resident', communityId: null }] });
        }
        return Response.json({ items: [] });
      }),
    );
  });
  afterEach(() => {
    cleanup();
    setSession(null);
    vi.unstubAllGlobals();
  });

  const open = async (path: string) => {
    history.replaceState(null, '', path);
    render(
      <I18nProvider>
        <App />
      </I18nProvider>,
    );
  };

  it('picks the section from the address', () => {
    expect(sectionOf('/admin')).toBe('categories');
    expect(sectionOf('/admin/open311')).toBe('open311');
    expect(sectionOf('/admin/nothing')).toBe('categories');
  });

  it('offers nothing to someone who is not an admin, and asks nothing of the server', async () => {
    setSession({
      accessToken: 'a',
      refreshToken: 'r',
      expiresIn: 3600,
      user: user([{ role: 'resident', communityId: null }]),
    });
    await open('/admin/users');
    expect(await screen.findByText('Only admins may use this part of Buurtwag.')).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'Admin' })).toBeNull();
    expect(calls.filter((c) => c.url.startsWith('/api/v1/admin'))).toEqual([]);
  });

  it('makes an Open311 key and shows it once', async () => {
    setSession({
      accessToken: 'a',
      refreshToken: 'r',
      expiresIn: 3600,
      user: user([{ role: 'admin', communityId: null }]),
    });
    await open('/admin/open311');
    expect(await screen.findByRole('heading', { name: 'Administration: Open311 keys' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Admin' }).getAttribute('aria-current')).toBe('page');
    fireEvent.change(await screen.findByLabelText(/^Who it is for/), { target: { value: ' Call centre ' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Create' }));
    });
    expect(await screen.findByText('bw311_secret-shown-once')).toBeTruthy();
    const post = calls.find((c) => c.method === 'POST' && c.url === '/api/v1/admin/open311/keys')!;
    expect(JSON.parse(post.body)).toEqual({ name: 'Call centre' });
  });

  it('saves the language on the account of a signed-in person, and not for a visitor', async () => {
    await open('/signin');
    await act(async () => {
      fireEvent.change(screen.getByRole('combobox', { name: 'Language' }), { target: { value: 'af' } });
    });
    expect(calls.filter((c) => c.url === '/api/v1/me')).toEqual([]);

    setSession({ accessToken: 'a', refreshToken: 'r', expiresIn: 3600, user: user([]) });
    await act(async () => {
      fireEvent.change(screen.getByRole('combobox', { name: 'Taal' }), { target: { value: 'en' } });
    });
    await act(async () => {
      fireEvent.change(screen.getByRole('combobox', { name: 'Language' }), { target: { value: 'af' } });
    });
    await vi.waitFor(() => expect(getSession()?.user.locale).toBe('af'));
    const patches = calls.filter((c) => c.url === '/api/v1/me' && c.method === 'PATCH');
    // switching to English changed nothing on the account (it was English already)
    expect(patches.map((c) => JSON.parse(c.body))).toEqual([{ locale: 'af' }]);
  });
});
