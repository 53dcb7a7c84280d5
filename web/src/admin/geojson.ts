import type { Boundary } from './api';

/**
 * A boundary from what an admin pasted or uploaded: a Polygon or MultiPolygon geometry, or a
 * Feature / FeatureCollection holding them (as QGIS and geojson.io save them; several polygons
 * become one MultiPolygon). Null when it is none of these.
 */
export function parseBoundary(text: string): Boundary | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const polygons: number[][][][] = [];
  const take = (g: unknown): boolean => {
    const geometry = g as { type?: string; coordinates?: unknown; geometry?: unknown; features?: unknown[] } | null;
    if (!geometry || typeof geometry !== 'object') return false;
    if (geometry.type === 'Feature') return take(geometry.geometry);
    if (geometry.type === 'FeatureCollection' && Array.isArray(geometry.features)) {
      return geometry.features.length > 0 && geometry.features.every(take);
    }
    if (geometry.type === 'Polygon' && isRings(geometry.coordinates)) {
      polygons.push(geometry.coordinates);
      return true;
    }
    if (
      geometry.type === 'MultiPolygon' &&
      Array.isArray(geometry.coordinates) &&
      geometry.coordinates.length > 0 &&
      geometry.coordinates.every(isRings)
    ) {
      polygons.push(...(geometry.coordinates as number[][][][]));
      return true;
    }
    return false;
  };
  if (!take(value) || polygons.length === 0) return null;
  return polygons.length === 1
    ? { type: 'Polygon', coordinates: polygons[0]! }
    : { type: 'MultiPolygon', coordinates: polygons };
}

function isRings(value: unknown): value is number[][][] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (ring) =>
        Array.isArray(ring) &&
        ring.length >= 4 &&
        ring.every(
          (p) =>
            Array.isArray(p) &&
            p.length >= 2 &&
            p.length <= 3 &&
            p.every((n) => typeof n === 'number' && Number.isFinite(n)),
        ),
    )
  );
}

/** A closed polygon from points clicked on the map ([lon, lat]); null until there are three. */
export function polygonOf(points: ReadonlyArray<[number, number]>): Boundary | null {
  if (points.length < 3) return null;
  const round = (n: number) => Math.round(n * 1e6) / 1e6;
  const ring = points.map(([lon, lat]) => [round(lon), round(lat)]);
  return { type: 'Polygon', coordinates: [[...ring, ring[0]!]] };
}
