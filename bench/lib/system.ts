import fs from 'node:fs';

/**
 * The machine's CPU ticks since boot (first line of /proc/stat): busy, all, and stolen by the
 * hypervisor. Two readings give a window's steal share: ((b.steal − a.steal) / (b.all − a.all)) × 100.
 * This VM's steal comes and goes (seen 0–16%), so benches report it next to their ratios.
 */
export function sysTicks(): { busy: number; all: number; steal: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return { busy: user + nice + system + irq + softirq, all: user + nice + system + idle + iowait + irq + softirq + steal, steal };
}

/** The steal share (%) between two readings of sysTicks. */
export function stealPct(a: ReturnType<typeof sysTicks>, b: ReturnType<typeof sysTicks>): number {
  return ((b.steal - a.steal) / Math.max(1, b.all - a.all)) * 100;
}
