import type { Database } from '../platform/db/database.js';
import { compactClusters } from '../modules/map/map.service.js';
import { compactStats } from '../modules/stats/stats.service.js';

/**
 * Deterministic synthetic data for demos and benchmarks: `seed --incidents N [--seed S]`.
 *
 * Same seed ⇒ the same rows, byte for byte (ids, references, coordinates, texts, statuses,
 * timestamps), on server Postgres and on PGlite alike:
 * - every random choice comes from `hashint8extended(row number, key)`, a stable hash (hash
 *   partitioning depends on it never changing between versions), keyed by the seed;
 * - only integer arithmetic, IEEE basic float operations and numeric rounding are used: no
 *   sin/cos/ln, whose last bits may differ between libms (glibc here, musl in PGlite's wasm);
 * - timestamps count back from a fixed anchor (2026-01-01T00:00:00Z), never from now().
 * (Timeline event ids come from their identity column in insertion order: the same for the same
 * batch size on a fresh database with one batch in flight; with several, their order varies.)
 *
 * Speed: the rows are generated inside Postgres with INSERT … SELECT FROM generate_series (no
 * COPY, no named statements: neither exists in embedded mode), one batch per statement and so
 * per transaction, so progress can be reported and a failure loses one batch only. Indexes stay
 * in place: the seed runs against a live schema. On server Postgres the CLI runs two batches at
 * once (one per core here): 1M rows in 226–233 s instead of 301 s on a 2-core bench machine.
 *
 * Re-running is safe: a row's id depends only on (seed, row number), so rows that exist are
 * skipped (ON CONFLICT DO NOTHING), and `--incidents` can grow an earlier seed. A reference that
 * collides with another row (a real report, or another seed) is re-drawn from a different
 * permutation until the row fits.
 */

export interface SeedOptions {
  incidents: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
  /** rows per statement; default 50,000 on server Postgres, 10,000 embedded */
  batchSize?: number;
  /** batches in flight at once, each on its own connection when `db` is a pool; default 1 */
  concurrency?: number;
}

export interface SeedResult {
  /** incidents inserted by this run (rows that already existed are not counted) */
  incidents: number;
  /** reporter accounts inserted by this run (they are shared by every seed) */
  reporters: number;
  ms: number;
}

/** the fixed "now" of the synthetic data set: created_at lies in the two years before it */
export const SEED_ANCHOR = '2026-01-01T00:00:00Z';
const ANCHOR_EPOCH = Date.parse(SEED_ANCHOR) / 1000; // 1767225600
const TWO_YEARS_S = 730 * 86_400;
const ONE_YEAR_S = 365 * 86_400;

/** greater Johannesburg, where every synthetic incident lies */
export const SEED_BOUNDS = { minLon: 27.7, minLat: -26.4, maxLon: 28.4, maxLat: -25.9 } as const;
export const HOT_SPOT_COUNT = 25;
export const HOT_SPOT_RADIUS_M = 2_000;
/** share of incidents inside a hot spot; the rest are uniform over SEED_BOUNDS */
export const HOT_SPOT_SHARE = 0.7;
export const REPORTER_COUNT = 1_000;

// 2 km in degrees at latitude 26.15° S (111.32 km per degree of longitude × cos 26.15°; 110.79 km
// per degree of latitude). Hard-coded, not computed with Math.cos, so SQL sees the same literal.
const RADIUS_LON_DEG = 0.02002;
const RADIUS_LAT_DEG = 0.01805;

/** The largest row number the 40-bit reference permutation can take. */
const MAX_INCIDENTS = 2 ** 40;
const MAX_REFERENCE_ATTEMPTS = 16;

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** The default categories (migration 0002) with their share of incidents in permille. */
export const SEED_CATEGORIES: ReadonlyArray<{ slug: string; permille: number }> = [
  { slug: 'pothole', permille: 180 },
  { slug: 'water-leak', permille: 130 },
  { slug: 'sewage', permille: 70 },
  { slug: 'electricity-streetlights', permille: 120 },
  { slug: 'illegal-dumping', permille: 100 },
  { slug: 'refuse-collection', permille: 90 },
  { slug: 'crime-suspicious-activity', permille: 110 },
  { slug: 'noise', permille: 50 },
  { slug: 'stray-animals', permille: 40 },
  { slug: 'fire-hazard', permille: 30 },
  { slug: 'graffiti', permille: 30 },
  { slug: 'other', permille: 50 },
];

/** [title, description]: `{street}` and `{suburb}` are filled in per row */
type Text = readonly [title: string, description: string];
/**
 * Per category: English and Afrikaans reports, each title with a description that fits it. The
 * tuple types fix the counts, so the SQL can index the flattened arrays with arithmetic.
 */
interface CategoryTexts {
  en: readonly [Text, Text, Text, Text];
  af: readonly [Text, Text];
}
const TEXTS_EN = 4;
const TEXTS_AF = 2;

