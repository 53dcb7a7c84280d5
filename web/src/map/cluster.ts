/**
 * Client-side clustering for the pins in view (at most a page of them: the map asks the server
 * for one box at a time, with a limit). Points within one grid cell of `cellPx` screen pixels
 * become one cluster at their mean position. Pure, so it is tested without a map.
 */
export interface ScreenPoint<T> {
  x: number;
  y: number;
  item: T;
}
export interface Cluster<T> {
  x: number;
  y: number;
  items: T[];
}

export function clusterPoints<T>(points: readonly ScreenPoint<T>[], cellPx = 48): Cluster<T>[] {
  const cells = new Map<string, { sx: number; sy: number; items: T[] }>();
  for (const p of points) {
    const key = `${Math.floor(p.x / cellPx)}:${Math.floor(p.y / cellPx)}`;
    const cell = cells.get(key);
    if (cell) {
      cell.sx += p.x;
      cell.sy += p.y;
      cell.items.push(p.item);
    } else {
      cells.set(key, { sx: p.x, sy: p.y, items: [p.item] });
    }
  }
  return [...cells.values()].map((c) => ({ x: c.sx / c.items.length, y: c.sy / c.items.length, items: c.items }));
}
