import 'fake-indexeddb/auto';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Incident } from '../api/client';
import { setSession } from '../auth/session';
import { I18nProvider } from '../i18n/I18nProvider';
import type { LiveEvent } from '../realtime/live';
import { bulkAction } from './BulkBar';
import { templatesFor, type Template } from './IncidentPanel';
import { DEFAULT_FILTERS, listQuery, matchesFilters, nextRow, sortQueue } from './queue';
import StaffPage from './StaffPage';

// the WebSocket, replaced by a hub the test sends events through
const channels = vi.hoisted(() => new Map<string, Set<(event: LiveEvent) => void>>());
vi.mock('../realtime/live', () => ({
  live: {
    subscribe(channel: string, listener: (event: LiveEvent) => void) {
      const set = channels.get(channel) ?? new Set();
      set.add(listener);
      channels.set(channel, set);
      return () => set.delete(listener);
    },
    reconnect() {},
  },
}));

const WARD = '11111111-1111-4111-8111-111111111111';
const ME = '22222222-2222-4222-8222-222222222222';
const COLLEAGUE = '33333333-3333-4333-8333-333333333333';
const CATEGORY = '44444444-4444-4444-8444-444444444444';
const TEMPLATE = '55555555-5555-4555-8555-555555555555';

function incident(n: number, over: Partial<Incident> = {}): Incident {
  return {
    id: `00000000-0000-4000-8000-00000000000${n}`,
    reference: `BW-TEST000${n}`,
    title: `Pothole number ${n}`,
    description: 'Deep.',
    category: { id: CATEGORY, slug: 'pothole', name: 'Pothole' },
    priority: 'medium',
    status: 'reported',
    location: { type: 'Point', coordinates: [28, -26] },
    address: null,
    communityId: WARD,
    reporter: null,
    assignee: null,
    isPublic: true,
    requiresAuthority: false,
    metadata: {},
    locationBlurred: false,
    version: 1,
    confirmations: 0,
    createdAt: `2026-11-2${n}T08:00:00.000Z`,
    updatedAt: `2026-11-2${n}T08:00:00.000Z`,
    sla: { acknowledgeDueAt: null, resolveDueAt: null, overdue: { acknowledge: false, resolve: false } },
    ...over,
  } as Incident;
}

const template = (over: Partial<Template> = {}): Template => ({
  id: TEMPLATE,
  name: 'We are on it',
  categoryId: null,
  status: 'acknowledged',
  text: { en: 'We have seen your report {reference}.', af: 'Ons het jou verslag {reference} gesien.' },
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-01T00:00:00.000Z',
  ...over,
});

describe('the queue', () => {
  it('asks the server for open reports by default and passes every filter', () => {
    expect(listQuery(DEFAULT_FILTERS, WARD)).toEqual({
      communityId: WARD,
      status: 'reported,acknowledged,in_progress',
      sort: '-createdAt',
      limit: 100,
    });
    const q = listQuery(
      {
        ...DEFAULT_FILTERS,
        status: '',
        priority: 'high',
        category: 'pothole',
        assignee: 'me',
        overdue: 'acknowledge',
        sort: 'overdue',
      },
      null,
      'next',
    );
    expect(q).toEqual({
      priority: 'high',
      category: 'pothole',
      assignee: 'me',
      overdue: 'acknowledge',
      sort: '-createdAt',
      limit: 100,
      cursor: 'next',
    });
  });

  it('orders by priority, by age, and the most overdue first', () => {
    const late = incident(1, {
      sla: {
        acknowledgeDueAt: '2026-11-21T09:00:00.000Z',
        resolveDueAt: null,
        overdue: { acknowledge: true, resolve: false },
      },
    });
    const dueLater = incident(2, {
      priority: 'critical',
      sla: {
        acknowledgeDueAt: '2026-11-30T09:00:00.000Z',
        resolveDueAt: null,
        overdue: { acknowledge: false, resolve: false },
      },
    });
    const none = incident(3, { priority: 'low' });
    const ids = (list: Incident[]) => list.map((i) => i.reference.slice(-1));
    expect(ids(sortQueue([late, dueLater, none], '-createdAt'))).toEqual(['3', '2', '1']);
    expect(ids(sortQueue([late, dueLater, none], 'createdAt'))).toEqual(['1', '2', '3']);
    expect(ids(sortQueue([late, dueLater, none], '-priority'))).toEqual(['2', '1', '3']);
    expect(ids(sortQueue([none, dueLater, late], 'overdue'))).toEqual(['1', '2', '3']);
  });

  it('lets a live report in only when it fits the filters and the communities', () => {
    const scope = new Set([WARD]);
    expect(matchesFilters(incident(1), DEFAULT_FILTERS, scope, ME)).toBe(true);
    expect(matchesFilters(incident(1, { communityId: COLLEAGUE }), DEFAULT_FILTERS, scope, ME)).toBe(false);
    expect(matchesFilters(incident(1, { status: 'resolved' }), DEFAULT_FILTERS, scope, ME)).toBe(false);
    expect(matchesFilters(incident(1), { ...DEFAULT_FILTERS, assignee: 'me' }, scope, ME)).toBe(false);
    expect(matchesFilters(incident(1), { ...DEFAULT_FILTERS, priority: 'high' }, null, ME)).toBe(false);
  });

  it('moves with j/k and the arrows, and stops at the ends', () => {
    expect(nextRow('j', -1, 3)).toBe(0);
    expect(nextRow('ArrowDown', 2, 3)).toBe(2);
    expect(nextRow('k', 1, 3)).toBe(0);
    expect(nextRow('End', 0, 3)).toBe(2);
    expect(nextRow('q', 0, 3)).toBeNull();
  });

  it('offers the templates of the new status and the category, and builds bulk actions', () => {
    const other = template({ id: 'other', categoryId: 'another-category' });
    const resolved = template({ id: 'resolved', status: 'resolved' });
    expect(templatesFor([template(), other, resolved], 'acknowledged', CATEGORY).map((t) => t.id)).toEqual([TEMPLATE]);
    expect(bulkAction('status', 'resolved', TEMPLATE, ME)).toEqual({ status: 'resolved', templateId: TEMPLATE });
    expect(bulkAction('assign_me', '', '', ME)).toEqual({ assigneeId: ME });
    expect(bulkAction('hide', '', '', ME)).toEqual({ hidden: true });
  });
});