const TEXTS: Record<string, CategoryTexts> = {
  pothole: {
    en: [
      [
        'Pothole on {street}',
        'There is a large pothole in the left lane. Cars swerve into oncoming traffic to avoid it.',
      ],
      [
        'Deep pothole in {street}, {suburb}',
        'The pothole is deep enough to break a wheel, and after rain it fills with water so you cannot see it.',
      ],
      [
        'Road surface breaking up on {street}',
        'The road surface is crumbling around an old patch and the hole keeps getting bigger.',
      ],
      [
        'Potholes after the rain on {street}',
        'Several potholes have opened up after the rain. One car already has a burst tyre.',
      ],
    ],
    af: [
      [
        'Slaggat in {street}',
        "Daar is 'n groot slaggat in die linkerbaan. Motors swenk na die verkeerde kant van die pad om dit te vermy.",
      ],
      [
        'Slaggate ná die reën in {street}',
        "Ná die reën het verskeie slaggate oopgegaan. 'n Motor se band het al gebars.",
      ],
    ],
  },
  'water-leak': {
    en: [
      [
        'Burst water pipe on {street}',
        'A pipe burst early this morning. Water is gushing out of the pavement and the pressure in the area has dropped.',
      ],
      [
        'Water leaking from meter on {street}',
        'The water meter outside the house leaks constantly and the pavement is flooded.',
      ],
      [
        'Water running down {street} for days',
        'Clean water has been flowing down the street for days. Nobody has come to fix it.',
      ],
      [
        'Leaking fire hydrant in {suburb}',
        'The fire hydrant on the corner is leaking and a pool of water has formed in the road.',
      ],
    ],
    af: [
      [
        'Gebarste waterpyp in {street}',
        "Vanoggend het 'n pyp gebars. Water spuit uit die sypaadjie en die waterdruk in die buurt het gedaal.",
      ],
      [
        'Water lek al dae lank in {street}',
        'Skoon water loop al dae lank in die straat af. Niemand het nog kom regmaak nie.',
      ],
    ],
  },
  sewage: {
    en: [
      [
        'Sewage overflowing on {street}',
        'Raw sewage is flowing from a manhole into the street. The smell is terrible and children play nearby.',
      ],
      ['Blocked sewer in {suburb}', 'The sewer line is blocked and toilets in several houses are backing up.'],
      [
        'Open manhole on {street}',
        'The manhole cover is missing and the hole is a danger to pedestrians, especially at night.',
      ],
      [
        'Sewage running into the stormwater drain on {street}',
        'Sewage is running along the gutter into the stormwater drain and on to the stream.',
      ],
    ],
    af: [
      [
        'Riool loop oor in {street}',
        "Rou riool loop uit 'n mangat in die straat. Die reuk is verskriklik en kinders speel naby.",
      ],
      ['Oop mangat in {street}', 'Die mangatdeksel is weg en die gat is gevaarlik vir voetgangers, veral in die nag.'],
    ],
  },
  'electricity-streetlights': {
    en: [
      [
        'Streetlights out on {street}',
        'Several streetlights have been out for weeks and the street is completely dark at night.',
      ],
      ['Power outage in {suburb}', 'The whole block has had no power since last night. It is not load-shedding.'],
      ['Streetlight on all day on {street}', 'The streetlight on the corner burns day and night.'],
      [
        'Exposed electrical cables on {street}',
        'Cables are hanging out of a damaged meter box on the pavement. This is a danger to children.',
      ],
    ],
    af: [
      [
        'Straatligte is af in {street}',
        'Verskeie straatligte is al weke lank af en die straat is snags heeltemal donker.',
      ],
      ['Geen krag in {suburb} nie', 'Die hele blok is sedert gisteraand sonder krag. Dit is nie beurtkrag nie.'],
    ],
  },
  'illegal-dumping': {
    en: [
      [
        'Rubble dumped on {street}',
        'A truck dumped building rubble on the open land overnight. It now blocks part of the pavement.',
      ],
      [
        'Illegal dumping site in {suburb}',
        'People keep dumping rubbish here. It attracts rats and the pile grows every week.',
      ],
      ['Garden refuse dumped near {street}', 'Garden refuse and branches have been dumped next to the road.'],
      [
        'Mattresses and rubbish dumped on {street}',
        'Old mattresses, furniture and bags of rubbish have been dumped on the pavement.',
      ],
    ],
    af: [
      [
        'Bourommel gestort in {street}',
        "'n Vragmotor het oornag bourommel op die oop stuk grond gestort. Dit versper nou deel van die sypaadjie.",
      ],
      [
        'Onwettige stortingsterrein in {suburb}',
        'Mense stort heeltyd vullis hier. Dit lok rotte en die hoop word elke week groter.',
      ],
    ],
  },
  'refuse-collection': {
    en: [
      [
        'Refuse not collected on {street}',
        'The refuse truck has not come for two weeks and the bags are piling up on the pavement.',
      ],
      [
        'Bins not emptied in {suburb} this week',
        'Our street was skipped on collection day again. Dogs are tearing the bags open.',
      ],
      ['Overflowing public bin on {street}', 'The public bin is full and rubbish is blowing across the road.'],
      ['Missed refuse collection on {street}', 'The bins were out on time but the truck never came.'],
    ],
    af: [
      [
        'Vullis nie verwyder in {street} nie',
        'Die vullisvragmotor het al twee weke nie gekom nie en die sakke hoop op die sypaadjie op.',
      ],
      [
        'Vullisdromme nie leeggemaak in {suburb} nie',
        'Ons straat is weer op vullisdag oorgeslaan. Honde skeur die sakke oop.',
      ],
    ],
  },
  'crime-suspicious-activity': {
    en: [
      [
        'Suspicious vehicle parked on {street}',
        'A car without number plates has been parked here for hours, with people watching the houses.',
      ],
      [
        'Break-in reported in {suburb}',
        'Someone broke into a house in the street last night. Residents, please check your cameras.',
      ],
      ['Cable theft on {street}', 'Men were seen cutting cables near the substation. The police have been called.'],
      [
        'People checking gates on {street} at night',
        'Two men were seen trying gates and looking over walls after midnight.',
      ],
    ],
    af: [
      [
        'Verdagte voertuig in {street}',
        "'n Motor sonder nommerplate staan al ure hier en die insittendes hou die huise dop.",
      ],
      [
        'Inbraak in {suburb}',
        "Iemand het gisteraand by 'n huis in die straat ingebreek. Inwoners, kyk asseblief julle kameras na.",
      ],
    ],
  },
  noise: {
    en: [
      [
        'Loud music every night on {street}',
        'Music is played at full volume until three in the morning, on weeknights too.',
      ],
      ['Construction noise before 6am on {street}', 'Building work starts before six in the morning, also on Sundays.'],
      ['Alarm ringing for hours in {suburb}', 'A house alarm has been going off for hours and nobody is home.'],
      [
        'Noisy tavern on {street}',
        'The tavern plays loud music and patrons shout in the street until late every weekend.',
      ],
    ],
    af: [
      ['Harde musiek elke aand in {street}', 'Musiek word tot drie-uur in die oggend hard gespeel, ook in die week.'],
      ['Alarm lui al ure in {suburb}', "'n Huisalarm lui al ure lank en niemand is tuis nie."],
    ],
  },
  'stray-animals': {
    en: [
      ['Stray dogs on {street}', 'A pack of stray dogs roams the street and chased children on their way to school.'],
      ['Injured dog near {street}', 'An injured dog is lying next to the road and cannot walk.'],
      ['Dead animal on {street}', 'There is a dead animal in the road. It has been there since yesterday.'],
      [
        'Loose cattle on the road in {suburb}',
        'Cattle are wandering on the road and drivers have to brake hard to avoid them.',
      ],
    ],
    af: [
      [
        'Rondloperhonde in {street}',
        "'n Trop rondloperhonde dwaal in die straat rond en het kinders op pad skool toe gejaag.",
      ],
      ['Dooie dier op die pad in {street}', "Daar lê 'n dooie dier in die pad. Dit lê al sedert gister daar."],
    ],
  },
  'fire-hazard': {
    en: [
      [
        'Overgrown plot on {street}',
        'The grass on the empty plot is waist-high and bone dry. One spark and it will burn.',
      ],
      [
        'Illegal burning of rubbish in {suburb}',
        'Someone burns rubbish and tyres every evening. The smoke covers the whole street.',
      ],
      [
        'Dry grass fire risk near {street}',
        'The verge is covered in dry grass and people throw cigarette ends from their cars.',
      ],
      [
        'Gas smell on {street}',
        'There is a strong smell of gas near the corner. It has been like this since this morning.',
      ],
    ],
    af: [
      ['Oorgroeide erf in {street}', 'Die gras op die leë erf staan heuphoog en is kurkdroog. Een vonk en dit brand.'],
      [
        'Vullis word onwettig verbrand in {suburb}',
        'Iemand verbrand elke aand vullis en bande. Die rook trek oor die hele straat.',
      ],
    ],
  },
  graffiti: {
    en: [
      ['Graffiti on wall along {street}', 'The wall has been sprayed with graffiti again overnight.'],
      ['Road sign vandalised on {street}', 'The stop sign has been sprayed over and can no longer be read.'],
      ['Graffiti on bus shelter in {suburb}', 'The bus shelter is covered in tags and the glass panel is broken.'],
      ['Tagging on the bridge over {street}', 'The bridge has been covered in tags, some of them offensive.'],
    ],
    af: [
      ['Graffiti op muur in {street}', 'Die muur is oornag weer met graffiti bespuit.'],
      ['Padteken beskadig in {street}', 'Die stopteken is oorgespuit en kan nie meer gelees word nie.'],
    ],
  },
  other: {
    en: [
      ['Problem on {street}', 'Please send someone to have a look. It has been like this for a while.'],
      [
        'Blocked stormwater drain on {street}',
        'The stormwater drain is blocked and the road floods every time it rains.',
      ],
      ['Broken traffic light on {street}', 'The traffic light at the intersection has been flashing red all day.'],
      ['Fallen tree on {street}', 'A tree fell across the pavement and part of the road in the storm.'],
    ],
    af: [
      ['Probleem in {street}', 'Stuur asseblief iemand om te kom kyk. Dit is al lankal so.'],
      ['Omgevalle boom in {street}', "'n Boom het ná die storm oor die sypaadjie en deel van die pad geval."],
    ],
  },
};

