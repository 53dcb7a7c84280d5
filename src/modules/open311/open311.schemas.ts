import { Type, type Static } from 'typebox';

/**
 * Requests are checked by the service (open311.service.ts) so that every problem answers in the
 * spec's error format with a description a client developer can act on; these schemas only say
 * which parameters exist (for the OpenAPI document) and that they are strings. Unknown
 * parameters are allowed: Open311 clients send jurisdiction_id and api_key, which a single
 * jurisdiction with open reads does not need.
 */
const Text = (description: string) => Type.Optional(Type.String({ maxLength: 20_000, description }));

export const FileParams = Type.Object({
  file: Type.String({
    maxLength: 200,
    description: 'the resource with its format: `services.json`, `BW-7K3Q9D2M.xml`',
  }),
});

export const LangQuery = Type.Object(
  { lang: Text('en or af (else Accept-Language)'), jurisdiction_id: Text('ignored: one jurisdiction') },
  { additionalProperties: true },
);

export const RequestsQuery = Type.Object(
  {
    service_request_id: Text('comma-separated ids (references or uuids); the other filters are then ignored'),
    service_code: Text('comma-separated service codes'),
    start_date: Text('ISO 8601; requests made at or after it'),
    end_date: Text('ISO 8601; requests made at or before it (at most 90 days after start_date)'),
    status: Text('open, closed (comma-separated)'),
    updated_after: Text('ISO 8601 (extension)'),
    updated_before: Text('ISO 8601 (extension)'),
    page: Text('from 1 (extension)'),
    page_size: Text('1..1000, default 1000 (extension)'),
    bbox: Text('minlon,minlat,maxlon,maxlat (extension)'),
    lat: Text('with long: nearest first (extension)'),
    long: Text('with lat (extension)'),
    radius: Text('metres around lat/long, at most 50,000; default 1,000 (extension)'),
    extended_statuses: Text('true: our own statuses instead of open/closed (extension)'),
    lang: Text('en or af (else Accept-Language)'),
    jurisdiction_id: Text('ignored: one jurisdiction'),
  },
  { additionalProperties: true },
);
export type RequestsQuery = Static<typeof RequestsQuery>;

export const UpdatesQuery = Type.Object(
  {
    api_key: Text('required: a key issued by the administrators'),
    start_date: Text('ISO 8601; updates at or after it (default: 24 hours before end_date)'),
    end_date: Text('ISO 8601; updates at or before it (default: now; at most 90 days after start_date)'),
    jurisdiction_id: Text('ignored: one jurisdiction'),
  },
  { additionalProperties: true },
);
export type UpdatesQuery = Static<typeof UpdatesQuery>;

/**
 * POST /requests, for the OpenAPI document. The form is checked by the service (each field once,
 * `attribute[code]` against the service's attributes), so these only name the fields.
 */
export const PostRequestBody = Type.Object(
  {
    api_key: Text('required: a key issued by the administrators'),
    service_code: Text('required: a service code from services.json'),
    lat: Text('required, with long: WGS 84 degrees'),
    long: Text('required, with lat'),
    address_string: Text('the address as the person gave it (stored; not looked up)'),
    description: Text('at most 4,000 characters; its first line becomes the title'),
    // contact details: accepted as the spec has them, never stored (the report is anonymous)
    email: Text('ignored, never stored'),
    device_id: Text('ignored, never stored'),
    account_id: Text('ignored, never stored'),
    first_name: Text('ignored, never stored'),
    last_name: Text('ignored, never stored'),
    phone: Text('ignored, never stored'),
    media_url: Type.Optional(
      Type.Union([Type.String({ maxLength: 2000 }), Type.Array(Type.String({ maxLength: 2000 }))], {
        description: 'ignored: this server fetches no URL a client names',
      }),
    ),
    jurisdiction_id: Text('ignored: one jurisdiction'),
  },
  {
    additionalProperties: true,
    description: 'application/x-www-form-urlencoded; answers as attribute[code] (attribute[code][] for a list)',
  },
);

/** mySociety's POST servicerequestupdates: an authority's system reports what it did. */
export const PostUpdateBody = Type.Object(
  {
    api_key: Text('required: a key made for this authority (open311 keys create --authority …)'),
    service_request_id: Text('required: our service_request_id, or the id your system gave the request'),
    update_id: Text('required: your id for this update; the same update_id twice changes nothing'),
    status: Text(
      'required: OPEN, INVESTIGATING, ACTION_SCHEDULED, IN_PROGRESS, FIXED, CLOSED, NO_FURTHER_ACTION, DUPLICATE, …',
    ),
    description: Text('what was done, at most 4,000 characters (public on the timeline)'),
    updated_datetime: Text('when (ISO 8601); we record when it arrived'),
  },
  { additionalProperties: true, description: 'application/x-www-form-urlencoded' },
);