describe('the console', () => {
  let requests: Array<{ method: string; path: string; search: string; headers: Headers; body: unknown }>;
  let patchStatus: number;
  let items: Incident[];

  beforeEach(() => {
    localStorage.clear();
    channels.clear();
    requests = [];
    patchStatus = 200;
    items = [incident(1), incident(2, { priority: 'high' })];
    setSession({
      accessToken: 'token',
      refreshToken: 'refresh',
      expiresIn: 3600,
      user: {
        id: ME,
        email: 'mod@example.org',
        displayName: 'Mo Derator',
        locale: 'en',
        roles: [{ role: 'moderator', communityId: WARD }],
      },
    });
    vi.stubGlobal(
      'fetch',
      vi.fn(async (request: Request) => {
        const url = new URL(request.url);
        const body = request.method === 'GET' ? undefined : await request.clone().json();
        requests.push({
          method: request.method,
          path: url.pathname,
          search: url.search,
          headers: request.headers,
          body,
        });
        const path = url.pathname;
        if (path === '/api/v1/communities') return Response.json({ items: [{ id: WARD, name: 'Ward 58' }] });
        if (path === '/api/v1/categories')
          return Response.json({ items: [{ id: CATEGORY, slug: 'pothole', name: 'Pothole' }] });
        if (path === '/api/v1/admin/templates') return Response.json({ items: [template()] });
        if (path === `/api/v1/communities/${WARD}/staff`) {
          return Response.json({
            items: [
              { id: ME, displayName: 'Mo Derator', roles: ['moderator'] },
              { id: COLLEAGUE, displayName: 'Rita Responder', roles: ['responder'] },
            ],
          });
        }
        if (path === '/api/v1/incidents') return Response.json({ items, nextCursor: null });
        if (path === '/api/v1/incidents/bulk') {
          return Response.json({
            applied: 1,
            results: [
              { id: items[0]!.id, ok: true, incident: { ...items[0]!, status: 'acknowledged', version: 2 } },
              { id: items[1]!.id, ok: false, status: 409, error: 'That change is not allowed.' },
            ],
          });
        }
        const one = /^\/api\/v1\/incidents\/([^/]+)(\/timeline)?$/.exec(path);
        if (one) {
          const found = items.find((i) => i.id === one[1])!;
          if (one[2]) return Response.json({ items: [] });
          if (request.method === 'PATCH') {
            if (patchStatus === 412) {
              return Response.json({ title: 'Precondition failed', status: 412 }, { status: 412 });
            }
            return Response.json({ ...found, ...(body as object), version: found.version + 1 });
          }
          return Response.json(found);
        }
        return Response.json({ items: [] });
      }),
    );
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
    setSession(null);
  });

  const renderConsole = async () => {
    render(
      <I18nProvider>
        <StaffPage />
      </I18nProvider>,
    );
    // generous waits: the first render transforms the console's modules, slow on a busy machine
    await screen.findByRole('heading', { name: 'Queue: 2 reports' }, { timeout: 5000 });
    await screen.findByText('Pothole number 1', {}, { timeout: 5000 });
  };

  it('lists the community queue, moves by keyboard, opens a report and moves it with a template (If-Match)', async () => {
    await renderConsole();
    const list = requests.find((r) => r.path === '/api/v1/incidents')!;
    expect(new URLSearchParams(list.search).get('communityId')).toBe(WARD);

    const rows = screen.getAllByRole('button', { name: /^Pothole number/ });
    rows[0]!.focus();
    fireEvent.keyDown(rows[0]!, { key: 'j' });
    expect(document.activeElement).toBe(rows[1]);
    fireEvent.keyDown(rows[1]!, { key: 'x' });
    expect((screen.getByRole('checkbox', { name: 'Select BW-TEST0001' }) as HTMLInputElement).checked).toBe(true);
    fireEvent.keyDown(rows[1]!, { key: 'k' });
    expect(document.activeElement).toBe(rows[0]);

    await act(async () => fireEvent.click(rows[1]!));
    const panel = await screen.findByRole('region', { name: 'Pothole number 1' });
    expect(document.activeElement).toBe(within(panel).getByRole('heading', { name: 'Pothole number 1' }));
    await within(panel).findByRole('option', { name: 'Rita Responder (responder)' });

    fireEvent.change(within(panel).getByLabelText('New status'), { target: { value: 'acknowledged' } });
    fireEvent.change(within(panel).getByLabelText('Response to the reporter (optional)'), {
      target: { value: TEMPLATE },
    });
    expect(within(panel).getByText('We have seen your report {reference}.')).toBeTruthy();
    await act(async () => fireEvent.click(within(panel).getByRole('button', { name: 'Change status' })));
    await within(panel).findByText('Status changed to Acknowledged.');
    const patch = requests.find((r) => r.method === 'PATCH')!;
    expect(patch.body).toEqual({ status: 'acknowledged', templateId: TEMPLATE });
    expect(patch.headers.get('if-match')).toBe('W/"1"');
  });

  it('says clearly when someone else changed the report first (412)', async () => {
    await renderConsole();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: /^Pothole number 2/ })));
    const panel = await screen.findByRole('region', { name: 'Pothole number 2' });
    patchStatus = 412;
    fireEvent.change(within(panel).getByLabelText('Assign to'), { target: { value: ME } });
    await act(async () => fireEvent.click(within(panel).getByRole('button', { name: 'Assign' })));
    await within(panel).findByText(/Someone else changed this report while you had it open/);
  });

  it('applies a bulk action to the selection and shows the outcome for each report', async () => {
    await renderConsole();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Select every report shown' }));
    const bulk = await screen.findByRole('region', { name: '2 reports selected' });
    await act(async () => fireEvent.click(within(bulk).getByRole('button', { name: 'Apply to 2 reports' })));
    await within(bulk).findByText('1 of 2 reports changed.');
    const results = within(bulk).getByRole('list', { name: 'The outcome for each report' });
    expect(within(results).getByText(/done/).textContent).toContain('BW-TEST0001');
    expect(within(results).getByText(/That change is not allowed/).textContent).toContain('BW-TEST0002');
    const sent = requests.find((r) => r.path === '/api/v1/incidents/bulk')!;
    expect(sent.body).toEqual({ ids: [items[1]!.id, items[0]!.id], action: { status: 'acknowledged' } });
  });

  it('puts a new report from the WebSocket at the top and announces it', async () => {
    await renderConsole();
    const listeners = channels.get(`community:${WARD}`);
    expect(listeners?.size).toBe(1);
    const arrived = incident(9, { title: 'Streetlight out', createdAt: '2026-11-29T08:00:00.000Z' });
    act(() => {
      for (const listener of listeners!) listener({ type: 'incident.created', incident: arrived });
    });
    await screen.findByRole('heading', { name: 'Queue: 3 reports' });
    expect(screen.getAllByRole('button', { name: /^(Pothole|Streetlight)/ })[0]!.textContent).toContain(
      'Streetlight out',
    );
    expect(screen.getByText('New report: Streetlight out')).toBeTruthy();
  });

  it('speaks Afrikaans', async () => {
    localStorage.setItem('buurtwag.lang', 'af');
    render(
      <I18nProvider>
        <StaffPage />
      </I18nProvider>,
    );
    await screen.findByRole('heading', { name: 'Tou: 2 verslae' }, { timeout: 5000 });
    expect(screen.getByLabelText('Gemeenskap')).toBeTruthy();
    await waitFor(() => expect(screen.getAllByText('Middelmatig').length).toBeGreaterThan(0));
  });
});