/** a sentence added after the description, in the report's language; '' adds nothing */
const EXTRAS_EN = [
  '',
  'Neighbours have reported it before.',
  'Please attend to this urgently.',
  'Please send someone soon.',
  'Reported on behalf of the residents’ association.',
  'Thank you.',
] as const;
const EXTRAS_AF = ['', 'Bure het dit al voorheen aangemeld.', 'Stuur asseblief gou iemand.', 'Baie dankie.'] as const;

const STREETS = [
  'Jan Smuts Avenue',
  'Louis Botha Avenue',
  'Rivonia Road',
  'Oxford Road',
  'Beyers Naudé Drive',
  'Main Road',
  'Commissioner Street',
  'Vilakazi Street',
  'Empire Road',
  'William Nicol Drive',
  'Barry Hertzog Avenue',
  'Republic Road',
  'Malibongwe Drive',
  'Nicolson Road',
  'Corlett Drive',
  'Grayston Drive',
  'Katherine Street',
  'Rustenburg Road',
  'Hendrik Potgieter Road',
  'Ontdekkers Road',
  'Klipfontein Road',
  'Chris Hani Road',
  'Old Potchefstroom Road',
  'Booysens Road',
  'Eloff Street',
  'Bree Street',
  'Jorissen Street',
  'De Korte Street',
  'Juta Street',
  '7th Street',
  '4th Avenue',
  'Tyrone Avenue',
  'Athol Street',
  'Bram Fischer Drive',
  'Witkoppen Road',
  'Main Reef Road',
  'Siemert Road',
  'Queen Street',
  'Roberts Avenue',
  'Marlboro Drive',
] as const;

