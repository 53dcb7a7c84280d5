import 'fake-indexeddb/auto';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from './App';
import { I18nProvider } from './i18n/I18nProvider';

describe('the app shell', () => {
  beforeEach(() => {
    localStorage.clear();
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Response.json({ items: [] })),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it('switches every string to Afrikaans, keeps the choice, and sets the page language', async () => {
    history.replaceState(null, '', '/signin');
    render(
      <I18nProvider>
        <App />
      </I18nProvider>,
    );
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeTruthy();
    expect(screen.getByLabelText('Password')).toBeTruthy();

    await act(async () => {
      fireEvent.change(screen.getByRole('combobox', { name: 'Language' }), { target: { value: 'af' } });
    });
    expect(await screen.findByRole('heading', { name: 'Teken aan' })).toBeTruthy();
    expect(screen.getByLabelText('Wagwoord')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Kaart' })).toBeTruthy();
    expect(document.documentElement.lang).toBe('af');
    expect(localStorage.getItem('buurtwag.lang')).toBe('af');
  });

  it('loads the staff area as its own page, on demand', async () => {
    history.replaceState(null, '', '/staff');
    render(
      <I18nProvider>
        <App />
      </I18nProvider>,
    );
    // the console's chunk is transformed on first import: give a busy machine time
    expect(await screen.findByRole('heading', { name: 'Staff console' }, { timeout: 5000 })).toBeTruthy();
  });
});
