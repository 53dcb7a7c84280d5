import type { Database } from '../../platform/db/database.js';
import { AppError, invalid, invalidField, type FieldError } from '../../platform/http/errors.js';
import { refusal, type Actor } from '../identity/actor.js';
import { presentAlert } from './alerts.presenter.js';
import * as repo from './alerts.repository.js';
import {
  MAX_ALERTS_PER_USER,
  MAX_RADIUS_M,
  MIN_RADIUS_M,
  type AreaAlert,
  type AreaAlertCreate,
  type Frequency,
} from './alerts.schemas.js';
import { verifyAlertUnsubscribe } from './alerts.unsubscribe.js';

/** Anyone signed in may keep alerts; each person only their own. */
function me(actor: Actor): string {
  if (actor.userId === null) throw refusal(actor);
  return actor.userId;
}

export async function listAlerts(db: Database, actor: Actor): Promise<{ items: AreaAlert[] }> {
  return { items: (await repo.listAlerts(db, me(actor))).map(presentAlert) };
}

export async function createAlert(db: Database, actor: Actor, body: AreaAlertCreate): Promise<AreaAlert> {
  const userId = me(actor);
  const errors: FieldError[] = [];
  const circle = body.center !== undefined || body.radius !== undefined;
  if ((body.communityId !== undefined) === circle) errors.push({ path: '/body', message: 'validation.alert_area' });
  else if (circle) {
    if (body.center === undefined) errors.push({ path: '/body/center', message: 'validation.required' });
    if (body.radius === undefined) errors.push({ path: '/body/radius', message: 'validation.required' });
    else if (body.radius < MIN_RADIUS_M || body.radius > MAX_RADIUS_M)
      errors.push({
        path: '/body/radius',
        message: 'validation.alert_radius',
        params: { min: MIN_RADIUS_M, max: MAX_RADIUS_M },
      });
  }
  if (errors.length > 0) throw invalid(errors);

  return db.transaction(async (tx) => {
    if (body.communityId !== undefined && !(await repo.communityExists(tx, body.communityId)))
      throw invalidField('/body/communityId', 'validation.community_missing');
    let categoryIds: string[] | null = null;
    if (body.categories !== undefined) {
      const slugs = [...new Set(body.categories)];
      const known = await repo.categoryIdsBySlug(tx, slugs);
      const bad = body.categories.findIndex((slug) => !known.has(slug));
      if (bad >= 0) throw invalidField(`/body/categories/${bad}`, 'validation.category_missing');
      categoryIds = slugs.map((slug) => known.get(slug)!);
    }
    await repo.lockUser(tx, userId);
    if ((await repo.countAlerts(tx, userId)) >= MAX_ALERTS_PER_USER)
      throw new AppError('conflict', 'error.alert_limit.detail', { limit: MAX_ALERTS_PER_USER });
    const row = await repo.insertAlert(tx, {
      userId,
      communityId: body.communityId ?? null,
      center: body.center ? [body.center.coordinates[0], body.center.coordinates[1]] : null,
      radius: body.radius ?? null,
      categoryIds,
      frequency: (body.frequency ?? 'immediate') as Frequency,
    });
    return presentAlert(row);
  });
}

export async function deleteAlert(db: Database, actor: Actor, id: string): Promise<void> {
  if (!(await repo.deleteAlert(db, id, me(actor))))
    throw new AppError('not_found', 'error.alert_not_found.detail', { id });
}

/** The link in an alert mail: no sign-in, the signed token names the alert. */
export async function unsubscribe(db: Database, key: Uint8Array, token: string): Promise<{ removed: boolean }> {
  const alertId = verifyAlertUnsubscribe(key, token);
  if (alertId === null) throw new AppError('bad_request', 'error.unsubscribe_token.detail');
  return { removed: await repo.deleteAlert(db, alertId, null) };
}