/** Suburbs with approximate centres: 25 of them, chosen by the seed, become the hot spots. */
const SUBURBS: ReadonlyArray<readonly [name: string, lon: number, lat: number]> = [
  ['Alexandra', 28.105, -26.105],
  ['Bryanston', 28.02, -26.055],
  ['Braamfontein', 28.035, -26.193],
  ['Diepkloof', 27.955, -26.25],
  ['Fordsburg', 28.02, -26.205],
  ['Fourways', 28.01, -26.015],
  ['Greenside', 28.01, -26.145],
  ['Hillbrow', 28.048, -26.19],
  ['Houghton', 28.06, -26.16],
  ['Kensington', 28.1, -26.19],
  ['Killarney', 28.057, -26.167],
  ['Lenasia', 27.835, -26.32],
  ['Linden', 27.995, -26.135],
  ['Mayfair', 28.01, -26.2],
  ['Melville', 28.008, -26.177],
  ['Midrand', 28.125, -25.995],
  ['Northcliff', 27.965, -26.14],
  ['Observatory', 28.08, -26.18],
  ['Orange Grove', 28.085, -26.155],
  ['Orlando East', 27.925, -26.235],
  ['Parkhurst', 28.018, -26.138],
  ['Parktown', 28.04, -26.178],
  ['Randburg', 27.995, -26.095],
  ['Roodepoort', 27.87, -26.16],
  ['Rosebank', 28.042, -26.146],
  ['Rosettenville', 28.055, -26.245],
  ['Sandton', 28.057, -26.107],
  ['Sunninghill', 28.07, -26.035],
  ['Troyeville', 28.07, -26.195],
  ['Turffontein', 28.04, -26.24],
  ['Westdene', 27.99, -26.18],
  ['Yeoville', 28.065, -26.183],
  ['Bezuidenhout Valley', 28.095, -26.18],
  ['Emmarentia', 28.01, -26.16],
  ['Florida', 27.915, -26.175],
  ['Honeydew', 27.925, -26.075],
  ['Jabavu', 27.875, -26.25],
  ['Meadowlands', 27.895, -26.215],
  ['Protea Glen', 27.815, -26.275],
  ['Zandspruit', 27.935, -26.045],
];

const FIRST_NAMES = [
  'Thandi',
  'Sipho',
  'Lerato',
  'Thabo',
  'Nomvula',
  'Bongani',
  'Pieter',
  'Annelie',
  'Johan',
  'Marike',
  'Kagiso',
  'Palesa',
  'Zanele',
  'Mandla',
  'Priya',
  'Rajesh',
  'Fatima',
  'Yusuf',
  'Sarah',
  'David',
  'Nokuthula',
  'Tshepo',
  'Karabo',
  'Lindiwe',
  'Elsabé',
  'Willem',
  'Riaan',
  'Chantelle',
  'Themba',
  'Ayanda',
] as const;
const SURNAMES = [
  'Nkosi',
  'Dlamini',
  'Mokoena',
  'Naidoo',
  'van der Merwe',
  'Botha',
  'Pretorius',
  'Mahlangu',
  'Khumalo',
  'Molefe',
  'Smith',
  'Pillay',
  'Ndlovu',
  'Sithole',
  'Coetzee',
  'du Plessis',
  'Mthembu',
  'Venter',
  'Zulu',
  'Moloi',
  'Maseko',
  'Govender',
  'Jacobs',
  'Williams',
  'Abrahams',
  'Nel',
  'Radebe',
  'Mabaso',
  'Steyn',
  'Patel',
] as const;

// ---------------------------------------------------------------------------------------------
// Hot spots (also used by the benchmarks to aim their near queries)

/** mulberry32: a small, fast, deterministic PRNG; values in [0, 1) */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface HotSpot {
  lon: number;
  lat: number;
  suburb: string;
}

/**
 * The 25 hot spots of a seed: suburbs chosen by a seeded shuffle, each centre moved by up to
 * ~500 m so that two seeds differ even when they pick the same suburb. Rounded to 6 decimals so
 * the values travel to SQL as text without any doubt about the last bit.
 */
export function hotSpots(seed: number): HotSpot[] {
  const random = createRandom(seed ^ 0x5eed_b00b);
  const order = SUBURBS.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return order.slice(0, HOT_SPOT_COUNT).map((index) => {
    const [suburb, lon, lat] = SUBURBS[index] as readonly [string, number, number];
    return { suburb, lon: round6(lon + (random() - 0.5) * 0.01), lat: round6(lat + (random() - 0.5) * 0.009) };
  });
}

