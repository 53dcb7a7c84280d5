import { parseArgs } from 'node:util';
import type { Database } from '../platform/db/database.js';
import { findAuthority } from '../modules/authorities/authorities.repository.js';
import { createKey, listKeys, revokeKey } from '../modules/open311/open311-keys.service.js';

const USAGE =
  'Usage: open311 keys create --name N [--authority ID|SLUG] | open311 keys list | open311 keys revoke --id ID\n';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `open311 keys create --name N [--authority ID|SLUG]`: prints `{id, name, key}` as JSON; the key
 * is shown this once. A key made for an authority lets its system post status updates back.
 * `open311 keys list`: every key without its secret. `open311 keys revoke --id ID`.
 */
export async function open311Command(
  db: Database,
  args: string[],
  io: { stdout(s: string): void; stderr(s: string): void },
): Promise<number> {
  const [group, action, ...rest] = args;
  if (group !== 'keys' || !action) {
    io.stderr(USAGE);
    return 1;
  }
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, id: { type: 'string' }, authority: { type: 'string' } },
  });
  switch (action) {
    case 'create': {
      const name = values.name?.trim() ?? '';
      if (name.length < 1 || name.length > 200) {
        io.stderr('--name is required: who the key is for (1 to 200 characters)\n');
        return 1;
      }
      let authorityId: string | null = null;
      if (values.authority !== undefined) {
        const authority = await findAuthority(db, values.authority);
        if (!authority) {
          io.stderr(`no authority ${values.authority}\n`);
          return 1;
        }
        authorityId = authority.id;
      }
      io.stdout(`${JSON.stringify(await createKey(db, name, authorityId))}\n`);
      return 0;
    }
    case 'list':
      io.stdout(`${JSON.stringify(await listKeys(db))}\n`);
      return 0;
    case 'revoke': {
      if (!values.id || !UUID.test(values.id)) {
        io.stderr('--id must be the id of a key (open311 keys list shows them)\n');
        return 1;
      }
      if (!(await revokeKey(db, values.id.toLowerCase()))) {
        io.stderr(`no key ${values.id}\n`);
        return 1;
      }
      io.stdout(`${JSON.stringify({ id: values.id.toLowerCase(), revoked: true })}\n`);
      return 0;
    }
    default:
      io.stderr(USAGE);
      return 1;
  }
}
