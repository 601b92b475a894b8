import fs from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import { Type, type Static } from '@sinclair/typebox';

/**
 * The result of `/admin/health`, shaped like Wildfire's HealthAction: an array with one entry for this
 * node, `{node, cpu, memory, disk}`, where
 * - `node`: this node's number as a string, `nodeId + 1` (Wildfire numbers nodes from "1");
 * - `cpu`: `load` (1-minute load average of the machine) and `cores`;
 * - `memory` (bytes, the JavaScript heap in the sense of Java's Runtime): `free` (unused part of the
 *   current heap), `max` (the heap limit), `avail` (the current heap size);
 * - `disk` (bytes, the file system of the data directory; Wildfire reports `/`): `space`, `free`,
 *   `usable` (available to this process).
 * Every value is a number, 0 when the platform cannot tell; computing it never fails.
 */
export const NodeHealth = Type.Object({
  node: Type.String({ pattern: '^[0-9]+$' }),
  cpu: Type.Object({ load: Type.Number(), cores: Type.Integer() }),
  memory: Type.Object({ free: Type.Integer(), max: Type.Integer(), avail: Type.Integer() }),
  disk: Type.Object({ space: Type.Integer(), free: Type.Integer(), usable: Type.Integer() }),
});

export const HealthResult = Type.Array(NodeHealth);

async function disk(dir: string): Promise<Static<typeof NodeHealth>['disk']> {
  try {
    const s = await fs.statfs(dir);
    return { space: s.blocks * s.bsize, free: s.bfree * s.bsize, usable: s.bavail * s.bsize };
  } catch {
    return { space: 0, free: 0, usable: 0 };
  }
}

export async function healthOf(nodeId: number, dataDir: string): Promise<Static<typeof HealthResult>> {
  const heap = v8.getHeapStatistics();
  const load = os.loadavg()[0] ?? 0;
  return [
    {
      node: String(nodeId + 1),
      cpu: { load: Number.isFinite(load) ? load : 0, cores: os.availableParallelism() },
      memory: { free: Math.max(0, heap.total_heap_size - heap.used_heap_size), max: heap.heap_size_limit, avail: heap.total_heap_size },
      disk: await disk(dataDir),
    },
  ];
}