/** suburb names in SQL order: the hot spots' first (hot spot k ↔ suburb k), then the others */
function suburbNames(spots: HotSpot[]): string[] {
  const chosen = new Set(spots.map((s) => s.suburb));
  return [...spots.map((s) => s.suburb), ...SUBURBS.map(([name]) => name).filter((n) => !chosen.has(n))];
}

// ---------------------------------------------------------------------------------------------
// SQL building blocks. Every random value is 32 bits taken from a 64-bit hash.

const hi = (h: string) => `((${h} >> 32) & 4294967295)`;
const lo = (h: string) => `(${h} & 4294967295)`;
/** an integer in [0, k) from 32 random bits: exact integer arithmetic, no float rounding */
const pick = (bits: string, k: number | string) => `((${bits} * ${k}) >> 32)`;
/** a float in [0, 1) from 32 random bits (×2^-32 is exact) */
const unit = (bits: string) => `(${bits}::float8 * 2.3283064365386963e-10::float8)`;
/** a version-4-shaped uuid from two 64-bit hashes */
const uuidFrom = (a: string, b: string) =>
  `(lpad(to_hex((${a} & -61441) | 16384), 16, '0') || ` +
  `lpad(to_hex((${b} & 4611686018427387903) | '-9223372036854775808'::bigint), 16, '0'))::uuid`;
/** four Crockford base32 characters from 20 bits */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const crockford20 = (v: string) =>
  [15, 10, 5, 0].map((shift) => `substr('${CROCKFORD}', ((${v} >> ${shift}) & 31)::int + 1, 1)`).join(' || ');

/** hash keys: seed × 4096 + k, so that the streams of two seeds never share a key */
const key = (k: number) => `($1::bigint + ${k})`;
const HASHES = 16;
/** Feistel round keys: seed × 4096 + 64 + attempt × 4 + round (attempt < 16) */
const roundKey = (round: number) => `($1::bigint + 64 + $4::bigint * 4 + ${round})`;
const M20 = 1_048_575;

function cumulativeCase(column: string, weights: readonly number[]): string {
  let sum = 0;
  const arms = weights.map((w, i) => {
    sum += w;
    return `WHEN ${column} < ${sum} THEN ${i + 1}`;
  });
  return `CASE ${arms.join(' ')} ELSE ${weights.length} END`;
}

/**
 * One batch of incidents with their 'created' timeline events, as one statement.
 * $1 seed key, $2..$3 row numbers (inclusive), $4 reference attempt, $5 category ids,
 * $6/$7 hot spot lon/lat, $8 reporter ids, $9 titles, $10 descriptions, $11 extra sentences,
 * $12 streets, $13 suburbs.
 *
 * Layers A–D are subqueries fenced with OFFSET 0: without the fence the planner would inline a
 * derived column into every expression that uses it and compute the same hashes many times.
 *
 * The reference is a 3-round Feistel permutation of the 40-bit row number, keyed by seed and
 * attempt: a bijection, so the references of one seed never collide with each other, yet they
 * look random. 40 bits = 8 Crockford characters. Uniform points in a hot spot's disc come from
 * rejection sampling (first of four candidates inside the unit disc), which needs no sin/cos.
 */
function incidentBatchSql(options: { communities: boolean; onlyMissing: boolean }): string {
  const hashes = Array.from({ length: HASHES }, (_, i) => `hashint8extended(g.n, ${key(i + 1)}) AS h${i + 1}`);
  const candidates = [3, 4, 5, 6].map(
    (h, i) => `2 * ${unit(hi(`h${h}`))} - 1 AS a${i + 1}, 2 * ${unit(lo(`h${h}`))} - 1 AS b${i + 1}`,
  );
  const inDisc = (i: number) => `a${i} * a${i} + b${i} * b${i} <= 1`;
  const offset = (axis: 'a' | 'b') =>
    `CASE pick_disc WHEN 1 THEN ${axis}1 WHEN 2 THEN ${axis}2 WHEN 3 THEN ${axis}3 WHEN 4 THEN ${axis}4 ELSE ${axis}4 * 0.7 END`;
  const round6 = (expr: string) => `round((${expr})::numeric, 6)::float8`;
  const textsPerCategory = TEXTS_EN + TEXTS_AF;

  const community = options.communities
    ? `(SELECT c.id FROM communities c WHERE ST_Covers(c.boundary, d.location) ORDER BY c.area_m2, c.id LIMIT 1)`
    : 'NULL::uuid';
  const onlyMissing = options.onlyMissing ? `WHERE NOT EXISTS (SELECT 1 FROM incidents x WHERE x.id = d.id)` : '';

  return `
WITH ins AS (
  INSERT INTO incidents (id, reference, title, description, location, address, community_id, reporter_id,
                         anonymous, category_id, priority, status, is_public, version, created_at, updated_at)
  SELECT d.id, d.reference, d.title, d.description, d.location, d.address, ${community}, d.reporter_id,
         d.anonymous, d.category_id, d.priority, d.status, d.is_public, d.version, d.created_at, d.updated_at
  FROM (
    SELECT id,
      'BW-' || ${crockford20('r2')} || ${crockford20('r3')} AS reference,
      replace(replace(($9::text[])[text_i], '{street}', street), '{suburb}', suburb) AS title,
      rtrim(replace(replace(($10::text[])[text_i], '{street}', street), '{suburb}', suburb)
            || ' ' || ($11::text[])[extra_i]) AS description,
      ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS location,
      street_no || ' ' || street || ', ' || suburb AS address,
      reporter_id, anonymous, category_id,
      (CASE WHEN priority_pc < 50 THEN 'medium' WHEN priority_pc < 75 THEN 'low'
            WHEN priority_pc < 95 THEN 'high' ELSE 'critical' END)::incident_priority AS priority,
      (CASE status_i WHEN 1 THEN 'reported' WHEN 2 THEN 'acknowledged' WHEN 3 THEN 'in_progress'
            WHEN 4 THEN 'resolved' ELSE 'closed' END)::incident_status AS status,
      is_public,
      -- one version per status step taken since 'reported'
      status_i AS version,
      created_at,
      CASE WHEN status_i = 1 THEN created_at
           ELSE LEAST(created_at + (3600 + updated_s) * interval '1 second', '${SEED_ANCHOR}'::timestamptz) END AS updated_at
    FROM (
      -- D: the last Feistel round; points, texts, ids from the lookup arrays
      SELECT c.*,
        r1 # (hashint8extended(r2, ${roundKey(3)}) & ${M20}) AS r3,
        CASE WHEN hot THEN ${round6(`($6::float8[])[spot] + ${offset('a')} * ${RADIUS_LON_DEG}`)}
             ELSE ${round6(`${SEED_BOUNDS.minLon} + ux * 0.7`)} END AS lon,
        CASE WHEN hot THEN ${round6(`($7::float8[])[spot] + ${offset('b')} * ${RADIUS_LAT_DEG}`)}
             ELSE ${round6(`${SEED_BOUNDS.minLat} + uy * 0.5`)} END AS lat,
        ($13::text[])[CASE WHEN hot THEN spot ELSE suburb_i END] AS suburb,
        ($12::text[])[street_i] AS street,
        ($8::uuid[])[reporter_i] AS reporter_id,
        ($5::uuid[])[category_i] AS category_id,
        (category_i - 1) * ${textsPerCategory} + 1
          + CASE WHEN af THEN ${TEXTS_EN} + text_af ELSE text_en END AS text_i,
        1 + CASE WHEN af THEN ${EXTRAS_EN.length} + extra_af ELSE extra_en END AS extra_i
      FROM (
        -- C: the second Feistel round and the choices made from B's draws
        SELECT b.*,
          r0 # (hashint8extended(r1, ${roundKey(2)}) & ${M20}) AS r2,
          CASE WHEN ${inDisc(1)} THEN 1 WHEN ${inDisc(2)} THEN 2 WHEN ${inDisc(3)} THEN 3
               WHEN ${inDisc(4)} THEN 4 ELSE 0 END AS pick_disc,
          ${cumulativeCase(
            'category_pm',
            SEED_CATEGORIES.map((c) => c.permille),
          )} AS category_i,
          CASE WHEN status_pc < 40 THEN 1 WHEN status_pc < 60 THEN 2 WHEN status_pc < 80 THEN 3
               WHEN status_pc < 95 THEN 4 ELSE 5 END AS status_i,
          to_timestamp(${ANCHOR_EPOCH} - created_s) AS created_at
        FROM (
          -- B: draws from the raw hashes, the id, and the first Feistel round
          SELECT a.n,
            ${uuidFrom('h14', 'h15')} AS id,
            a.n & ${M20} AS r0,
            (a.n >> 20) # (hashint8extended(a.n & ${M20}, ${roundKey(1)}) & ${M20}) AS r1,
            ${pick(lo('h1'), 1000)} AS category_pm,
            ${pick(hi('h1'), 100)} < ${Math.round(HOT_SPOT_SHARE * 100)} AS hot,
            1 + ${pick(lo('h2'), 'cardinality($6::float8[])')} AS spot,
            ${pick(hi('h2'), 100)} < 20 AS af,
            ${candidates.join(',\n            ')},
            ${unit(hi('h12'))} AS ux,
            ${unit(lo('h12'))} AS uy,
            ${pick(lo('h7'), 100)} AS status_pc,
            ${pick(hi('h7'), 100)} AS priority_pc,
            ${pick(lo('h8'), 100)} < 90 AS is_public,
            ${pick(hi('h8'), 100)} < 5 AS anonymous,
            -- the product of two uniform draws: a few residents report a lot, most a little
            1 + (((${lo('h9')} >> 16) * (${hi('h9')} >> 16) * cardinality($8::uuid[])) >> 32) AS reporter_i,
            ${pick(lo('h10'), TWO_YEARS_S)} AS created_s,
            ${pick(lo('h16'), 21 * 86_400)} AS updated_s,
            ${pick(hi('h10'), TEXTS_EN)} AS text_en,
            ${pick(hi('h10'), TEXTS_AF)} AS text_af,
            ${pick(hi('h11'), EXTRAS_EN.length)} AS extra_en,
            ${pick(hi('h11'), EXTRAS_AF.length)} AS extra_af,
            1 + ${pick(hi('h13'), 'cardinality($12::text[])')} AS street_i,
            1 + ${pick(lo('h13'), 'cardinality($13::text[])')} AS suburb_i,
            1 + ${pick(hi('h16'), 250)} AS street_no
          FROM (
            -- A: raw 64-bit hashes of the row number
            SELECT g.n, ${hashes.join(',\n              ')}
            FROM generate_series($2::bigint, $3::bigint) AS g(n)
          ) a OFFSET 0
        ) b OFFSET 0
      ) c OFFSET 0
    ) d0
  ) d
  ${onlyMissing}
  -- chronological within the batch, as real reports arrive: the created_at b-trees then take
  -- their entries in order (measured ~10 % faster than row order)
  ORDER BY d.created_at, d.id
  ON CONFLICT DO NOTHING
  RETURNING id, reporter_id, created_at
)
-- sequenced at once: seeded history is nothing to announce live (realtime.sequencer.ts)
INSERT INTO incident_events (incident_id, type, actor_id, data, created_at, seq)
SELECT id, 'created', reporter_id, '{}'::jsonb, created_at, nextval('incident_event_seq') FROM ins`;
}

/**
 * Seeded history is nothing to notify anyone of, nor to deliver to a webhook: the followers of
 * the event log (the notifier's place, each webhook's) move over the seeded events that directly
 * follow their place, up to the first event the seed did not write. Without it, the notifier of
 * a server started on 1,000,000 seeded incidents would spend about an hour (embedded, ~300
 * events a second) going through their `created` events, with no one to notify.
 * A seeded event: written after `headBefore`, `created`, dated before SEED_ANCHOR (a report made
 * through the API is dated now). A follower that was behind a real event stays before it.
 */
async function passSeededEvents(db: Database, headBefore: string): Promise<void> {
  // the first event after `place` that the seed did not write, minus one; else the log's end
  const passed = (place: string) => `greatest(${place}, coalesce(
      (SELECT min(e.seq) - 1 FROM incident_events e
        WHERE e.seq > ${place}
          AND NOT (e.seq > $1::bigint AND e.type = 'created' AND e.created_at < $2::timestamptz)),
      (SELECT max(e.seq) FROM incident_events e)))`;
  const values = [headBefore, SEED_ANCHOR];
  await db.query({
    text: `UPDATE notification_cursor SET delivered_seq = ${passed('notification_cursor.delivered_seq')}`,
    values,
  });
  await db.query({ text: `UPDATE webhooks SET delivered_seq = ${passed('webhooks.delivered_seq')}`, values });
}

/** How many of a batch's rows are not in the table (by id): the retry loop's stop test. */
function missingInBatchSql(): string {
  return `
SELECT count(*)::int AS missing
FROM (
  SELECT hashint8extended(g.n, ${key(14)}) AS h14, hashint8extended(g.n, ${key(15)}) AS h15
  FROM generate_series($2::bigint, $3::bigint) AS g(n)
) a
WHERE NOT EXISTS (SELECT 1 FROM incidents x WHERE x.id = ${uuidFrom('a.h14', 'a.h15')})`;
}

/**
 * The reporters: the same 1,000 accounts for every seed (ids from fixed keys, emails
 * seed-reporter-0001@example.invalid …), so seeding twice with different seeds shares them.
 * $1 first names, $2 surnames.
 */
function reportersSql(): string {
  const k1 = -101;
  const k2 = -102;
  const k3 = -103;
  return `
INSERT INTO users (id, email, display_name, locale, created_at, updated_at)
SELECT ${uuidFrom('h1', 'h2')},
       'seed-reporter-' || lpad(i::text, 4, '0') || '@example.invalid',
       ($1::text[])[1 + ${pick(lo('h3'), 'cardinality($1::text[])')}] || ' ' ||
         ($2::text[])[1 + ${pick(hi('h3'), 'cardinality($2::text[])')}],
       CASE WHEN ${pick(lo('h1'), 100)} < 25 THEN 'af' ELSE 'en' END,
       to_timestamp(${ANCHOR_EPOCH - TWO_YEARS_S} - ${pick(hi('h2'), ONE_YEAR_S)}),
       to_timestamp(${ANCHOR_EPOCH - TWO_YEARS_S} - ${pick(hi('h2'), ONE_YEAR_S)})
FROM (
  SELECT i, hashint8extended(i, ${k1}) AS h1, hashint8extended(i, ${k2}) AS h2, hashint8extended(i, ${k3}) AS h3
  FROM generate_series(1, ${REPORTER_COUNT}) AS i
) r
ON CONFLICT DO NOTHING`;
}

export function reporterEmail(i: number): string {
  return `seed-reporter-${String(i).padStart(4, '0')}@example.invalid`;
}

// ---------------------------------------------------------------------------------------------

export async function seedIncidents(db: Database, options: SeedOptions): Promise<SeedResult> {
  const started = performance.now();
  const total = options.incidents;
  if (!Number.isSafeInteger(total) || total < 0 || total > MAX_INCIDENTS) {
    throw new RangeError(`incidents must be a whole number from 0 to ${MAX_INCIDENTS}, got ${total}`);
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0 || options.seed > 2 ** 31 - 1) {
    throw new RangeError(`seed must be a whole number from 0 to ${2 ** 31 - 1}, got ${options.seed}`);
  }
  const batchSize = options.batchSize ?? (db.kind === 'postgres' ? 50_000 : 10_000);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive whole number');
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new RangeError('concurrency must be a positive whole number');

  // Categories by slug, in SEED_CATEGORIES order: the SQL indexes this array.
  const slugs = SEED_CATEGORIES.map((c) => c.slug);
  const found = await db.query<{ slug: string; id: string }>({
    text: 'SELECT slug, id FROM categories WHERE slug = ANY($1::text[])',
    values: [slugs],
  });
  const bySlug = new Map(found.rows.map((r) => [r.slug, r.id]));
  const missing = slugs.filter((s) => !bySlug.has(s));
  if (missing.length > 0) {
    throw new Error(`The default categories are missing (${missing.join(', ')}): run migrate first`);
  }
  const categoryIds = slugs.map((s) => bySlug.get(s) as string);

  // where the event log ended before this seed: the events after it that are not the seed's are real
  const head = await db.query<{ seq: string }>({
    text: 'SELECT coalesce(max(seq), 0)::text AS seq FROM incident_events',
  });
  const headBefore = head.rows[0]!.seq;

  const reporters = await db.query({ text: reportersSql(), values: [FIRST_NAMES, SURNAMES] });
  // Read the ids back by email rather than trusting the computed ones: an account with one of
  // these emails may have existed before with another id.
  const emails = Array.from({ length: REPORTER_COUNT }, (_, i) => reporterEmail(i + 1));
  const reporterRows = await db.query<{ id: string }>({
    text: 'SELECT id FROM users WHERE email = ANY($1::text[]) ORDER BY email',
    values: [emails],
  });
  const reporterIds = reporterRows.rows.map((r) => r.id);

  const communities = await db.query<{ any: boolean }>({ text: 'SELECT EXISTS (SELECT 1 FROM communities) AS any' });
  const withCommunities = communities.rows[0]?.any === true;

  const spots = hotSpots(options.seed);
  const suburbs = suburbNames(spots);
  const texts = slugs.map((s) => TEXTS[s] as CategoryTexts);
  const titles = texts.flatMap((t) => [...t.en, ...t.af].map(([title]) => title));
  const descriptions = texts.flatMap((t) => [...t.en, ...t.af].map(([, description]) => description));
  const extras = [...EXTRAS_EN, ...EXTRAS_AF];
  const seedKey = (BigInt(options.seed) * 4096n).toString();

  const firstSql = incidentBatchSql({ communities: withCommunities, onlyMissing: false });
  const retrySql = incidentBatchSql({ communities: withCommunities, onlyMissing: true });
  const valuesFor = (from: number, to: number, attempt: number): unknown[] => [
    seedKey,
    from,
    to,
    attempt,
    categoryIds,
    spots.map((s) => s.lon),
    spots.map((s) => s.lat),
    reporterIds,
    titles,
    descriptions,
    extras,
    STREETS,
    suburbs,
  ];

  const seedBatch = async (from: number, to: number): Promise<number> => {
    const size = to - from + 1;
    const first = await db.query({ text: firstSql, values: valuesFor(from, to, 0) });
    let added = first.rowCount;
    if (first.rowCount < size) {
      // Rows were skipped: they exist already (a re-run), or their reference is taken. Draw the
      // references of the rows still missing from another permutation until none is missing.
      for (let attempt = 1; ; attempt++) {
        const left = await db.query<{ missing: number }>({ text: missingInBatchSql(), values: [seedKey, from, to] });
        if ((left.rows[0]?.missing ?? 0) === 0) break;
        if (attempt >= MAX_REFERENCE_ATTEMPTS) {
          throw new Error(`could not find free references for rows ${from}..${to} after ${attempt} attempts`);
        }
        const retry = await db.query({ text: retrySql, values: valuesFor(from, to, attempt) });
        added += retry.rowCount;
      }
    }
    return added;
  };

  // Batches are independent (a row depends only on its number), so several can run at once, each
  // on its own pooled connection: the insert is CPU-bound in one backend, and a second one uses
  // the second core. Progress counts finished rows, so it only grows.
  let inserted = 0;
  let done = 0;
  let next = 0;
  let failed = false;
  options.onProgress?.(0, total);
  const worker = async (): Promise<void> => {
    while (!failed && next < total) {
      const from = next;
      const to = Math.min(total, from + batchSize) - 1; // inclusive
      next = to + 1;
      let added: number;
      try {
        added = await seedBatch(from, to);
      } catch (error) {
        failed = true; // the other workers take no new batch
        throw error;
      }
      // added after the await: `inserted += await …` would add to the value read before it
      inserted += added;
      done += to - from + 1;
      options.onProgress?.(done, total);
    }
  };
  // settled, not all: after a failure the batches still in flight end before the caller closes the pool
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, Math.ceil(total / batchSize))) }, worker);
  const failure = (await Promise.allSettled(workers)).find((outcome) => outcome.status === 'rejected');
  if (failure) throw failure.reason;

  await passSeededEvents(db, headBefore);
  // The rows' triggers left their counts as deltas for the stats and map rollups: fold them now,
  // so the first minutes of a server on the new data do not spend themselves folding a million.
  await compactStats(db);
  await compactClusters(db);
  // Fresh statistics, or the planner guesses on a table that just grew by a million rows.
  await db.query({ text: 'ANALYZE incidents' });
  await db.query({ text: 'ANALYZE incident_events' });
  await db.query({ text: 'ANALYZE users' });

  return { incidents: inserted, reporters: reporters.rowCount, ms: Math.round(performance.now() - started) };
}
